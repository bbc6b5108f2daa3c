import {
  closeSync,
  constants,
  existsSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { dirname } from 'node:path';

// Writes that append: a plan with a long iteration log is written in place, not replaced whole (store.ts decides
// which). The new rows go at the end of the file and the head (front matter and Markdown up to the log's first row,
// kept the same length by the room comment, long-log.ts) is written over the old one. Those are two writes, not one
// rename, so an undo journal makes them one step:
//
//   1. the journal (`.deepplan/journal/<plan>.<digest of its path>.undo` in the plan's repository, a folder no
//      command of a plan may write: a journal is trusted to put bytes into the plan) gets the plan's size, inode and
//      old head bytes with their digest, and is synced;
//   2. the rows are written after the plan's last byte, then the head over the old one, and the plan is synced;
//   3. the journal is removed: the write has happened.
//
// A kill anywhere before 3 leaves the journal. The next writer (under the plan's lock) puts the old head back and cuts
// the plan to its old size: the plan is as it was before the write. A journal that is not whole (killed in 1) was
// written before the plan was touched: it is removed. A reader that takes no lock reads the plan as its last whole
// write left it: it reads the journal first, and rebuilds the old version from it when there is one; without one, it
// checks after its read that no journal appeared and the file did not change meanwhile, else it reads again.

const MAGIC = 'deepplan-undo 1\n';

interface Undo {
  /** The plan's size before the write. */
  size: number;
  /** The plan's inode: a journal of another file (the plan replaced since) is stale. */
  ino: string;
  /** The plan's first bytes before the write. */
  head: Buffer;
  /**
   * The plan's last bytes before the write (at most TAIL_SAMPLE): a file that does not end so where the plan ended is
   * another file (its inode can be the plan's old one, reused), and the journal says nothing of it.
   */
  tail: Buffer;
}

/** How many of a plan's last bytes a journal keeps to know the file again. */
export const TAIL_SAMPLE = 256;

// node:crypto is loaded when a journal is written or found, not by every read of a plan (lint, status).
const digest = (bytes: Buffer) => process.getBuiltinModule('node:crypto').createHash('sha256').update(bytes).digest('hex');

/** A journal's bytes: the plan's size and inode before the write, and its old head with the head's digest. */
export function journalBytes(size: number, ino: bigint | number, oldHead: Buffer, tail: Buffer): Buffer {
  const header = JSON.stringify({ size, ino: String(ino), length: oldHead.length, sha256: digest(oldHead), tail: tail.toString('base64') });
  return Buffer.concat([Buffer.from(`${MAGIC}${header}\n`), oldHead]);
}

/** The journal as written, or null when it is absent; 'partial' when it is not whole (its write was cut short). */
export function readJournal(journal: string): Undo | 'partial' | null {
  // Asked first without an exception: every read of a plan looks (twice), and there is almost never one; a failed
  // read throws an error whose making costs more than the look (~0.25 ms in a short command).
  if (!existsSync(journal)) return null;
  let bytes: Buffer;
  try {
    bytes = readFileSync(journal);
  } catch (error) {
    // No journal (or no folder for one: a file in its place).
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
  if (!bytes.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) return 'partial';
  const lineEnd = bytes.indexOf(0x0a, MAGIC.length);
  if (lineEnd === -1) return 'partial';
  let header: { size: number; ino: string; length: number; sha256: string; tail: string };
  try {
    header = JSON.parse(bytes.subarray(MAGIC.length, lineEnd).toString('utf8')) as typeof header;
  } catch {
    return 'partial';
  }
  const head = bytes.subarray(lineEnd + 1);
  if (!Number.isInteger(header.size) || typeof header.tail !== 'string' || head.length !== header.length || digest(head) !== header.sha256) return 'partial';
  return { size: header.size, ino: String(header.ino), head, tail: Buffer.from(header.tail, 'base64') };
}

/** The plan opened to be written in place or put back (read too: its last bytes are compared). */
const WRITE_FLAGS = constants.O_RDWR | (constants.O_NOFOLLOW ?? 0);

/** A write in place: the plan's size as the writer read it, its old head, the new head (same length), the rows after. */
export interface InPlaceWrite {
  size: number;
  oldHead: Buffer;
  head: Buffer;
  rows: Buffer;
}

/** The journal cannot be written (a read-only folder): nothing was written, the write is to be made whole. */
export class InPlaceUnavailable extends Error {
  override name = 'InPlaceUnavailable';
}

/** The plan changed on disk since the writer read it: nothing was written. */
export class InPlaceConflict extends Error {
  override name = 'InPlaceConflict';
}

/**
 * Writes `write` into the plan at `real` in place, under the journal (the caller holds the plan's lock). Throws
 * InPlaceConflict, having written nothing, when the file is not the size the writer read.
 */
export function writeInPlace(real: string, journal: string, write: InPlaceWrite): void {
  if (write.head.length !== write.oldHead.length) throw new Error('a write in place keeps the head the same length');
  const fd = openSync(real, WRITE_FLAGS);
  try {
    const stats = fstatSync(fd, { bigint: true });
    if (Number(stats.size) !== write.size || !stats.isFile()) throw new InPlaceConflict(`the plan is ${stats.size} bytes, not ${write.size}`);
    let undo: number;
    try {
      mkdirSync(dirname(journal), { recursive: true });
      undo = openSync(journal, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (constants.O_NOFOLLOW ?? 0), 0o600);
    } catch (error) {
      throw new InPlaceUnavailable(`no journal can be written at ${journal}: ${(error as Error).message}`);
    }
    try {
      writeAll(undo, journalBytes(write.size, stats.ino, write.oldHead, tailOf(fd, write.size)), null);
      fdatasyncSync(undo);
    } finally {
      closeSync(undo);
    }
    // The rows first, then the head: a reader that sees the new head sees the rows it counts.
    writeAll(fd, write.rows, write.size);
    writeAll(fd, write.head, 0);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(journal, { force: true });
}

/** The last TAIL_SAMPLE bytes (or fewer) of the first `size` bytes of the open file `fd`. */
function tailOf(fd: number, size: number): Buffer {
  const length = Math.min(TAIL_SAMPLE, size);
  const tail = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const read = readSync(fd, tail, done, length - done, size - length + done);
    if (read === 0) break;
    done += read;
  }
  return tail.subarray(0, done);
}

/**
 * Whether a file (its stat, and its bytes [size - length, size) as `endOf` gives them) is the one `undo` was written
 * for: its inode, and its bytes where the plan ended (an inode can be reused by another file).
 */
function describes(undo: Undo, stats: BigIntStats, endOf: (size: number, length: number) => Buffer): boolean {
  return String(stats.ino) === undo.ino && Number(stats.size) >= undo.size && endOf(undo.size, undo.tail.length).equals(undo.tail);
}

function writeAll(fd: number, bytes: Buffer, position: number | null): void {
  let done = 0;
  while (done < bytes.length) {
    done += writeSync(fd, bytes, done, bytes.length - done, position === null ? null : position + done);
  }
}

/**
 * Puts back the plan a killed write in place left half written, from its journal (the caller holds the plan's lock,
 * so no write is under way). Returns whether a journal was found.
 */
export function recoverInPlace(real: string, journal: string): boolean {
  const undo = readJournal(journal);
  if (undo === null) return false;
  if (undo !== 'partial') {
    let fd: number | null = null;
    try {
      const plan = openSync(real, WRITE_FLAGS);
      fd = plan;
      const stats = fstatSync(plan, { bigint: true });
      // A journal of another file (the plan was replaced since) or of a longer one is stale: the plan is left alone.
      if (describes(undo, stats, (size) => tailOf(plan, size))) {
        writeAll(plan, undo.head, 0);
        if (Number(stats.size) !== undo.size) ftruncateSync(plan, undo.size);
        fdatasyncSync(plan);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    } finally {
      if (fd !== null) closeSync(fd);
    }
  }
  rmSync(journal, { force: true });
  return true;
}

/** What a stat says changes with every write to a file. */
export function sameFile(a: BigIntStats, b: BigIntStats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * What a reader that takes no lock reads of a plan (`before`: the open file's stat before its read), given the
 * journal (at `journalPath`) it found before its read: with a whole journal of this file, the plan before the write (its first `size`
 * bytes with the old head put back); without one, the bytes as read, or null when they may be a write half done (the
 * reader reads again): the file changed during the read, or a write began meanwhile.
 */
export function settledBytes(
  journalPath: string,
  bytes: Buffer,
  journal: ReturnType<typeof readJournal>,
  before: BigIntStats,
  after: BigIntStats,
): Buffer | null {
  if (!sameFile(before, after)) return null;
  // A journal of another file (the plan was replaced since it was written) is stale: it says nothing of this one.
  const ofThese = (undo: ReturnType<typeof readJournal>): undo is Undo =>
    undo !== null && undo !== 'partial' && describes(undo, before, (size, length) => bytes.subarray(size - length, size));
  if (ofThese(journal)) {
    const out = Buffer.allocUnsafe(journal.size);
    bytes.copy(out, 0, 0, journal.size);
    journal.head.copy(out, 0);
    return out;
  }
  return ofThese(readJournal(journalPath)) ? null : bytes;
}
