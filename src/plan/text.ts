import { stripVTControlCharacters } from 'node:util';
import { sep } from 'node:path';
import type { Point, Verifiable } from './types.js';

/** Offsets where each line starts; line n (1-based) starts at `starts[n - 1]`. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  let at = text.indexOf('\n');
  while (at !== -1) {
    starts.push(at + 1);
    at = text.indexOf('\n', at + 1);
  }
  return starts;
}

/** Where line `index` ends: its line feed, or the end of the text. */
export function lineEnd(text: string, starts: number[], index: number): number {
  const next = starts[index + 1];
  return next === undefined ? text.length : next - 1;
}

/** The text of line `index`, without its line feed. */
export function lineText(text: string, starts: number[], index: number): string {
  return text.slice(starts[index]!, lineEnd(text, starts, index));
}

export function pointFinder(starts: number[]): (offset: number) => Point {
  return (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1, offset };
  };
}

/** The file's line ending, judged by its first line break. */
/** A path with forward slashes, as plan files and reports write repository paths on every platform. */
export function toPosix(path: string): string {
  return path.split(sep).join('/');
}

export function detectEol(text: string): '\n' | '\r\n' {
  const lf = text.indexOf('\n');
  return lf > 0 && text[lf - 1] === '\r' ? '\r\n' : '\n';
}

/** Offset just past the line that contains `offset` (after its line ending), or the text length. */
export function endOfLine(text: string, offset: number): number {
  const lf = text.indexOf('\n', offset);
  return lf === -1 ? text.length : lf + 1;
}

export function startOfLine(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

const VERIFY = /\bverify:\s*/i;

/**
 * Splits `text verify: \`cmd\`` into its parts. A command is one code span; longer backtick fences let the
 * command itself hold backticks.
 */
export function splitVerify(raw: string): Verifiable {
  const match = VERIFY.exec(raw);
  if (!match) return { text: raw.trim(), verify: null, verifyMalformed: false };
  const text = raw
    .slice(0, match.index)
    .trim()
    .replace(/[.;,]$/, '');
  const rest = raw.slice(match.index + match[0].length);
  const command = codeSpanAtStart(rest);
  if (command === null || command.value.trim() === '') return { text, verify: null, verifyMalformed: true };
  return { text, verify: command.value.trim(), verifyMalformed: false };
}

/** The code span at the start of `text`, if any: `` `cmd` `` or ``` ``cmd with ` inside`` ```. */
export function codeSpanAtStart(text: string): { value: string; length: number } | null {
  const open = /^`+/.exec(text);
  if (!open) return null;
  const fence = open[0];
  let at = fence.length;
  for (;;) {
    const close = text.indexOf(fence, at);
    if (close === -1) return null;
    // A closing run must be exactly as long as the opening one.
    if (text[close + fence.length] === '`') {
      at = close + fence.length;
      while (text[at] === '`') at++;
      continue;
    }
    return { value: text.slice(fence.length, close), length: close + fence.length };
  }
}

const PLACEHOLDERS = new Set(['', '-', '—', 'none', 'n/a', 'na', 'tbd', 'todo', '...', '…']);

export function isPlaceholder(text: string): boolean {
  return PLACEHOLDERS.has(text.trim().toLowerCase().replace(/[.]$/, ''));
}

/** `a.md, \`b/*.yaml\`` → ['a.md', 'b/*.yaml']; commas inside backticks do not split. */
export function splitList(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let inCode = false;
  for (const char of value) {
    if (char === '`') {
      inCode = !inCode;
      continue;
    }
    if (char === ',' && !inCode) {
      parts.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => !isPlaceholder(part));
}

/** Splits one GFM table line into cells, honouring `\|` escapes. */
export function splitTableRow(line: string): string[] {
  let body = line.trim();
  if (body.startsWith('|')) body = body.slice(1);
  if (body.endsWith('|') && !body.endsWith('\\|')) body = body.slice(0, -1);
  // Without a backslash every pipe ends a cell: the native split, much the quicker on a first read of a long log.
  if (body.indexOf('\\') === -1) return body.split('|').map((cell) => cell.trim());
  // From pipe to pipe with indexOf and slices: a log row is ~150 characters, and building cells a character at a
  // time cost ~2.5 µs a row, most of a 1,000-row log's reading time.
  const cells: string[] = [];
  let current = '';
  let from = 0;
  for (let i = body.indexOf('|'); i !== -1; i = body.indexOf('|', i + 1)) {
    if (i - 1 >= from && body.charCodeAt(i - 1) === 0x5c) {
      // `\|` is a pipe inside the cell.
      current += `${body.slice(from, i - 1)}|`;
      from = i + 1;
      continue;
    }
    cells.push((current + body.slice(from, i)).trim());
    current = '';
    from = i + 1;
  }
  cells.push((current + body.slice(from)).trim());
  return cells;
}

/** Escapes a value for one GFM table cell: pipes escaped, line breaks folded to spaces. */
export function escapeTableCell(value: string): string {
  return value
    .replace(/\r?\n|\r/g, ' ')
    .replace(/\\(?=\|)/g, '\\\\')
    .replace(/\|/g, '\\|')
    .trim();
}

export function normaliseKey(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, ' ');
}

/** Skill names as written in tables: `/account-briefing`, `` `account-briefing` `` → `account-briefing`. */
export function normaliseSkillName(text: string): string {
  return text.trim().replace(/^`|`$/g, '').replace(/^\//, '').trim();
}

/** The first line of a `yaml` error message, without its trailing "at line N, column M:" (we give the position). */
export function yamlErrorMessage(error: { message: string }): string {
  return (error.message.split('\n')[0] ?? '').replace(/\s*at line \d+, column \d+:?\s*$/, '').trim();
}

/**
 * Text from outside (a command's output, a model's answer) made safe for a log row or a terminal: terminal escape
 * sequences and other control characters removed (line breaks and tabs kept), so a step cannot move the cursor,
 * retitle the window or hide text in what a person reads.
 */
export function safeText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return stripVTControlCharacters(text).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

// Number formatting and string order without ICU: Intl's first use in a process loads its data (~10 ms for
// toLocaleString, ~7 ms for localeCompare), more than a whole lint of a small plan takes in a start-up snapshot.

/** `n` with a comma between thousands, as toLocaleString('en-US') writes an integer: 12,345. */
export function formatCount(n: number): string {
  const digits = String(Math.trunc(Math.abs(n)));
  return `${n < 0 ? '-' : ''}${digits.replace(/\B(?=(\d{3})+$)/g, ',')}`;
}

/** Orders strings by their UTF-16 code units: a fixed order for identifiers (rule ids), whatever the locale. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
