// Which pieces of a text an edit made it of. update.ts's surgical edits change a few characters of a long file, and
// the file's bytes are read already: the bytes of the edited text are the file's bytes with those few pieces encoded
// in between (store.ts writes them so), instead of the whole text encoded again (~1.5 ms on a 10,000-row log).

import { registerMemo } from './memos.js';

/** A range of the base text, or new text. */
type Piece = { from: number; to: number } | string;

interface Derivation {
  /** The text the pieces make. */
  text: string;
  /** The text the ranges are of: the first input of a chain of edits. */
  base: string;
  pieces: Piece[];
}

/** The text an edit returned last and how it is made; an edit of exactly that text carries the chain on. */
let last: Derivation | null = null;
registerMemo(() => {
  last = null;
});

const pieceLength = (piece: Piece) => (typeof piece === 'string' ? piece.length : piece.to - piece.from);

/** The part [from, to) of a piece, or null when empty. */
function cut(piece: Piece, from: number, to: number): Piece | null {
  if (to <= from) return null;
  return typeof piece === 'string' ? piece.slice(from, to) : { from: piece.from + from, to: piece.from + to };
}

/** `pieces` with their characters [start, end) replaced by `inserted`. */
function replacePieces(pieces: readonly Piece[], start: number, end: number, inserted: string): Piece[] {
  const out: Piece[] = [];
  const push = (piece: Piece | null) => {
    if (piece !== null && pieceLength(piece) > 0) out.push(piece);
  };
  let at = 0;
  let placed = false;
  for (const piece of pieces) {
    const length = pieceLength(piece);
    const pieceEnd = at + length;
    if (at < start) push(cut(piece, 0, Math.min(length, start - at)));
    if (!placed && pieceEnd >= start) {
      push(inserted);
      placed = true;
    }
    if (pieceEnd > end) push(cut(piece, Math.max(0, end - at), length));
    at = pieceEnd;
  }
  if (!placed) push(inserted);
  return out;
}

/** Starts a chain of edits at `text` (a writer's text as read): what the edits make is then pieced from it. */
export function beginPieces(text: string): string {
  last = { text, base: text, pieces: [{ from: 0, to: text.length }] };
  return text;
}

/**
 * Records that `output` is `input` with its characters [start, end) replaced by `inserted` (update.ts calls this for
 * each edit it makes) and returns `output`.
 */
export function noteSplice(input: string, output: string, splice: { start: number; end: number; inserted: string }): string {
  const from = last !== null && last.text === input ? last : { base: input, pieces: [{ from: 0, to: input.length }] };
  last = { text: output, base: from.base, pieces: replacePieces(from.pieces, splice.start, splice.end, splice.inserted) };
  return output;
}

/**
 * When `input` is the text the last chain of edits made (the very string: `===` of a string with itself does not read
 * it, and reading the characters of a text made by `+` makes V8 copy the whole of it): its base, and how many of its
 * first characters are the base's own (its first piece, when that is the base from its start). Else null.
 */
export function derivedPrefix(input: string): { base: string; length: number } | null {
  if (last === null || last.text !== input) return null;
  const [first] = last.pieces;
  return { base: last.base, length: first !== undefined && typeof first !== 'string' && first.from === 0 ? first.to : 0 };
}

/**
 * `input.slice(from)` put together from the pieces of the chain of edits that made `input` (slices of its base and the
 * new text, joined with `+`), so that `input` is not read; null when `input` is not the text the last chain made.
 */
export function derivedSlice(input: string, from: number): string | null {
  if (last === null || last.text !== input) return null;
  let out = '';
  let at = 0;
  for (const piece of last.pieces) {
    const length = pieceLength(piece);
    const part = at + length <= from ? null : cut(piece, Math.max(0, from - at), length);
    if (part !== null) out += typeof part === 'string' ? part : last.base.slice(part.from, part.to);
    at += length;
  }
  return out;
}

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * The UTF-8 bytes of `text` put together from `baseBytes` (the bytes `base` was decoded from) and the new pieces,
 * when `text` is what the last chain of edits of `base` made; null otherwise, or when a piece boundary falls inside a
 * surrogate pair or new text holds a lone surrogate or a NUL (the caller then encodes the whole text). `baseBytes`
 * must be the exact UTF-8 of `base` (decodePlan's text of them is); the bytes then decode to exactly `text`, and hold
 * a NUL only where `baseBytes` do.
 */
export function bytesFromPieces(text: string, base: string, baseBytes: Buffer): Buffer | null {
  const parts = partsFromPieces(text, base, baseBytes);
  return parts === null ? null : Buffer.concat(parts);
}

/**
 * bytesFromPieces's bytes as the parts they are made of, in order (slices of `baseBytes` and the new pieces encoded):
 * a writer writes them as they are, without copying a long file's bytes into one buffer first.
 */
export function partsFromPieces(text: string, base: string, baseBytes: Buffer): Buffer[] | null {
  if (last === null || last.text !== text || last.base !== base) return null;
  const parts: Buffer[] = [];
  for (const piece of last.pieces) {
    let part: Buffer;
    if (typeof piece === 'string') {
      if (isLow(piece.charCodeAt(0)) || isHigh(piece.charCodeAt(piece.length - 1)) || !isWellFormed(piece) || piece.includes('\0')) return null;
      part = Buffer.from(piece, 'utf8');
    } else {
      const from = byteOffset(base, baseBytes, piece.from);
      const to = byteOffset(base, baseBytes, piece.to);
      if (from === null || to === null) return null;
      part = baseBytes.subarray(from, to);
    }
    parts.push(part);
  }
  return parts;
}

/** Where character `offset` of `text` starts in its UTF-8 `bytes`, measured from the nearer end; null inside a pair. */
function byteOffset(text: string, bytes: Buffer, offset: number): number | null {
  if (offset > 0 && offset < text.length && isHigh(text.charCodeAt(offset - 1)) && isLow(text.charCodeAt(offset))) return null;
  if (offset <= text.length / 2) return Buffer.byteLength(text.slice(0, offset), 'utf8');
  return bytes.length - Buffer.byteLength(text.slice(offset), 'utf8');
}

/** String.prototype.isWellFormed (Node 20+; the ES2024 library typings are not in the project's `lib`). */
const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Where character `offset` of `base` (the first input of the chain of edits that made `text`) stands in `text`, when
 * an edit kept it where it was: with `side` 'after', the place right after the base's character before `offset` (text
 * inserted at `offset` comes after it); with 'at', the place of the character at `offset` (text inserted there comes
 * before it). Null when `text` is not what the last chain of edits of `base` made, or when that character was replaced.
 */
export function mappedOffset(text: string, base: string, offset: number, side: 'after' | 'at' = 'after'): number | null {
  if (last === null || last.text !== text || last.base !== base) return null;
  let at = 0;
  for (const piece of last.pieces) {
    if (typeof piece !== 'string') {
      const inside = side === 'after' ? piece.from < offset && offset <= piece.to : piece.from <= offset && offset < piece.to;
      if (inside) return at + offset - piece.from;
    }
    at += pieceLength(piece);
  }
  return null;
}
