import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readSync, realpathSync, statSync, type BigIntStats, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { decodePlan, encodePlan, MAX_PLAN_BYTES, parsePlan, rememberWritten } from './parse.js';
import { describeFsError, PlanFileError } from './errors.js';
import { acquireLock, heldLocks } from './lock.js';
import { InPlaceConflict, InPlaceUnavailable, readJournal, recoverInPlace, settledBytes, writeInPlace } from './journal.js';
import { editInPlace, inPlaceRefusal, longLogOf, splitLongLog, withRoom } from './long-log.js';
import { beginPieces, partsFromPieces } from './pieces.js';
import { registerMemo } from './memos.js';
import { noteRead, setState } from './update.js';
import type { Plan } from './types.js';

/** The atomic write, loaded on the first whole write: the readers (lint, status, graph) never write, so never load it. */
let atomicWrite: Promise<typeof import('write-file-atomic')> | null = null;
function loadAtomicWrite() {
  atomicWrite ??= import('write-file-atomic').then((atomic) => atomic.default);
  return atomicWrite;
}

export { describeFsError, PlanFileError } from './errors.js';
export { isAlive, lockPlan } from './lock.js';

/** Someone else wrote the plan since it was read. */
export class RevisionConflictError extends PlanFileError {
  override name = 'RevisionConflictError';
  constructor(
    readonly path: string,
    readonly expected: number,
    readonly actual: number,
    reason?: string,
  ) {
    super(`${path} changed underneath: expected revision ${expected}, found ${actual}${reason ? ` (${reason})` : ''}; read the plan again and retry`);
  }
}

/** Why a read plan cannot be used (`line 3: ...`, the first error found while reading it), or null when it can. */
export function unreadableReason(plan: Plan): string | null {
  const fatal = plan.diagnostics.find((diagnostic) => diagnostic.severity === 'error');
  return fatal ? `line ${fatal.line}: ${fatal.message}` : null;
}

/**
 * A plan path that is not a regular file inside its repository: a folder, a device (`/dev/zero`), a FIFO, a socket,
 * or a symlink whose target leaves the repository. Nothing is read from it.
 */
export class PlanPathError extends PlanFileError {
  override name = 'PlanPathError';
}

export interface ReadPlanOptions {
  /**
   * The repository the plan must stay inside once its symlinks are resolved. Default: the repository the path
   * names (the nearest folder above it holding `.git` or deepplan.config.yaml, else the plan's own folder).
   */
  root?: string;
}

/**
 * The repository of a path as the CLI finds it (config's findRepoRoot; plan/ imports nothing of ours): the nearest
 * folder at or above the path's folder holding `.git` or deepplan.config.yaml, else the path's folder.
 */
export function repositoryOf(path: string): string {
  const start = dirname(resolve(path));
  for (let dir = start; ; ) {
    if (existsSync(join(dir, '.git')) || existsSync(join(dir, 'deepplan.config.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
}

/** What a stat says of a file's kind (a BigIntStats says it too). */
type FileKind = Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'>;

/**
 * Where the journal of a write in place of the plan at `real` (its real path) goes: in its repository's .deepplan/,
 * which no command of a plan may write (protected.ts; the sandbox binds it read-only), since the next writer puts the
 * journal's bytes into the plan.
 */
export function journalPathOf(real: string): string {
  let path = journalPaths.get(real);
  if (path === undefined) {
    path = join(repositoryOf(real), '.deepplan', 'journal', `${basename(real)}.${pathDigest(real)}.undo`);
    journalPaths.set(real, path);
  }
  return path;
}
const journalPaths = new Map<string, string>();

/** A 64-bit FNV-1a digest of a path, in hex: two plans of one repository get two journals (node:crypto is not loaded for it). */
function pathDigest(path: string): string {
  let high = 0x811c9dc5;
  let low = 0x050c5d1f;
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    high = Math.imul(high ^ code, 0x01000193) >>> 0;
    low = Math.imul(low ^ code ^ (high >>> 7), 0x01000193) >>> 0;
  }
  return high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0');
}
registerMemo(() => journalPaths.clear());

/** What a non-regular file is, for a message; null for a regular file. */
function specialKind(stats: FileKind): string | null {
  if (stats.isFile()) return null;
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Checks a plan path before anything reads it: it must resolve (through any symlinks) to a regular file inside the
 * repository. Returns the resolved path; throws PlanPathError (one line) otherwise, and PlanFileError for a path
 * that does not exist. `path` is shown as given. With `folders`, a folder inside the repository passes too (lint
 * reads the plans in it).
 */
/** Whether a path exists; a symlink counts, even a broken one (checkPlanPath then says where it leads). */
export function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export function checkPlanPath(path: string, options: ReadPlanOptions & { folders?: boolean; shown?: string } = {}): string {
  const absolute = resolve(path);
  const shown = options.shown ?? path;
  let real: string;
  let stats: Stats;
  try {
    real = realpathSync(absolute);
    stats = statSync(real);
  } catch (error) {
    throw new PlanFileError(`cannot read ${shown}: ${describeFsError(error)}`);
  }
  const via = real === absolute ? '' : ` (a symlink to ${real})`;
  const kind = options.folders && stats.isDirectory() ? null : specialKind(stats);
  if (kind) throw new PlanPathError(`${shown}${via} is ${kind}; give a plan file`);
  const root = options.root ?? repositoryOf(absolute);
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    realRoot = resolve(root);
  }
  const inside = relative(realRoot, real);
  if ((inside === '' && !stats.isDirectory()) || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new PlanPathError(`${shown} leads to ${real}, outside the repository ${root}; give a plan file inside it`);
  }
  return real;
}

/** Why opening a checked plan file failed, as the error to throw. */
function openFailure(error: unknown, shown: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP' || code === 'ENXIO') return new PlanPathError(`${shown} changed while it was read (it is no longer a regular file); give a plan file`);
  return new PlanFileError(`cannot read ${shown}: ${describeFsError(error)}`);
}

/** A failure while reading an open plan file, as the error to throw. */
function readFailure(error: unknown, shown: string): Error {
  return error instanceof PlanFileError ? error : new PlanFileError(`cannot read ${shown}: ${describeFsError(error)}`);
}

/**
 * The bytes of one bounded read of an open plan file (readBounded, readBoundedSync), read by read: the first read asks
 * for the whole file and one byte more; a file that grew meanwhile takes more reads, until `limit + 1` bytes.
 */
class BoundedBytes {
  private readonly chunks: Buffer[] = [];
  private total = 0;
  private want: number;
  private done = false;

  constructor(
    stats: FileKind,
    private readonly size: number,
    shown: string,
    private readonly limit: number,
  ) {
    const kind = specialKind(stats);
    if (kind) throw new PlanPathError(`${shown} is ${kind}; give a plan file`);
    this.want = Math.min(limit + 1, Math.max(size + 1, 4096));
  }

  /** Where the next read starts in the file. */
  get offset(): number {
    return this.total;
  }

  /** The buffer to read into next (`scratch` when it is large enough), or null when the read is over. */
  next(scratch: Buffer | null): Buffer | null {
    if (this.done || this.total > this.limit) return null;
    const size = Math.min(this.want, this.limit + 1 - this.total);
    return this.total === 0 && scratch !== null && scratch.length >= size ? scratch.subarray(0, size) : Buffer.allocUnsafe(size);
  }

  took(buffer: Buffer, bytesRead: number): void {
    if (bytesRead === 0) {
      this.done = true;
      return;
    }
    this.chunks.push(buffer.subarray(0, bytesRead));
    this.total += bytesRead;
    this.want = 65536;
  }

  /** Most files take one read: its bytes as they are, not copied into a new buffer. */
  read(): { bytes: Buffer; size: number } {
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.total);
    return { bytes, size: Math.max(this.size, this.total) };
  }
}

/**
 * What this process wrote last to each plan file (by its real path), and the file's identity right after: a read that
 * finds the file with the same device, inode, size and change times takes the bytes written instead of reading them
 * (an iteration reads its plan three times; at 10,000 log rows each read is 1.7 MB, and the decoder then compares it
 * with the bytes it remembers). Any write by anyone else gives the file a new change time (Linux 6.13 and later give
 * every change after a stat a distinct one; older kernels tick every few milliseconds, so a write within the same
 * tick as ours, of the same size, would pass, unless it changed the head: the front matter, whose revision every
 * write of ours changes, is read again and compared). The entry goes with the process's other memos.
 *
 * It keeps the plan the write parsed its text into too (the check that the update leaves a readable plan): a read of
 * the same path that takes the written bytes takes that plan instead of parsing them again (the engine reads its plan
 * three times an iteration, each time as its own last write left it; a parse is ~0.8 ms of a 20-phase plan's ~12 ms
 * iteration). Plans are never changed once parsed, so the reader and the writer may share one.
 */
interface Written {
  identity: string;
  /** The file's bytes, when the write wrote them whole (a write in place knows only its head). */
  bytes: Buffer | null;
  /** The first bytes, which a read compares again: the front matter's. */
  head: Buffer;
  /** The plan parsed from `bytes`' text, as read through `path`. */
  parsed: { path: string; plan: Plan } | null;
}
const writtenHere = new Map<string, Written>();
const WRITTEN_KEPT = 8;
registerMemo(() => writtenHere.clear());

/** A file's identity for writtenHere: what any write to it or any replacement of it changes. */
function identityOf(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

/** How many first bytes of a plan's bytes a read compares again: its front matter (within the first 64 kB). */
function headLength(bytes: Buffer): number {
  const close = bytes.indexOf('\n---', 3);
  return close === -1 ? Math.min(bytes.length, 65536) : Math.min(close + 4, 65536);
}

/**
 * Notes that `real` now holds `bytes`, written by this process, and `parsed`, the plan they parse to (none: forget it,
 * its bytes are not known).
 */
function noteWritten(real: string, bytes: Buffer | null, parsed: Written['parsed'] = null, head: Buffer | null = bytes): void {
  writtenHere.delete(real);
  if (head === null) return;
  try {
    writtenHere.set(real, { identity: identityOf(statSync(real, { bigint: true })), bytes, head: head.subarray(0, headLength(head)), parsed });
  } catch {
    return;
  }
  // The plans written last (a runner writes its copies' plans too): the oldest goes.
  if (writtenHere.size > WRITTEN_KEPT) writtenHere.delete(writtenHere.keys().next().value!);
}

/** The open flags of a plan read: no symlink followed at the last step, no blocking open (a FIFO), no terminal taken. */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/**
 * Reads at most `limit + 1` bytes of a checked plan file. The file is opened without following a symlink and
 * without blocking (so a FIFO swapped in after the check cannot hang the read), and checked again on the open
 * descriptor: what is read is what was checked, whatever its size claims.
 */
async function readBounded(
  real: string,
  shown: string,
  limit: number,
  scratch: Buffer | null = null,
  memo = true,
): Promise<{ bytes: Buffer; size: number } | { written: Written }> {
  let handle: FileHandle;
  try {
    handle = await open(real, READ_FLAGS);
  } catch (error) {
    throw openFailure(error, shown);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      const stats = await handle.stat({ bigint: true });
      const known = writtenHere.get(real);
      if (memo && known !== undefined && known.identity === identityOf(stats)) {
        // The file as this process left it: its head read again to be sure, the rest taken as written.
        const length = known.head.length;
        const head = scratch !== null && scratch.length >= length ? scratch.subarray(0, length) : Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(head, 0, length, 0);
        if (bytesRead === length && head.equals(known.head)) return { written: known };
      }
      const journalPath = journalPathOf(real);
      const journal = readJournal(journalPath);
      const bytes = new BoundedBytes(stats, Number(stats.size), shown, limit);
      for (let buffer = bytes.next(scratch); buffer !== null; buffer = bytes.next(null))
        bytes.took(buffer, (await handle.read(buffer, 0, buffer.length, bytes.offset)).bytesRead);
      const read = bytes.read();
      const settled = settle(journalPath, read, journal, stats, await handle.stat({ bigint: true }));
      if (settled !== null) return settled;
      if (attempt >= SETTLE_TRIES) throw keptChanging(shown);
      await delay(1);
    }
  } catch (error) {
    throw readFailure(error, shown);
  } finally {
    await handle.close();
  }
}

/** How many times a read is made again when a write changed the file under it (a write in place takes under 1 ms). */
const SETTLE_TRIES = 200;

/** A read of a plan file as journal.ts settledBytes takes it: as read, rebuilt from a journal, or null (read again). */
function settle(
  journalPath: string,
  read: { bytes: Buffer; size: number },
  journal: ReturnType<typeof readJournal>,
  before: BigIntStats,
  after: BigIntStats,
): { bytes: Buffer; size: number } | null {
  const settled = settledBytes(journalPath, read.bytes, journal, before, after);
  if (settled === null) return null;
  return settled === read.bytes ? read : { bytes: settled, size: settled.length };
}

const keptChanging = (shown: string) => new PlanFileError(`cannot read ${shown}: it kept changing while it was read; try again`);

/**
 * readBounded without the event loop, for a reader that reads files one after the other (lint): an asynchronous read
 * of a small file costs four trips through libuv's thread pool, during which a lint of one thread only waits.
 */
function readBoundedSync(real: string, shown: string, limit: number): { bytes: Buffer; size: number } {
  let fd: number;
  try {
    fd = openSync(real, READ_FLAGS);
  } catch (error) {
    throw openFailure(error, shown);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      const stats = fstatSync(fd, { bigint: true });
      const journalPath = journalPathOf(real);
      const journal = readJournal(journalPath);
      const bytes = new BoundedBytes(stats, Number(stats.size), shown, limit);
      for (let buffer = bytes.next(null); buffer !== null; buffer = bytes.next(null)) bytes.took(buffer, readSync(fd, buffer, 0, buffer.length, bytes.offset));
      const read = bytes.read();
      const settled = settle(journalPath, read, journal, stats, fstatSync(fd, { bigint: true }));
      if (settled !== null) return settled;
      if (attempt >= SETTLE_TRIES) throw keptChanging(shown);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  } catch (error) {
    throw readFailure(error, shown);
  } finally {
    closeSync(fd);
  }
}

/**
 * The bytes of a plan file (for a digest), checked like readPlanFile and read the same way: at most
 * MAX_PLAN_BYTES + 1 of them.
 */
export function readPlanBytesSync(path: string, options: ReadPlanOptions = {}): Buffer {
  return readBoundedSync(checkPlanPath(path, options), path, MAX_PLAN_BYTES).bytes;
}

/**
 * Reads and parses a plan file: the one reader of plan files for every command. The path must be a regular file
 * inside the repository (checkPlanPath), and at most MAX_PLAN_BYTES are read. Unreadable content becomes diagnostics
 * on the returned plan, never an exception; a path that is no plan file at all throws PlanPathError.
 */
export async function readPlanFile(path: string, options: ReadPlanOptions = {}): Promise<Plan> {
  // Its bytes are not kept (decodePlan copies what it keeps): they are read into the scratch buffer when it is free.
  const scratch = takeScratch();
  try {
    return (await readPlanSource(path, options, scratch)).plan;
  } finally {
    if (scratch !== null) scratchFree = true;
  }
}

/**
 * A buffer a read whose bytes are not kept reads into (the engine reads its plan at the start of every iteration: a
 * long plan's bytes need not be a new buffer each time), and whether no read is using it.
 */
let scratchBuffer: Buffer | null = null;
let scratchFree = true;

function takeScratch(): Buffer | null {
  if (!scratchFree) return null;
  scratchFree = false;
  scratchBuffer ??= Buffer.allocUnsafeSlow(MAX_PLAN_BYTES + 1);
  return scratchBuffer;
}

/**
 * readPlanFile, and the text and bytes the plan was read from (null when they are no plan text). With `scratch`, the
 * bytes may be in it: the caller must not keep them.
 */
async function readPlanSource(
  path: string,
  options: ReadPlanOptions & { memo?: boolean; checked?: string } = {},
  scratch: Buffer | null = null,
): Promise<{ plan: Plan; source: { text: string; bytes: Buffer } | null; real: string }> {
  // `checked`: checkPlanPath's answer for `path`, when the caller (a writer, under the lock) has it already.
  const real = options.checked ?? checkPlanPath(path, options);
  const read = await readBounded(real, path, MAX_PLAN_BYTES, scratch, options.memo ?? true);
  if ('written' in read) {
    // The bytes this process wrote, whose text the write parsed already (a write in place keeps no text of the whole
    // file: its plan puts it together when asked, and its source is left out).
    const { bytes, parsed } = read.written;
    if (parsed && parsed.path === path) {
      if (bytes === null) return { plan: parsed.plan, source: null, real };
      const decoded = decodePlan(bytes);
      if (!('error' in decoded)) return { plan: parsed.plan, source: decoded, real };
    }
    if (bytes === null) return readPlanSource(path, { ...options, memo: false }, scratch);
    return { ...planOfBytes(path, bytes, bytes.length), real };
  }
  return { ...planOfBytes(path, read.bytes, read.size), real };
}

/**
 * readPlanFile without the event loop: the same checks, limits and plan, for a reader that reads plan files one after
 * the other (lint; a thread of it reads hundreds).
 */
export function readPlanFileSync(path: string, options: ReadPlanOptions = {}): Plan {
  const real = checkPlanPath(path, options);
  const { bytes, size } = readBoundedSync(real, path, MAX_PLAN_BYTES);
  return planOfBytes(path, bytes, size).plan;
}

/** The plan that a file's bytes (`size` on disk) make, and its text; past the size limit or undecodable, a diagnostic. */
function planOfBytes(path: string, bytes: Buffer, size: number): { plan: Plan; source: { text: string; bytes: Buffer } | null } {
  if (bytes.byteLength > MAX_PLAN_BYTES) {
    const plan = parsePlan('', { path });
    plan.diagnostics = [
      {
        ruleId: 'parse',
        severity: 'error',
        message: `file is ${(size / 1048576).toFixed(1)} MB; plan files are limited to ${MAX_PLAN_BYTES / 1048576} MB`,
        line: 1,
        column: 1,
      },
    ];
    return { plan, source: null };
  }
  const decoded = decodePlan(bytes);
  if ('error' in decoded) {
    const plan = parsePlan('', { path });
    plan.diagnostics = [decoded.error];
    return { plan, source: null };
  }
  return { plan: parsePlan(decoded.text, { path, decoded: true }), source: decoded };
}

export interface UpdateOptions {
  /** The revision the caller read; a different revision on disk is a conflict. Omit to apply on top of any revision. */
  expectedRevision?: number;
  /** How long to wait for another writer's lock (and for a running iteration of the plan), in milliseconds. */
  lockWaitMs?: number;
  /** Called once when the write waits for a live process holding the plan's run lock (its pid). */
  onWait?: (holder: string) => void;
  /**
   * The revision to write when it is more than one above the read one: a merge of rows written in other copies
   * (runners/matrix.ts) counts their writes, so that state.revision stays at or above state.iteration.
   */
  revisionAtLeast?: number;
  /**
   * The edit may be made in place on a plan with a long log (long-log.ts): it reads the plan only through the plan it
   * is given and changes the text only through update.ts's edits, which then work on the text without the log's
   * earlier rows (the plan given has them all). An edit that parses the text it made (a merge of many rows) must not
   * say so: it would read a log without them. The engine's own writes say so.
   */
  inPlace?: boolean;
}

/** The run lock of a plan: `<plan>.run.lock`, held by an iteration for its whole length and by every other writer. */
export function runLockOf(path: string): string {
  return `${resolve(path)}.run`;
}

/** How long a write waits for an iteration of the plan to finish (an action may take minutes), by default. */
const RUN_LOCK_WAIT_MS = 10 * 60_000;

/** A change to the plan text; it receives the freshly read text and plan, inside the lock. */
export type PlanEdit = (text: string, plan: Plan) => string;

/**
 * Applies `edit` to the plan file safely: take the lock, re-read, check `state.revision`, apply, bump the revision,
 * check the result still parses, write a temp file, fsync, rename, release. A kill at any instant leaves the old
 * file or the new one; two writers never lose an update.
 *
 * Every writer takes the plan's run lock too (unless this process holds it already, as an iteration or an approval
 * does), so that no write (a review's verdict, a plan's approval) lands between an iteration's action and the write
 * that records it.
 */
export async function updatePlanFile(path: string, edit: PlanEdit, options: UpdateOptions = {}): Promise<Plan> {
  const runLock = runLockOf(path);
  const wait = { onWait: options.onWait, shown: path, reentrant: true };
  const releaseRun = heldLocks.has(runLock) ? null : await acquireLock(runLock, options.lockWaitMs ?? RUN_LOCK_WAIT_MS, wait);
  try {
    return await writeUnderLock(path, edit, options);
  } finally {
    await releaseRun?.();
  }
}

async function writeUnderLock(path: string, edit: PlanEdit, options: UpdateOptions): Promise<Plan> {
  const release = await acquireLock(path, options.lockWaitMs ?? 30_000);
  // The file's bytes are read into the scratch buffer: what the write keeps of them is decodePlan's own copy.
  const scratch = takeScratch();
  try {
    // A write in place killed half way is undone first (journal.ts): under the lock, no write is under way.
    const checked = checkPlanPath(path);
    if (recoverInPlace(checked, journalPathOf(checked))) noteWritten(checked, null);
    for (;;) {
      const done = await writeOnce(path, edit, { ...options, checked }, scratch);
      if (done !== 'conflict') return done;
    }
  } finally {
    if (scratch !== null) scratchFree = true;
    await release();
  }
}

/** One read, edit and write of the plan, under its lock; 'conflict' when the file changed under a write in place. */
async function writeOnce(path: string, edit: PlanEdit, options: UpdateOptions & { checked: string }, scratch: Buffer | null): Promise<Plan | 'conflict'> {
  const { checked } = options;
  let { plan, source, real } = await readPlanSource(path, { checked }, scratch);
  const unreadable = unreadableReason(plan);
  if (unreadable) throw new PlanFileError(`cannot update ${path}: ${unreadable}`);
  const revision = plan.meta.state?.revision;
  if (revision === undefined) throw new PlanFileError(`cannot update ${path}: state.revision is missing or not a number`);
  if (options.expectedRevision !== undefined && options.expectedRevision !== revision) {
    throw new RevisionConflictError(path, options.expectedRevision, revision);
  }
  const written = Math.max(revision + 1, options.revisionAtLeast ?? 0);
  const inPlace = options.inPlace === true ? writeLongLog({ path, real, plan, source }, edit, written) : null;
  if (inPlace === 'conflict') {
    noteWritten(real, null);
    return 'conflict';
  }
  if (inPlace !== null) return inPlace;
  if (source === null) ({ plan, source, real } = await readPlanSource(path, { memo: false, checked }, scratch));
  if (source === null) throw new PlanFileError(`cannot update ${path}: it is not plan text`);
  // The text as read, BOM included: the edits that follow are noted as pieces of it.
  const original = beginPieces(source.text);
  noteRead(original, plan);
  const edited = setState(edit(original, plan), { revision: written });
  // A long log gets room for its head to grow (or its room made whole again), so that the writes after this one can be
  // made in place: the text with the room is the one checked and written (one parse; without it if it does not read).
  const roomy = withRoom(edited, original, plan, source.bytes.length);
  let next = parsePlan(roomy ?? edited, { path });
  const readable = (checked: Plan) => !checked.diagnostics.some((diagnostic) => diagnostic.severity === 'error') && checked.meta.state?.revision === written;
  if (roomy !== null) {
    if (readable(next)) return writeWhole({ path, real, next, bytes: encodePlan(roomy, source.bytes) });
    next = parsePlan(edited, { path });
  }
  if (!readable(next)) {
    const broken = next.diagnostics.find((diagnostic) => diagnostic.severity === 'error');
    throw new PlanFileError(`refusing to write ${path}: the update would leave it unreadable (${broken?.message ?? 'state lost'})`);
  }
  // The bytes read with the few pieces the edits changed encoded in between, when update.ts's edits made the text
  // (pieces.ts), else the whole text encoded; either way remembered, so that the next read of these bytes (the
  // engine reads its plan back) need not decode them.
  const parts = partsFromPieces(edited, original, source.bytes);
  const bytes = parts ? rememberWritten(Buffer.concat(parts), edited, source.bytes) : encodePlan(edited, source.bytes);
  return writeWhole({ path, real, next, bytes });
}

/** Writes a plan's new bytes whole (a temp file, synced, renamed over it) and notes them; returns the plan they parse to. */
async function writeWhole(write: { path: string; real: string; next: Plan; bytes: Buffer }): Promise<Plan> {
  const { path, real, next, bytes } = write;
  const writeFileAtomic = await loadAtomicWrite();
  noteWritten(real, null);
  await writeFileAtomic(path, bytes, { fsync: true });
  noteWritten(real, bytes, { path, plan: next });
  return next;
}

/**
 * The write of `edit` in place (long-log.ts, journal.ts), when the plan's log is long and the edit changes only its
 * head and adds rows; null when the write is to be made whole. `source`: the file's text and bytes as read (null when
 * the plan is what this process's last write in place left).
 */
function writeLongLog(
  read: { path: string; real: string; plan: Plan; source: { bytes: Buffer } | null },
  edit: PlanEdit,
  revision: number,
): Plan | 'conflict' | null {
  const { path, real, plan, source } = read;
  const long = longLogOf(plan) ?? (source !== null && inPlaceRefusal(plan, source.bytes.length) === null ? splitLongLog(plan) : null);
  if (long === null) return null;
  const original = beginPieces(long.short.text);
  noteRead(original, long.view);
  const change = editInPlace(long, setState(edit(original, long.view), { revision }), revision);
  if (typeof change === 'string') return null;
  noteWritten(real, null);
  try {
    writeInPlace(real, journalPathOf(real), { size: change.size, oldHead: long.headBytes, head: change.head, rows: change.rows });
  } catch (error) {
    // The file is not as read (someone wrote it without the lock): the edit is made whole, on the file as it is.
    if (error instanceof InPlaceConflict) return 'conflict';
    // No journal can be written (a read-only .deepplan/): the write is made whole, as for a short log.
    if (error instanceof InPlaceUnavailable) return null;
    throw new PlanFileError(`cannot write ${path}: ${describeFsError(error)}`);
  }
  noteWritten(real, null, { path, plan: change.long.full }, change.head);
  return change.long.full;
}
