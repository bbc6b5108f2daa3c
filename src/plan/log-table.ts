import type { SkippedLines } from './limits.js';
import { lineEnd, lineText, splitTableRow } from './text.js';
import type { IterationLog, LogRow } from './types.js';

// The iteration log: a table of a fixed grammar read line by line (remark costs ~0.4 ms a row here), and the one
// pass over the file's lines that finds it. What a row's cells mean is log-grammar.ts's; this file only turns lines
// into cells and LogRows.
//
// One `deepplan run` iteration reads its plan about ten times (each read and each surgical edit), and between two
// reads the log only ever grows at its end. The rows read last are kept with the text of their lines: a log that
// starts with exactly those lines takes its rows as they are, and the line pass jumps over them. What is read is
// then the Markdown part, the rows appended since, and whatever follows the table, however long the log is. (What
// still grows with the log is native work on the whole text: reading, copying and writing it. scripts/bench-run.mjs
// measures an iteration at 1,000 and 10,000 rows.)

export const LOG_HEADER = ['#', 'When', 'Phase', 'Action', 'Result', 'Signal', 'Notes'] as const;

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;
const LOG_HEADING = /^ {0,3}##[ \t]+iteration log[ \t]*#*[ \t]*\r?$/i;
const SECTION_HEADING = /^ {0,3}#{1,2}(?:[ \t]|\r?$)/;
const TABLE_LINE = /^ {0,3}\|/;
const DELIMITER_ROW = /^ {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*\r?$/;

/** `## Iteration log` (offset, line index) and the next level-1/2 heading after it (or the end of the file). */
export interface LogBounds {
  start: number;
  end: number;
  headingIndex: number;
  endIndex: number;
}

/** Rows read before, with the text of their lines (line breaks included) and where each line starts in it. */
interface CachedRows {
  source: string;
  /** Offset in `source` of each row's line. */
  offsets: number[];
  /**
   * The frozen rows by the line the first of them is on. An iteration moves the log down a line and back (its
   * in-flight record is a line of the front matter while its action runs): both numberings are kept, so neither
   * read copies every row.
   */
  byLine: Map<number, readonly LogRow[]>;
  /** The cell count every row has, or -1 when they differ. */
  width: number;
}

/** How many numberings of the same rows an entry keeps. */
const NUMBERINGS = 2;

/** Rows read before that lines [from, to) of the file hold: every one of those lines starts with `|`. */
export interface KnownRows extends SkippedLines {
  cached: CachedRows;
}

export interface LineIndex {
  /** Where each line starts; line n (1-based) starts at `starts[n - 1]`. */
  starts: number[];
  log: LogBounds | null;
  known: KnownRows | null;
}

/**
 * The logs read last, newest first. A few entries, so that a process reading several plans in turn (a benchmark, a
 * test run) keeps each one's. Rows are frozen: parses share them, and nothing changes them.
 */
const ROWS_CACHE_SIZE = 4;
const rowsCache: CachedRows[] = [];

/** The first character of the line starting at `start` after at most three spaces. */
function firstCharacter(text: string, start: number): number {
  let at = start;
  while (at < start + 3 && text.charCodeAt(at) === 0x20) at++;
  return text.charCodeAt(at);
}

/**
 * The starts of the lines of `text`, `## Iteration log` (from `bodyStart` on, outside fenced code) and the next
 * level-1/2 heading after it, and the rows already read that the log's table starts with (their lines are jumped
 * over, not scanned).
 */
export function indexLines(text: string, bodyStart: number): LineIndex {
  const starts: number[] = [];
  let fence: string | null = null;
  let heading = -1;
  let header = -1;
  let log: LogBounds | null = null;
  let known: KnownRows | null = null;
  let start = 0;
  for (let i = 0; ; i++) {
    starts.push(start);
    const lf = text.indexOf('\n', start);
    if (log === null && start >= bodyStart) {
      // Only a line whose first character after at most three spaces is a backtick, a tilde or `#` can open or close
      // a fence or be a heading; a `|` line after the heading may be the log's table.
      const first = firstCharacter(text, start);
      if (first === 0x60 || first === 0x7e || first === 0x23) {
        const line = text.slice(start, lf === -1 ? text.length : lf);
        const fenceMatch = FENCE_OPEN.exec(line);
        if (fence) {
          if (fenceMatch && fenceMatch[1]![0] === fence[0] && fenceMatch[1]!.length >= fence.length && line.trim() === fenceMatch[1]) fence = null;
        } else if (fenceMatch) {
          fence = fenceMatch[1]!;
        } else if (heading === -1) {
          if (LOG_HEADING.test(line)) heading = i;
        } else if (SECTION_HEADING.test(line)) {
          log = { start: starts[heading]!, end: start, headingIndex: heading, endIndex: i };
        }
      } else if (heading !== -1 && header === -1 && first === 0x7c) {
        header = i;
      } else if (header !== -1 && i === header + 1 && lf !== -1 && DELIMITER_ROW.test(text.slice(start, lf))) {
        const cached = cachedRowsAt(text, lf + 1);
        if (cached) {
          for (const offset of cached.offsets) starts.push(lf + 1 + offset);
          known = { from: i + 1, to: i + 1 + cached.offsets.length, cached };
          i = known.to - 1;
          start = lf + 1 + cached.source.length;
          continue;
        }
      }
    }
    if (lf === -1) break;
    start = lf + 1;
  }
  if (log === null && heading !== -1) log = { start: starts[heading]!, end: text.length, headingIndex: heading, endIndex: starts.length };
  return { starts, log, known };
}

/**
 * The cached rows whose lines `text` holds from `at` on. (A slice compared with === is compared as a block;
 * startsWith goes a character at a time, ~0.5 ms on 1,000 rows.)
 */
function cachedRowsAt(text: string, at: number): CachedRows | null {
  const hit = rowsCache.findIndex((entry) => text.slice(at, at + entry.source.length) === entry.source);
  if (hit === -1) return null;
  const [entry] = rowsCache.splice(hit, 1);
  rowsCache.unshift(entry!);
  return entry!;
}

/**
 * Rows are shared by every parse that reads them: frozen, so that no reader can change another's. (Their cells
 * arrays are shared too; nothing changes them, and freezing 10,000 more objects is not free on a first read.)
 */
function freezeRow(row: LogRow): LogRow {
  return Object.freeze(row);
}

/** `rows` renumbered as lines from `firstLine` on (copies; the rows themselves are frozen). */
function moveRows(rows: readonly LogRow[], firstLine: number): LogRow[] {
  return rows.map((row, k) => freezeRow({ ...row, line: firstLine + k }));
}

/** The rows of `cached` as lines from `firstLine` on: rows already numbered so, or copies, kept for next time. */
function rowsAtLine(cached: CachedRows, firstLine: number): readonly LogRow[] {
  const kept = cached.byLine.get(firstLine);
  if (kept) return kept;
  const [any] = cached.byLine.values();
  const moved = moveRows(any!, firstLine);
  if (cached.byLine.size >= NUMBERINGS) cached.byLine.delete(cached.byLine.keys().next().value!);
  cached.byLine.set(firstLine, moved);
  return moved;
}

/** Reads the log's table: its header, its rows (those in `known` as they were read) and its problems. */
export function readLog(text: string, starts: number[], bounds: LogBounds, known: KnownRows | null): IterationLog {
  const log: IterationLog = {
    headingLine: bounds.headingIndex + 1,
    header: null,
    headerLine: null,
    rows: [],
    problems: [],
    insertOffset: null,
  };
  let i = bounds.headingIndex + 1;
  while (i < bounds.endIndex && !TABLE_LINE.test(lineText(text, starts, i))) i++;
  if (i >= bounds.endIndex) return log;
  const problem = (message: string, index: number) => log.problems.push({ ruleId: 'iteration-log', severity: 'error', message, line: index + 1, column: 1 });
  log.header = splitTableRow(lineText(text, starts, i));
  log.headerLine = i + 1;
  if (i + 1 >= bounds.endIndex || !DELIMITER_ROW.test(lineText(text, starts, i + 1))) {
    problem('the iteration log table has no delimiter row (`| --- | --- | ... |`) under its header', i + 1);
    log.insertOffset = i + 1 < starts.length ? starts[i + 1]! : text.length;
    return log;
  }
  const width = log.header.length;
  const first = i + 2;
  const firstStart = first < starts.length ? starts[first]! : text.length;
  const widthProblem = (row: LogRow) => problem(`log row has ${row.cells.length} cells; the header has ${width}`, row.line - 1);
  const reused = known !== null && known.from === first ? known.cached : null;
  if (reused) {
    log.rows = rowsAtLine(reused, first + 1).slice();
    if (reused.width !== width) for (const row of log.rows) if (row.cells.length !== width) widthProblem(row);
  }
  let last = reused ? first + log.rows.length - 1 : i + 1;
  for (let index = first + log.rows.length; index < bounds.endIndex; index++) {
    // A row is a line that starts with `|` after at most three spaces (TABLE_LINE), tested in place.
    const start = starts[index]!;
    let at = start;
    while (at < start + 3 && text.charCodeAt(at) === 0x20) at++;
    let end = lineEnd(text, starts, index);
    if (at >= end || text.charCodeAt(at) !== 0x7c) break;
    last = index;
    if (text.charCodeAt(end - 1) === 0x0d) end--;
    const row = freezeRow(readRow(splitTableRow(text.slice(start, end)), index + 1));
    if (row.cells.length !== width) widthProblem(row);
    log.rows.push(row);
  }
  // Remembered: the rows whose line ends with a line break (a last line without one may still grow). The entry this
  // log grew from is replaced by it; the others move down, the oldest goes.
  const complete = last + 1 < starts.length ? log.rows.length : log.rows.length - 1;
  if (complete > 0) remember(text, starts, { first, firstStart, rows: log.rows.slice(0, complete), reused });
  log.insertOffset = last + 1 < starts.length ? starts[last + 1]! : text.length;
  return log;
}

/** A LogRow from its cells: cells beyond the seventh belong to Notes (a `|` the writer did not escape). */
function readRow(cells: string[], line: number): LogRow {
  const numberText = cells[0] ?? '';
  return {
    cells,
    number: /^\d+$/.test(numberText) ? Number(numberText) : null,
    when: cells[1] ?? '',
    phase: cells[2] ?? '',
    action: cells[3] ?? '',
    result: cells[4] ?? '',
    signal: cells[5] ?? '',
    notes: cells.length > 7 ? cells.slice(6).join(' | ') : (cells[6] ?? ''),
    line,
  };
}

interface Remembered {
  first: number;
  firstStart: number;
  rows: LogRow[];
  /** The entry the rows started with, if any: its offsets are not computed again. */
  reused: CachedRows | null;
}

function remember(text: string, starts: number[], { first, firstStart, rows, reused }: Remembered): void {
  const offsets = reused ? reused.offsets.slice() : [];
  let width = reused ? reused.width : rows[0]!.cells.length;
  for (let k = offsets.length; k < rows.length; k++) {
    offsets.push(starts[first + k]! - firstStart);
    if (rows[k]!.cells.length !== width) width = -1;
  }
  // The other numbering the rows read before had carries on with the rows appended since.
  const byLine = new Map<number, readonly LogRow[]>();
  for (const [line, known] of reused?.byLine ?? []) {
    if (line !== first + 1) byLine.set(line, known.concat(moveRows(rows.slice(known.length), line + known.length)));
  }
  byLine.set(first + 1, rows);
  const entry: CachedRows = { source: text.slice(firstStart, starts[first + rows.length]!), offsets, byLine, width };
  const index = reused ? rowsCache.indexOf(reused) : -1;
  if (index !== -1) rowsCache.splice(index, 1);
  rowsCache.unshift(entry);
  rowsCache.length = Math.min(rowsCache.length, ROWS_CACHE_SIZE);
}
