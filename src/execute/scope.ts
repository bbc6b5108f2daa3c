import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import picomatch from 'picomatch';
import { ScopeError } from '../plan/scope-policy.js';
import { toPosix } from '../plan/text.js';
import { engineReadPathOf, privateFolderOf } from '../plan/protected.js';
import { globSync } from 'tinyglobby';

/**
 * What the executor may touch: scope.write globs and scope.commands prefixes (PLAN_FORMAT.md section 1). Every path
 * a model names is resolved (`..`, symlinks) before it is compared, so a name cannot walk out of the repository.
 */

// The checks that need only the text live in plan/scope-policy.ts, so the lint rules apply the same ones.
export { checkCommand, quoteSkillArguments, ScopeError } from '../plan/scope-policy.js';

export interface Scope {
  root: string;
  /** scope.write globs; null = the whole repository (scope absent). */
  write: string[] | null;
  /** scope.commands prefixes; null = any command (still sandboxed). */
  commands: string[] | null;
  /** The plan file, repository-relative: only the engine writes it. */
  planFile: string;
}

/**
 * The repository-relative path `name` refers to, after resolving `..` and the symlinks of every existing part.
 * Throws when it leaves the repository.
 */
export function resolveInRepository(root: string, name: string): string {
  if (typeof name !== 'string' || name.trim() === '') throw new ScopeError('no path given');
  if (isAbsolute(name) || name.startsWith('~')) throw new ScopeError(`"${name}" is an absolute path; name a file relative to the repository root`);
  const realRoot = realpathSync(root);
  const full = resolve(realRoot, name);
  let rel = relative(realRoot, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new ScopeError(`"${name}" is outside the repository`);
  // The deepest part that exists decides where the path really goes (a symlinked folder, or the file itself).
  let existing = full;
  while (!existsSync(existing) && existing !== realRoot) existing = dirname(existing);
  let real: string;
  try {
    real = realpathSync(existing);
  } catch {
    throw new ScopeError(`"${name}" cannot be resolved`);
  }
  const realRel = relative(realRoot, real);
  if (realRel.startsWith('..') || isAbsolute(realRel)) throw new ScopeError(`"${name}" leads outside the repository (through a symlink to ${real})`);
  // A dangling symlink as the last part would be followed by a write.
  try {
    if (lstatSync(full).isSymbolicLink() && !existsSync(full)) throw new ScopeError(`"${name}" is a symlink to nowhere`);
  } catch (error) {
    if (error instanceof ScopeError) throw error;
  }
  rel = toPosix(relative(realRoot, resolve(real, relative(existing, full))));
  return rel;
}

export function checkWritable(scope: Scope, name: string): string {
  const rel = resolveInRepository(scope.root, name);
  const privateFolder = privateFolderOf(rel);
  if (privateFolder) throw new ScopeError(`"${name}" is in ${privateFolder}/, which the executor never writes`);
  const engineRead = engineReadPathOf(rel);
  if (engineRead) throw new ScopeError(`"${name}" is in ${engineRead}, which deepplan reads; the executor never writes it`);
  if (rel === scope.planFile) throw new ScopeError(`"${name}" is the plan file; only the engine writes it`);
  // Without a scope, as in the sandbox: the existing top-level entries are writable, nothing new at the top.
  const top = rel.split('/')[0] ?? rel;
  if (scope.write === null && !existsSync(join(scope.root, top))) {
    throw new ScopeError(
      `"${name}" would create ${top} at the top of the repository; without scope.write only existing top-level folders are writable (set scope.write)`,
    );
  }
  if (scope.write !== null && !picomatch(scope.write, { dot: true })(rel)) {
    throw new ScopeError(`"${name}" is outside scope.write (${scope.write.join(', ')})`);
  }
  return rel;
}

export function checkReadable(scope: Scope, name: string): string {
  const rel = resolveInRepository(scope.root, name);
  if (/^\.git(?:\/|$)/.test(rel)) throw new ScopeError(`"${name}" is inside .git/`);
  return rel;
}

/**
 * File name → what its content is: progress is read from these, not from claims, and a file rewritten with the
 * same bytes is no progress. A file is known by its size and a SHA-256 of its content; files larger than
 * HASHED_LIMIT by size and modification time.
 */
export type Snapshot = Map<string, string>;

/** Past this size a file is told by size and modification time: reading it at every snapshot would cost too much. */
export const HASHED_LIMIT = 64 * 1024 * 1024;

/**
 * Content hashes of this process's earlier snapshots, by absolute path, with the stat they were read at. A file
 * whose size, modification time, change time and inode are unchanged keeps its hash, so a snapshot reads only the
 * files that changed since the last one (and every file once).
 */
const hashes = new Map<string, { stat: string; hash: string }>();

function contentStamp(full: string, stat: Stats): string {
  if (stat.size > HASHED_LIMIT) return `${stat.size}:t${stat.mtimeMs}`;
  const key = `${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}:${stat.ino}`;
  const known = hashes.get(full);
  if (known?.stat === key) return known.hash;
  let hash: string;
  try {
    hash = `${stat.size}:${createHash('sha256').update(readFileSync(full)).digest('base64url')}`;
  } catch {
    return `${stat.size}:t${stat.mtimeMs}`; // unreadable to this process: by size and time
  }
  hashes.set(full, { stat: key, hash });
  return hash;
}

export function snapshot(scope: Scope): Snapshot {
  const patterns = scope.write ?? ['**'];
  const files = globSync(patterns, {
    cwd: scope.root,
    onlyFiles: true,
    dot: true,
    followSymbolicLinks: false,
    ignore: ['.git/**', '**/node_modules/**', '.deepplan/**', '**/*.lock/**', '**/*.lock.json'],
  });
  const result: Snapshot = new Map();
  for (const file of files) {
    if (file === scope.planFile) continue;
    try {
      const full = resolve(scope.root, file);
      const stat = statSync(full);
      if (!stat.isFile()) continue;
      result.set(file, contentStamp(full, stat));
    } catch {
      // Removed between listing and stat: it is not there.
    }
  }
  return result;
}

/** Files added, changed or removed between two snapshots, sorted. */
export function changedFiles(before: Snapshot, after: Snapshot): string[] {
  const changed = new Set<string>();
  for (const [file, stamp] of after) if (before.get(file) !== stamp) changed.add(file);
  for (const file of before.keys()) if (!after.has(file)) changed.add(file);
  return [...changed].sort();
}
