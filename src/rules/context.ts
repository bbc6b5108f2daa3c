import { type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, resolve } from 'node:path';
import { toPosix } from '../plan/text.js';
import { globSync, isDynamicPattern } from 'tinyglobby';
import type { Config } from '../config/config.js';
import { lazySkillIndex, skillDirectories, type SkillIndex } from '../skills/discover.js';
import type { RuleContext } from './rule.js';

/** Files larger than this are not counted line by line (they are data, not source material). */
const MAX_COUNTED_BYTES = 64 * 1024 * 1024;

/**
 * `join(root, path)` for paths under `root`, as a function of `path`. A lint joins the repository's folder with every
 * input, output and file it reads, and join normalises a path character by character: ~10 us a call in a short
 * command's interpreter, ~1.5 ms of a realistic lint. Where `root` is absolute and normalised (as resolve() gives it)
 * and `path` is relative with nothing join would rewrite (no `.` or `..` segment, no empty one, no backslash), the
 * answer is the two put together; any other path goes to join. test/rules-context-cost.test.ts holds both equal.
 */
export function pathsUnder(root: string): (path: string) => string {
  const plain = process.platform !== 'win32' && isAbsolute(root) && normalize(root) === root;
  const base = root.endsWith('/') ? root : `${root}/`;
  return (path) => (plain && path !== '' && path[0] !== '/' && !REWRITTEN.test(path) ? base + path : join(root, path));
}

/** What join would change in a relative path: a `.` or `..` segment, an empty segment, a backslash. */
const REWRITTEN = /(?:^|\/)\.{1,2}(?:\/|$)|\/\/|\\/;

/**
 * A path a glob under `root` found, as the repository names it: relative to `root`, with `/`. The glob already answers
 * so a path that has nothing resolve() and relative() would change (both normalise character by character, ~20 us a
 * path in a short command's interpreter: 5 ms for a glob over 250 contact records); any other path goes through them.
 */
export function repositoryPath(root: string): (file: string) => string {
  return (file) =>
    process.platform !== 'win32' && file !== '' && file[0] !== '/' && !file.endsWith('/') && !REWRITTEN.test(file)
      ? file
      : toPosix(relative(root, resolve(root, file)));
}

/**
 * A rule context whose disk look-ups are cached, so linting many plans of one repository reads each skill folder
 * and each source file once.
 */
export function createRuleContext(root: string, config: Config): RuleContext {
  const under = pathsUnder(root);
  let skills: SkillIndex | null = null;
  const expansions = new Map<string, string[]>();
  const listings = new Map<string, string[]>();
  const lines = new Map<string, number | null>();
  /** The sizes of the files a stat found (expand's of plain paths, size's), so counting their lines stats them no second time. */
  const sizes = new Map<string, number>();
  const texts = new Map<string, string | null>();
  const expand = (pattern: string): string[] => {
    const cached = expansions.get(pattern);
    if (cached) return cached;
    const files = expandPattern(root, under, pattern, sizes);
    expansions.set(pattern, files);
    return files;
  };
  return {
    root,
    config,
    skills() {
      skills ??= lazySkillIndex(skillDirectories(root, config.skills?.paths ?? []));
      return skills;
    },
    expand,
    filesIn(folder: string, extension: string) {
      const key = `${folder}*${extension}`;
      const cached = listings.get(key);
      if (cached) return cached;
      // The glob also takes the files of a folder its pattern names (`x.md/`): those are left out.
      const files = expand(key).filter((file) => !file.slice(folder.length).includes('/'));
      listings.set(key, files);
      return files;
    },
    size(file: string) {
      const known = sizes.get(file);
      if (known !== undefined) return known;
      try {
        const size = fileSize(under(file));
        if (size !== null) sizes.set(file, size);
        return size;
      } catch {
        return null;
      }
    },
    lineCount(file: string) {
      if (lines.has(file)) return lines.get(file)!;
      // A text read for a rule already (a record, a briefing) is counted as it is; a small text read here is kept
      // for readText (context-facts reads the records and briefings whose lines phase-context-mode counts).
      const known = texts.get(file);
      const keep = isInsideRepository(file) && !texts.has(file) ? (text: string) => texts.set(file, text.includes('\0') ? null : text) : null;
      const count = typeof known === 'string' ? linesOf(known) : countLines(under(file), { size: sizes.get(file), keep });
      lines.set(file, count);
      return count;
    },
    readText(file: string) {
      if (texts.has(file)) return texts.get(file)!;
      const text = isInsideRepository(file) ? readSmallText(under(file), sizes.get(file)) : null;
      texts.set(file, text);
      return text;
    },
  };
}

/** Whether a pattern stays inside the repository: relative, with no `..` segment. */
export { PRIVATE_FOLDERS, privateFolderOf } from '../plan/protected.js';

export function isInsideRepository(pattern: string): boolean {
  if (isAbsolute(pattern) || /^[A-Za-z]:[\\/]/.test(pattern) || pattern.startsWith('~')) return false;
  // A `..` segment, found without splitting the path (it is asked of every path a plan names).
  return !/(?:^|[\\/])\.\.(?:[\\/]|$)/.test(pattern);
}

function expandPattern(root: string, under: (path: string) => string, pattern: string, sizes: Map<string, number>): string[] {
  if (!isInsideRepository(pattern)) return [];
  if (!isDynamic(pattern)) {
    try {
      // A missing file answers undefined instead of an exception (most plans name outputs not written yet).
      const stats = statSync(under(pattern), { throwIfNoEntry: false });
      if (!stats?.isFile()) return [];
      const file = pattern.replace(/^\.\//, '');
      sizes.set(file, stats.size);
      return [file];
    } catch {
      return [];
    }
  }
  // A glob under a folder that does not exist matches nothing: answered without compiling it and walking (most plans
  // name the outputs of earlier phases as inputs, not written yet when the plan is linted).
  if (!isFolder(join(root, staticFolder(pattern)))) return [];
  const listed = listedGlob(under, pattern);
  if (listed) return listed;
  try {
    return globSync(pattern, { cwd: root, onlyFiles: true, dot: false, ignore: GLOB_IGNORE }).map(repositoryPath(root)).sort();
  } catch {
    return [];
  }
}

/** What a plan's globs never match (as tinyglobby is asked, and as listedGlob answers). */
const GLOB_IGNORE = ['**/node_modules/**', '.git/**'];

/**
 * The files a glob of plain folder names and `*` segments matches (a star for each account's folder under
 * `crm/contacts/`, then `*.yaml`), found by listing, from the folder before the first star, one folder after another,
 * instead of compiling the glob and walking with tinyglobby: ~4 ms in a short command's interpreter for 61 folders of
 * contact records, against ~1 ms listed. Rule contexts answer `expand` and `filesIn` with it. null where the glob could
 * answer otherwise than the listings do, and the caller asks the glob: Windows; a `**`, a `.` or `..` segment, an
 * empty one, or any character a glob treats specially but `*`; a folder name beyond letters, digits, `_`, `-` and
 * inner dots (a hidden one, one with spaces); a folder named node_modules before the first star; a matching entry that
 * is a link or neither file nor folder, is named node_modules (the glob ignores what is inside one) or holds a
 * backslash; a folder that matches the last segment of a glob not ending in `*` (the glob takes its files too). As
 * `*` with `dot: false`: no name that starts with a dot. test/rules-context-cost.test.ts holds it equal to tinyglobby
 * on drawn trees and patterns.
 */
export function listedGlob(under: (path: string) => string, pattern: string): string[] | null {
  if (process.platform === 'win32' || /[?[\]{}()!+@\\|]/.test(pattern)) return null;
  const segments = pattern.split('/');
  const plainName = /^\w[\w-]*(?:\.[\w-]+)*$/;
  if (segments.some((segment) => segment.includes('**') || !(segment.includes('*') ? /^[\w.*-]+$/ : plainName).test(segment))) return null;
  // The folders before the first star are where the listing starts (the caller found they are a folder).
  const first = segments.findIndex((segment) => segment.includes('*'));
  if (first === -1 || segments.slice(0, first).includes('node_modules')) return null;
  let folders = [
    segments
      .slice(0, first)
      .map((segment) => `${segment}/`)
      .join(''),
  ];
  for (let index = first; index < segments.length; index++) {
    const segment = segments[index]!;
    const last = index === segments.length - 1;
    const matches = segment.includes('*') ? starMatcher(segment) : (name: string) => name === segment;
    const next: string[] = [];
    for (const folder of folders) {
      let entries: Dirent[];
      try {
        entries = readdirSync(under(folder === '' ? '.' : folder), { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        return null;
      }
      for (const entry of entries) {
        if (!matches(entry.name)) continue;
        if (entry.name === 'node_modules' || entry.name.includes('\\') || !(entry.isFile() || entry.isDirectory())) return null;
        if (!last) {
          if (entry.isDirectory()) next.push(`${folder}${entry.name}/`);
        } else if (entry.isFile()) next.push(`${folder}${entry.name}`);
        else if (!pattern.endsWith('*')) return null;
      }
    }
    folders = next;
  }
  return folders.sort();
}

/** A segment with `*` as picomatch reads it with `dot: false`: any characters but `/`, the name not starting with a dot. */
function starMatcher(segment: string): (name: string) => boolean {
  const body = segment
    .split('*')
    .map((part) => part.replace(/[.-]/g, '\\$&'))
    .join('.*');
  const expression = new RegExp(`^(?!\\.)${body}$`, 's');
  return (name) => expression.test(name);
}

/**
 * tinyglobby's isDynamicPattern, answered without picomatch's scanner for a path with none of the characters that
 * make a glob or a negation (most of a plan's inputs and outputs are plain paths).
 */
export function isDynamic(pattern: string): boolean {
  return /[*?[\]{}()!+@\\|]/.test(pattern) && isDynamicPattern(pattern);
}

/** The folders a glob starts with before its first segment with a special character: `ops/archive` of `ops/archive/*.gz`. */
export function staticFolder(pattern: string): string {
  const segments = pattern.replace(/^(?:\.\/)+/, '').split('/');
  const fixed: string[] = [];
  // The last segment names files; a segment with any character a glob may treat specially ends the fixed part.
  for (const segment of segments.slice(0, -1)) {
    if (segment === '' || segment === '.' || /[*?[\]{}()!+@\\]/.test(segment)) break;
    fixed.push(segment);
  }
  return fixed.join('/');
}

function isFolder(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

/** The size of a regular file, or null when there is none (a missing file is no exception: most inputs are outputs). */
function fileSize(path: string): number | null {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats?.isFile() ? stats.size : null;
}

/**
 * The lines of a file. `size`: its size when a stat just found it to be a file; `keep` is handed its text when it is
 * small enough for readText.
 */
function countLines(path: string, options: { size: number | undefined; keep: ((text: string) => void) | null }): number | null {
  try {
    const size = options.size ?? fileSize(path);
    if (size === null || size > MAX_COUNTED_BYTES) return null;
    // As text: reading UTF-8 is one call into Node's C++ (open, read, decode), and a string's indexOf is a builtin,
    // where a Buffer's crosses node:buffer's JavaScript wrapper at every line. Decoding keeps every newline byte a
    // newline (a malformed sequence never swallows an ASCII byte), so the count is the bytes'.
    const text = readFileSync(path, 'utf8');
    if (size <= MAX_READ_BYTES) options.keep?.(text);
    return linesOf(text);
  } catch {
    return null;
  }
}

function linesOf(text: string): number {
  if (text.length === 0) return 0;
  let count = 0;
  let at = text.indexOf('\n');
  while (at !== -1) {
    count++;
    at = text.indexOf('\n', at + 1);
  }
  return text.charCodeAt(text.length - 1) === 10 ? count : count + 1;
}

/** Files larger than this are not read for their text (records and briefings are small). */
const MAX_READ_BYTES = 1024 * 1024;

/** The text of a small file; `size` is its size when a stat just found it to be a file. */
function readSmallText(path: string, known?: number): string | null {
  try {
    const size = known ?? fileSize(path);
    if (size === null || size > MAX_READ_BYTES) return null;
    // Read as UTF-8 in one call; a NUL character comes only from a NUL byte.
    const text = readFileSync(path, 'utf8');
    return text.includes('\0') ? null : text;
  } catch {
    return null;
  }
}
