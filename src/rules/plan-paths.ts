import picomatch from 'picomatch';
import { registerMemo } from '../plan/memos.js';
import type { Phase, Plan } from '../plan/types.js';
import type { RuleContext } from './rule.js';

/**
 * Path helpers the data-flow, facts and Done-when rules share: which text names a repository path, whether a glob
 * and a path (or two globs) can name the same file, and whether the repository holds the plan's material at all.
 */

const globs = new Map<string, boolean>();
const matchers = new Map<string, (path: string) => boolean>();
const MAX_CACHED = 5000;

function remember<V>(cache: Map<string, V>, key: string, make: () => V): V {
  const found = cache.get(key);
  if (found !== undefined) return found;
  if (cache.size >= MAX_CACHED) cache.clear();
  const value = make();
  cache.set(key, value);
  return value;
}

/** A character without which picomatch's scan finds no glob: a pattern with none is a plain path (most inputs are). */
const GLOB_CHARACTER = /[*?[{(]/;

export function isGlob(pattern: string): boolean {
  // The scan runs a character at a time; a start restored from the snapshot runs it in the interpreter (~1.4 ms of a
  // realistic plan's lint went to it).
  if (!GLOB_CHARACTER.test(pattern)) return false;
  return remember(globs, pattern, () => picomatch.scan(pattern).isGlob);
}

function matcher(glob: string): (path: string) => boolean {
  return remember(matchers, glob, () => picomatch(glob, { dot: true }));
}

function clean(pattern: string): string {
  return pattern.trim().replace(/^`|`$/g, '').replace(/^\.\//, '');
}

/** A file name a glob could match, for comparing two globs: every wildcard stands for one plain name. */
function sample(pattern: string): string {
  return pattern
    .replace(/\*\*\//g, '')
    .replace(/\*\*/g, 'x')
    .replace(/\*/g, 'x')
    .replace(/\?/g, 'x')
    .replace(/\{([^,}]*)[^}]*\}/g, '$1');
}

/** Whether two repository paths or globs can name a common file. */
export function overlaps(a: string, b: string): boolean {
  const x = clean(a);
  const y = clean(b);
  if (x === y) return true;
  const gx = isGlob(x);
  const gy = isGlob(y);
  if (!gx && !gy) return false;
  if (gx && matcher(x)(gy ? sample(y) : y)) return true;
  if (gy && matcher(y)(gx ? sample(x) : x)) return true;
  return false;
}

/**
 * `overlaps` of a pattern against many, each tagged with where it stands (a phase's index): whether one standing
 * elsewhere than `except` overlaps it. A plain path is answered by one look-up among the plain patterns (they overlap
 * only when equal), and compared with the globs only, instead of with every pattern.
 */
export function overlapIndex(entries: Array<{ pattern: string; at: number }>): (pattern: string, except: number) => boolean {
  const { plain, globbed } = splitPlain(entries);
  return (pattern, except) => {
    if (isGlob(clean(pattern))) return entries.some((entry) => entry.at !== except && overlaps(entry.pattern, pattern));
    const places = plain.get(clean(pattern));
    if (places && (places.size > 1 || !places.has(except))) return true;
    return globbed.some((entry) => entry.at !== except && overlaps(entry.pattern, pattern));
  };
}

/** The places of the patterns that `overlaps` a pattern, looked up as overlapIndex does. */
export function overlapPlaces(entries: Array<{ pattern: string; at: number }>): (pattern: string) => Set<number> {
  const { plain, globbed } = splitPlain(entries);
  return (pattern) => {
    const glob = isGlob(clean(pattern));
    const places = new Set<number>(glob ? [] : plain.get(clean(pattern)));
    for (const entry of glob ? entries : globbed) if (!places.has(entry.at) && overlaps(entry.pattern, pattern)) places.add(entry.at);
    return places;
  };
}

/** Plain patterns by their cleaned text (with the places each stands), and the globs. */
function splitPlain(entries: Array<{ pattern: string; at: number }>): {
  plain: Map<string, Set<number>>;
  globbed: Array<{ pattern: string; at: number }>;
} {
  const plain = new Map<string, Set<number>>();
  const globbed: Array<{ pattern: string; at: number }> = [];
  for (const entry of entries) {
    const cleaned = clean(entry.pattern);
    if (isGlob(cleaned)) {
      globbed.push(entry);
      continue;
    }
    const places = plain.get(cleaned) ?? new Set<number>();
    places.add(entry.at);
    plain.set(cleaned, places);
  }
  return { plain, globbed };
}

/** Repository paths named in free text: a segment with a slash and a file extension (or a wildcard), not a URL. */
const PATH_TOKEN = /(?<![\w/.:@-])((?:[\w.-]+\/)+(?:[\w.*?-]*\.[A-Za-z0-9]{1,8}|[\w.-]*\*[\w.*-]*))(?![\w/])/g;

const pathsCache = new Map<string, Array<{ path: string; index: number }>>();
registerMemo(() => {
  globs.clear();
  matchers.clear();
  pathsCache.clear();
});

export function pathsIn(text: string): Array<{ path: string; index: number }> {
  return remember(pathsCache, text, () => findPaths(text));
}

function findPaths(text: string): Array<{ path: string; index: number }> {
  const found: Array<{ path: string; index: number }> = [];
  for (const match of text.matchAll(PATH_TOKEN)) {
    const path = match[1]!.replace(/[.,;:]+$/, '');
    if (path.startsWith('.') && !path.startsWith('./') && !path.startsWith('.claude/') && !path.startsWith('.agents/')) continue;
    if (/^\d+(\.\d+)*\//.test(path)) continue;
    found.push({ path: path.replace(/^\.\//, ''), index: match.index });
  }
  return found;
}

/** Whether the repository holds any file a phase of the plan reads: otherwise the plan is linted away from its material. */
export function holdsMaterial(plan: Plan, context: Pick<RuleContext, 'expand'>): boolean {
  for (const phase of plan.phases) for (const input of phase.inputs) if (context.expand(clean(input)).length > 0) return true;
  // An input's own folder holding files (notes/ with notes/brief.md, for a plan that reads notes/brief.txt).
  for (const phase of plan.phases) {
    for (const input of phase.inputs) {
      const pattern = clean(input);
      const slash = pattern.lastIndexOf('/');
      if (slash <= 0) continue;
      const folder = pattern.slice(0, slash + 1);
      if (!isGlob(folder) && context.expand(`${folder}*`).length > 0) return true;
    }
  }
  return false;
}

export function cleanPattern(pattern: string): string {
  return clean(pattern);
}

/** Phases in the order the executor walks them (the document's). */
export function phaseIndex(plan: Plan): Map<string, number> {
  return new Map(plan.phases.map((phase, index) => [phase.id, index]));
}

/** The phases whose Outputs can name the file or glob `pattern`. */
export function writersOf(plan: Plan, pattern: string): Phase[] {
  return plan.phases.filter((phase) => phase.outputs.some((output) => overlaps(output, pattern)));
}

/** Edit distance of two short strings (names of files), capped at `max + 1`. */
export function editDistance(a: string, b: string, max = 3): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      current.push(value);
      if (value < best) best = value;
    }
    if (best > max) return max + 1;
    previous = current;
  }
  return previous[b.length]!;
}

/** The text of the plan's model, skill and run steps with quoted and backticked text kept (for path look-ups). */
export function stepText(phase: Phase): string {
  return phase.steps.map((step) => step.text).join('\n');
}
