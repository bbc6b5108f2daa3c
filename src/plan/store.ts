import { linkSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import { decodePlan, MAX_PLAN_BYTES, parsePlan } from './parse.js';
import { setState } from './update.js';
import type { Plan } from './types.js';

/** A plan file that cannot be read or written; the message is one line, fit for the terminal. */
export class PlanFileError extends Error {
  override name = 'PlanFileError';
}

/** Someone else wrote the plan since it was read. */
export class RevisionConflictError extends PlanFileError {
  override name = 'RevisionConflictError';
  constructor(
    readonly path: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`${path} changed underneath: expected revision ${expected}, found ${actual}; read the plan again and retry`);
  }
}

/** Why a read plan cannot be used (`line 3: ...`, the first error found while reading it), or null when it can. */
export function unreadableReason(plan: Plan): string | null {
  const fatal = plan.diagnostics.find((diagnostic) => diagnostic.severity === 'error');
  return fatal ? `line ${fatal.line}: ${fatal.message}` : null;
}

/** Reads and parses a plan file. Unreadable content becomes diagnostics on the returned plan, never an exception. */
export async function readPlanFile(path: string): Promise<Plan> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new PlanFileError(`cannot read ${path}: ${describeFsError(error)}`);
  }
  if (size > MAX_PLAN_BYTES) {
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
    return plan;
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new PlanFileError(`cannot read ${path}: ${describeFsError(error)}`);
  }
  const decoded = decodePlan(bytes);
  if ('error' in decoded) {
    const plan = parsePlan('', { path });
    plan.diagnostics = [decoded.error];
    return plan;
  }
  return parsePlan(decoded.text, { path });
}

export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

export interface UpdateOptions {
  /** The revision the caller read; a different revision on disk is a conflict. Omit to apply on top of any revision. */
  expectedRevision?: number;
  /** How long to wait for another writer's lock, in milliseconds. */
  lockWaitMs?: number;
}

/** A change to the plan text; it receives the freshly read text and plan, inside the lock. */
export type PlanEdit = (text: string, plan: Plan) => string;

/**
 * Applies `edit` to the plan file safely: take the lock, re-read, check `state.revision`, apply, bump the revision,
 * check the result still parses, write a temp file, fsync, rename, release. A kill at any instant leaves the old
 * file or the new one; two writers never lose an update.
 */
export async function updatePlanFile(path: string, edit: PlanEdit, options: UpdateOptions = {}): Promise<Plan> {
  const release = await acquireLock(path, options.lockWaitMs ?? 30_000);
  try {
    const plan = await readPlanFile(path);
    const unreadable = unreadableReason(plan);
    if (unreadable) throw new PlanFileError(`cannot update ${path}: ${unreadable}`);
    const revision = plan.meta.state?.revision;
    if (revision === undefined) throw new PlanFileError(`cannot update ${path}: state.revision is missing or not a number`);
    if (options.expectedRevision !== undefined && options.expectedRevision !== revision) {
      throw new RevisionConflictError(path, options.expectedRevision, revision);
    }
    const original = plan.bom ? `\uFEFF${plan.text}` : plan.text;
    const edited = setState(edit(original, plan), { revision: revision + 1 });
    const next = parsePlan(edited, { path });
    const broken = next.diagnostics.find((diagnostic) => diagnostic.severity === 'error');
    if (broken || next.meta.state?.revision !== revision + 1) {
      throw new PlanFileError(`refusing to write ${path}: the update would leave it unreadable (${broken?.message ?? 'state lost'})`);
    }
    await writeFileAtomic(path, edited, { fsync: true });
    return next;
  } finally {
    await release();
  }
}

interface LockOwner {
  pid: number;
  host: string;
}

function ownerFile(path: string): string {
  return `${path}.lock.json`;
}

/** How long a lock folder may stay without a readable owner record before it counts as abandoned. */
const UNRECORDED_GRACE_MS = 1_000;

/** A lock folder seen without a readable owner record: which folder, and since when (by this process's clock). */
interface Sighting {
  folder: string;
  since: number;
}

/**
 * proper-lockfile treats a lock as abandoned only once its mtime is `stale` ms old. A writer killed with SIGKILL
 * on this machine would make the next writer wait that long; its recorded process id lets us see at once that it
 * is gone and clear the lock.
 *
 * A writer records itself just after it creates the lock folder and removes its record just before it removes the
 * folder, so a writer killed in between (a few milliseconds, longer on a process's first write) leaves a folder
 * with no record. A live writer is never in that state for long, so a folder that this process has seen without a
 * record for UNRECORDED_GRACE_MS is abandoned too. Returns the sighting to pass to the next call.
 */
function clearAbandonedLock(path: string, sighting: Sighting | null): Sighting | null {
  let record: string;
  let owner: LockOwner;
  try {
    record = readFileSync(ownerFile(path), 'utf8');
    owner = JSON.parse(record) as LockOwner;
  } catch (error) {
    // No record, or one cut short (empty, broken JSON); a record that cannot be read for another reason is left alone.
    const missing = error instanceof SyntaxError || (error as NodeJS.ErrnoException).code === 'ENOENT';
    return missing ? clearUnrecordedLock(path, sighting) : null;
  }
  if (owner.host !== hostname() || !Number.isInteger(owner.pid) || isAlive(owner.pid)) return null;
  clearDeadOwner(path, record);
  return null;
}

/**
 * Removes the lock of a dead owner whose record read `record`. Every waiter sees the dead owner; a waiter held up
 * (preempted) between reading the record and removing the lock would remove the lock another waiter has taken in the
 * meantime, and two processes would hold it. So the record is first claimed by a rename, which only one process
 * wins, and the folder goes only if the claimed record is still the dead owner's.
 */
function clearDeadOwner(path: string, record: string): void {
  const claimed = `${ownerFile(path)}.${process.pid}.clearing`;
  try {
    renameSync(ownerFile(path), claimed);
  } catch {
    return; // Another waiter claimed it first.
  }
  let current: string | null;
  try {
    current = readFileSync(claimed, 'utf8');
  } catch {
    current = null;
  }
  if (current !== record) {
    // The lock changed hands since the record was read: give the new owner its record back.
    try {
      linkSync(claimed, ownerFile(path));
    } catch {
      // A newer record is there already.
    }
    rmSync(claimed, { force: true });
    return;
  }
  // The record went first: killed here, this leaves an unrecorded folder, which the grace above clears (and a stray
  // claimed record, which nothing reads).
  rmSync(`${path}.lock`, { recursive: true, force: true });
  rmSync(claimed, { force: true });
}

function clearUnrecordedLock(path: string, sighting: Sighting | null): Sighting | null {
  let folder: string;
  try {
    const stat = statSync(`${path}.lock`);
    // A new folder made after this one was removed has another change time, even if it gets the same inode.
    folder = `${stat.ino}:${stat.ctimeMs}`;
  } catch {
    return null;
  }
  if (sighting === null || sighting.folder !== folder) return { folder, since: Date.now() };
  if (Date.now() - sighting.since < UNRECORDED_GRACE_MS) return sighting;
  rmSync(`${path}.lock`, { recursive: true, force: true });
  return null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Holds `<path>.lock` for a longer piece of work than one write (the executor holds `<plan>.run.lock` for a whole
 * iteration, so concurrent runs of one plan take turns). A holder killed with SIGKILL is noticed at once.
 */
export function lockPlan(path: string, waitMs: number, onWait?: (holder: string) => void): Promise<() => Promise<void>> {
  return acquireLock(path, waitMs, onWait);
}

async function acquireLock(path: string, waitMs: number, onWait?: (holder: string) => void): Promise<() => Promise<void>> {
  let compromised: Error | null = null;
  const deadline = Date.now() + waitMs;
  let release: (() => Promise<void>) | null = null;
  let sighting: Sighting | null = null;
  while (release === null) {
    try {
      release = await lockfile.lock(path, {
        realpath: false,
        stale: 10_000,
        retries: 0,
        onCompromised: (error) => {
          compromised = error;
        },
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new PlanFileError(`cannot lock ${path}: ${describeFsError(error)}`);
      }
      if (Date.now() >= deadline) {
        throw new PlanFileError(`${path} is locked by another deepplan process; try again when it has finished`);
      }
      if (onWait) {
        let holder = 'another deepplan process';
        try {
          holder = `pid ${(JSON.parse(readFileSync(ownerFile(path), 'utf8')) as LockOwner).pid}`;
        } catch {
          // Not recorded yet.
        }
        onWait(holder);
        onWait = undefined;
      }
      sighting = clearAbandonedLock(path, sighting);
      await delay(5 + Math.random() * 25);
    }
  }
  const held = release;
  try {
    writeFileSync(ownerFile(path), JSON.stringify({ pid: process.pid, host: hostname() } satisfies LockOwner));
  } catch (error) {
    // Other writers take a lock that stays unrecorded for long as abandoned, so it must not be held that way.
    await held().catch(() => {});
    throw new PlanFileError(`cannot lock ${path}: cannot record the lock's owner in ${ownerFile(path)}: ${describeFsError(error)}`);
  }
  return async () => {
    rmSync(ownerFile(path), { force: true });
    try {
      await held();
    } catch {
      // Already released or taken over as stale; the write itself was atomic either way.
    }
    if (compromised) throw new PlanFileError(`the lock on ${path} was lost during the write: ${(compromised as Error).message}`);
  };
}
