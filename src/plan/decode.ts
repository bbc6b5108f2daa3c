import { isUtf8 } from 'node:buffer';
import { fileError, formatMb, MAX_PLAN_BYTES } from './limits.js';
import { registerMemo } from './memos.js';
import type { Diagnostic } from './types.js';

/**
 * Turns the bytes of a file into plan text, or the reason it cannot be one. Bytes over the size limit, binary
 * content and invalid UTF-8 are refused here so the parser only ever sees text. With the text come the same bytes in a
 * buffer of their own that nothing changes (a writer may keep them while it reads into a reused buffer).
 */
export function decodePlan(bytes: Uint8Array): { text: string; bytes: Buffer } | { error: Diagnostic } {
  if (bytes.byteLength > MAX_PLAN_BYTES) {
    return { error: fileError(`file is ${formatMb(bytes.byteLength)}; plan files are limited to ${formatMb(MAX_PLAN_BYTES)}`) };
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The same bytes as last time (the engine reads its plan again, unchanged, at the start of its first write, and
  // reads back what it wrote last): the same text, without checking and decoding them again. Those bytes passed the
  // checks below, or were encoded from text.
  const known = recall(buffer);
  if (known !== null) return known;
  if (bytes.indexOf(0) !== -1) return { error: fileError('file is binary (it contains NUL bytes), not a Markdown plan') };
  if (!isUtf8(buffer)) {
    const at = firstInvalidUtf8(buffer);
    const line = countLines(buffer, at);
    return { error: fileError(`file is not valid UTF-8 (first bad byte at offset ${at})`, line) };
  }
  const text = buffer.toString('utf8');
  const kept = Buffer.from(buffer);
  remember(kept, text);
  return { text, bytes: kept };
}

/**
 * The UTF-8 bytes of `text`, which a writer is about to write, remembered as the last decoded: the read that follows
 * the write gets the text back without decoding it. Text with a NUL is not remembered (decodePlan refuses it), nor
 * text whose bytes hold U+FFFD: a lone surrogate is written as one, and those bytes decode to another text.
 */
export function encodePlan(text: string, replaces?: Buffer): Buffer {
  // One pass into room for the longest encoding (Buffer.from measures the length first: twice the time on a 2 MB plan).
  const room = Buffer.allocUnsafe(text.length * 3);
  const bytes = room.subarray(0, room.write(text, 'utf8'));
  if (bytes.byteLength <= MAX_PLAN_BYTES && bytes.indexOf(0) === -1 && bytes.indexOf(REPLACEMENT) === -1) remember(bytes, text, replaces);
  return bytes;
}

/**
 * Remembers `bytes` as the encoding of `text` (a writer put them together from the bytes it read and the pieces it
 * changed, pieces.ts: they are exactly its UTF-8, without a NUL) and returns them. The writer must not change them.
 * `replaces`: the bytes the writer read (decodePlan's), which the file no longer holds once these are written.
 */
export function rememberWritten(bytes: Buffer, text: string, replaces?: Buffer): Buffer {
  if (bytes.byteLength <= MAX_PLAN_BYTES) remember(bytes, text, replaces);
  return bytes;
}

/** U+FFFD in UTF-8. */
// Not Buffer.from: a small Buffer is a slice of Node's 64 kB pool, which the start-up snapshot would then keep whole.
const REPLACEMENT = new Uint8Array([0xef, 0xbf, 0xbd]);

/**
 * The bytes decodePlan decoded (or encodePlan encoded) last, their own copy, and their text, newest first. A few, so
 * that a process reading several plans in turn (parallel runs, a benchmark) keeps each one's: decoding a long plan
 * again costs ~5 ms at 10,000 log rows. A write's bytes take the place of the bytes it read (that version of the file
 * is gone): an iteration writes its plan twice, and entries by age alone kept one plan's last four versions, so that
 * with two or three plans in turn most reads decoded again.
 */
const DECODED_CACHE_SIZE = 4;
/** The bytes (their own copy, or a writer's, which nothing changes) and their text. */
const decoded: Array<{ bytes: Buffer; text: string }> = [];
registerMemo(() => {
  decoded.length = 0;
});

function recall(buffer: Buffer): { bytes: Buffer; text: string } | null {
  // Buffer.equals compares the lengths first: only a plan of the same size is compared byte by byte.
  const hit = decoded.findIndex((entry) => entry.bytes.equals(buffer));
  if (hit === -1) return null;
  const [entry] = decoded.splice(hit, 1);
  decoded.unshift(entry!);
  return entry!;
}

function remember(bytes: Buffer, text: string, replaces?: Buffer): void {
  const stale = replaces === undefined ? -1 : decoded.findIndex((entry) => entry.bytes === replaces);
  if (stale !== -1) decoded.splice(stale, 1);
  decoded.unshift({ bytes, text });
  decoded.length = Math.min(decoded.length, DECODED_CACHE_SIZE);
}

function countLines(buffer: Buffer, end: number): number {
  let line = 1;
  for (let i = 0; i < end; i++) if (buffer[i] === 0x0a) line++;
  return line;
}

function firstInvalidUtf8(buffer: Buffer): number {
  let i = 0;
  while (i < buffer.length) {
    const byte = buffer[i]!;
    const length = byte < 0x80 ? 1 : byte >= 0xc2 && byte < 0xe0 ? 2 : byte >= 0xe0 && byte < 0xf0 ? 3 : byte >= 0xf0 && byte < 0xf5 ? 4 : 0;
    if (length === 0) return i;
    if (!isUtf8(buffer.subarray(i, i + length))) return i;
    i += length;
  }
  return buffer.length;
}
