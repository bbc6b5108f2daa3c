import { linkSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describeFsError, PlanFileError } from './errors.js';

// The plan's locks: proper-lockfile's lock folders, with a record of their owner so that a killed owner's lock is taken
// over at once (store.ts takes them around every write; the engine holds a plan's run lock for a whole iteration).

/** proper-lockfile, loaded on the first lock: the readers (lint, status, graph) never lock, so never load it. */
let lockLibrary: Promise<typeof import('proper-lockfile')> | null = null;
function loadLockLibrary() {
  lockLibrary ??= import('proper-lockfile').then((lock) => lock.default);
  return lockLibrary;
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
function clearAbandonedLock(path: string, sighting: Sighting | null): { sighting: Sighting | null; holder: LockOwner | null; cleared: boolean } {
  let record: string;
  let owner: LockOwner;
  try {
    record = readFileSync(ownerFile(path), 'utf8');
    owner = JSON.parse(record) as LockOwner;
  } catch (error) {
    // No record, or one cut short (empty, broken JSON); a record that cannot be read for another reason is left alone.
    const missing = error instanceof SyntaxError || (error as NodeJS.ErrnoException).code === 'ENOENT';
    if (!missing) return { sighting: null, holder: null, cleared: false };
    const next = clearUnrecordedLock(path, sighting);
    return next === 'cleared' ? { sighting: null, holder: null, cleared: true } : { sighting: next, holder: null, cleared: false };
  }
  if (owner.host !== hostname() || !Number.isInteger(owner.pid) || isAlive(owner.pid)) return { sighting: null, holder: owner, cleared: false };
  clearDeadOwner(path, record);
  // Cleared by this process or by another waiter: either way the dead owner's lock is gone, try again at once.
  return { sighting: null, holder: owner, cleared: true };
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

function clearUnrecordedLock(path: string, sighting: Sighting | null): Sighting | null | 'cleared' {
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
  return 'cleared';
}

/** Whether a process is alive (a signal 0 reaches it, or it exists under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The locks this process holds through lockPlan (resolved paths, with a count): updatePlanFile does not take them again. */
export const heldLocks = new Map<string, number>();

/**
 * Holds `<path>.lock` for a longer piece of work than one write (the executor holds `<plan>.run.lock` for a whole
 * iteration, so concurrent runs of one plan take turns; runLockOf names it). A holder killed with SIGKILL is noticed
 * at once and its lock taken over without waiting: `onWait` hears only of a live holder (`pid N`), `onTakeOver` of
 * a dead one whose lock was taken over (`pid N`).
 */
export async function lockPlan(
  path: string,
  waitMs: number,
  onWait?: (holder: string) => void,
  onTakeOver?: (dead: string) => void,
): Promise<() => Promise<void>> {
  const key = resolve(path);
  const release = await acquireLock(path, waitMs, { onWait, onTakeOver });
  heldLocks.set(key, (heldLocks.get(key) ?? 0) + 1);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    const count = (heldLocks.get(key) ?? 1) - 1;
    if (count > 0) heldLocks.set(key, count);
    else heldLocks.delete(key);
    await release();
  };
}

/** How acquireLock waits: who is told of a live holder or a dead one taken over, and the path as messages show it. */
interface LockWait {
  onWait?: ((holder: string) => void) | undefined;
  shown?: string;
  onTakeOver?: ((dead: string) => void) | undefined;
  /** A lock this very process holds (under another spelling of the path, or in another task) is not waited for. */
  reentrant?: boolean;
}

export async function acquireLock(path: string, waitMs: number, wait: LockWait = {}): Promise<() => Promise<void>> {
  let { onWait, onTakeOver } = wait;
  const { shown = path, reentrant = false } = wait;
  let compromised: Error | null = null;
  const deadline = Date.now() + waitMs;
  let release: (() => Promise<void>) | null = null;
  let sighting: Sighting | null = null;
  const lockfile = await loadLockLibrary();
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
        throw new PlanFileError(`cannot lock ${shown}: ${describeFsError(error)}`);
      }
      // A dead owner (or a folder left without a record) is cleared before anyone is told to wait for it.
      const seen = clearAbandonedLock(path, sighting);
      sighting = seen.sighting;
      if (seen.cleared) {
        onTakeOver?.(seen.holder ? `pid ${seen.holder.pid}` : 'a process that died before it recorded itself');
        onTakeOver = undefined;
        continue;
      }
      if (reentrant && seen.holder?.pid === process.pid && seen.holder.host === hostname()) return async () => {};
      if (Date.now() >= deadline) {
        throw new PlanFileError(`${shown} is locked by another deepplan process; try again when it has finished`);
      }
      // Only a live holder is waited for by name; a folder with no record yet is a holder starting up (or one
      // that died before it recorded itself, which the grace above clears).
      if (onWait && seen.holder) {
        onWait(`pid ${seen.holder.pid}${seen.holder.host === hostname() ? '' : ` on ${seen.holder.host}`}`);
        onWait = undefined;
      }
      await delay(5 + Math.random() * 25);
    }
  }
  const held = release;
  try {
    writeFileSync(ownerFile(path), JSON.stringify({ pid: process.pid, host: hostname() } satisfies LockOwner));
  } catch (error) {
    // Other writers take a lock that stays unrecorded for long as abandoned, so it must not be held that way.
    await held().catch(() => {});
    throw new PlanFileError(`cannot lock ${shown}: cannot record the lock's owner in ${ownerFile(path)}: ${describeFsError(error)}`);
  }
  return async () => {
    rmSync(ownerFile(path), { force: true });
    try {
      await held();
    } catch {
      // Already released or taken over as stale; the write itself was atomic either way.
    }
    if (compromised) throw new PlanFileError(`the lock on ${shown} was lost during the write: ${(compromised as Error).message}`);
  };
}
