import type { SkippedLines } from './limits.js';
import { registerMemo } from './memos.js';
import { lineEnd, lineText, splitTableRow } from './text.js';
import type { Diagnostic, IterationLog, LogLines, LogRow } from './types.js';

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
  /** The cell count every row has, -1 when they differ, UNREAD when the rows were not read (byLine is empty). */
  width: number;
}

/** CachedRows.width of lines whose rows were never read whole: a long log an iteration read (lazyLog). */
const UNREAD = -2;

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
  /**
   * The lines [from, to) of the log table's rows (each starts with `|` after at most three spaces, so holds no
   * container), when the pass found the table's delimiter row; they include `known`'s.
   */
  table: SkippedLines | null;
}

/**
 * The logs read last, newest first. A few entries, so that a process reading several plans in turn (a benchmark, a
 * test run) keeps each one's. Rows are frozen: parses share them, and nothing changes them.
 */
const ROWS_CACHE_SIZE = 4;
const rowsCache: CachedRows[] = [];
registerMemo(() => {
  rowsCache.length = 0;
});

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
  let table: SkippedLines | null = null;
  let start = 0;
  for (let i = 0; ; i++) {
    starts.push(start);
    const lf = text.indexOf('\n', start);
    if (log === null && start >= bodyStart) {
      // Only a line whose first character after at most three spaces is a backtick, a tilde or `#` can open or close
      // a fence or be a heading; a `|` line after the heading may be the log's table.
      const first = firstCharacter(text, start);
      // The table's rows go on while the lines start with `|`: a long log, most of the file's lines, in a loop of its own.
      if (table !== null && table.to === i && first === 0x7c) {
        let rowEnd = lf;
        let row = i;
        while (rowEnd !== -1 && firstCharacter(text, rowEnd + 1) === 0x7c) {
          row++;
          starts.push(rowEnd + 1);
          rowEnd = text.indexOf('\n', rowEnd + 1);
        }
        table.to = row + 1;
        if (rowEnd === -1) break;
        i = row;
        start = rowEnd + 1;
        continue;
      }
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
        table = { from: i + 1, to: i + 1 };
        const cached = cachedRowsAt(text, lf + 1);
        if (cached) {
          for (const offset of cached.offsets) starts.push(lf + 1 + offset);
          known = { from: i + 1, to: i + 1 + cached.offsets.length, cached };
          table.to = known.to;
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
  return { starts, log, known, table };
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

/**
 * A first read of a log with more rows than this reads none of them: its rows are read as they are asked for
 * (IterationLog.lines, or `rows` as a whole). An iteration asks for a few, lint and status for all.
 */
const LAZY_ROWS = 200;

/**
 * Reads the log's table: its header, its rows (those in `known` as they were read; a long log's when asked for) and its
 * problems. `table` is indexLines's, if it found the table.
 */
export function readLog(text: string, starts: number[], bounds: LogBounds, lines: Pick<LineIndex, 'known' | 'table'>): IterationLog {
  const { known, table } = lines;
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
  const problems = log.problems;
  const problem = (message: string, index: number) => problems.push({ ruleId: 'iteration-log', severity: 'error', message, line: index + 1, column: 1 });
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
  if (reused === null || reused.width === UNREAD) {
    let end = table !== null && table.from === first ? table.to : first;
    while (end < bounds.endIndex && rowEnd(text, starts, end) !== -1) end++;
    if (reused !== null || end - first > LAZY_ROWS) return lazyLog(log, { text, starts, first, firstStart, count: end - first, widthProblem, reused });
  }
  if (reused) {
    log.rows = rowsAtLine(reused, first + 1).slice();
    if (reused.width !== width) for (const row of log.rows) if (row.cells.length !== width) widthProblem(row);
  }
  let last = reused ? first + log.rows.length - 1 : i + 1;
  for (let index = first + log.rows.length; index < bounds.endIndex; index++) {
    // A row is a line that starts with `|` after at most three spaces (TABLE_LINE), tested in place.
    const end = rowEnd(text, starts, index);
    if (end === -1) break;
    last = index;
    const row = freezeRow(readRow(splitTableRow(text.slice(starts[index]!, end)), index + 1));
    if (row.cells.length !== width) widthProblem(row);
    log.rows.push(row);
  }
  // Remembered: the rows whose line ends with a line break (a last line without one may still grow). The entry this
  // log grew from is replaced by it; the others move down, the oldest goes.
  const complete = last + 1 < starts.length ? log.rows.length : log.rows.length - 1;
  if (complete > 0) remember(text, starts, { first, firstStart, rows: log.rows.slice(0, complete), reused });
  log.insertOffset = last + 1 < starts.length ? starts[last + 1]! : text.length;
  setLines(log, new TableRows({ text, starts, first }, log.rows.length, log.rows));
  return log;
}

/** Where the row on line `index` ends (before its line break), or -1 when the line is no row (no `|` first). */
function rowEnd(text: string, starts: number[], index: number): number {
  const start = starts[index]!;
  let at = start;
  while (at < start + 3 && text.charCodeAt(at) === 0x20) at++;
  const end = lineEnd(text, starts, index);
  if (at >= end || text.charCodeAt(at) !== 0x7c) return -1;
  return text.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
}

/** The text a table's rows are lines of, and the line index of its first row. */
interface TableText {
  text: string;
  starts: number[];
  first: number;
}

/** A table's rows as lines of the text, each read when first asked for (LogLines). */
class TableRows implements LogLines {
  constructor(
    private readonly table: TableText,
    readonly count: number,
    /** The rows read so far, by index (all of them for a log read whole). */
    private readonly read: Array<LogRow | undefined>,
  ) {}

  row(index: number): LogRow {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) throw new RangeError(`the log has no row ${index}`);
    let row = this.read[index];
    if (row === undefined) {
      const { text, starts, first } = this.table;
      const line = first + index;
      row = freezeRow(readRow(splitTableRow(text.slice(starts[line]!, rowEnd(text, starts, line))), line + 1));
      this.read[index] = row;
    }
    return row;
  }

  containing(needle: string): number[] {
    const found: number[] = [];
    // No row's line holds a line break.
    if (this.count === 0 || needle.includes('\n')) return found;
    const { text, starts, first } = this.table;
    const stop = first + this.count;
    const end = stop < starts.length ? starts[stop]! : text.length;
    let line = first;
    // One native search through the rows' text; each hit names its line, and the search goes on at the next line.
    for (let at = text.indexOf(needle, starts[first]!); at !== -1 && at < end; at = text.indexOf(needle, starts[line + 1]!)) {
      line = lineAt(starts, at, line, stop - 1);
      found.push(line - first);
      if (line + 1 >= stop) break;
    }
    return found;
  }
}

/** The last line in [lo, hi] that starts at or before `offset`. */
function lineAt(starts: number[], offset: number, lo: number, hi: number): number {
  let low = lo;
  let high = hi;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return low;
}

export function setLines(log: IterationLog, lines: LogLines): void {
  Object.defineProperty(log, 'lines', { value: lines, enumerable: false, writable: true, configurable: true });
}

/** Defines `key` of `object` as `compute()`, computed on first use (then a plain property, which may be set). */
export function lazyProperty<T>(object: object, key: string, compute: () => T): void {
  const settle = (value: T) => Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(object, key, {
    enumerable: true,
    configurable: true,
    get: () => {
      const value = compute();
      settle(value);
      return value;
    },
    set: settle,
  });
}

/**
 * A long log read the first time: its rows are found (lines that start with `|`) but not read. `rows` and `problems`
 * read them all when first used, and remember them as readLog does; `lines` reads only those asked for.
 */
function lazyLog(
  log: IterationLog,
  table: TableText & { firstStart: number; count: number; widthProblem: (row: LogRow) => void; reused: CachedRows | null },
): IterationLog {
  const { text, starts, first, firstStart, count, widthProblem } = table;
  const last = first + count - 1;
  log.insertOffset = last + 1 < starts.length ? starts[last + 1]! : text.length;
  const lines = new TableRows({ text, starts, first }, count, new Array<LogRow | undefined>(count));
  setLines(log, lines);
  // The lines are remembered as they are (without rows): the next read of a text holding them jumps over them.
  const complete = last + 1 < starts.length ? count : count - 1;
  const reused = complete > 0 ? rememberLines(text, starts, { first, firstStart, count: complete, reused: table.reused }) : null;
  const problems: Diagnostic[] = log.problems;
  let rows: LogRow[] | null = null;
  const readAll = (): LogRow[] => {
    if (rows !== null) return rows;
    const all: LogRow[] = [];
    for (let k = 0; k < count; k++) {
      const row = lines.row(k);
      if (row.cells.length !== log.header!.length) widthProblem(row);
      all.push(row);
    }
    if (complete > 0) remember(text, starts, { first, firstStart, rows: all.slice(0, complete), reused });
    rows = all;
    return all;
  };
  lazyProperty(log, 'rows', readAll);
  lazyProperty(log, 'problems', () => {
    readAll();
    return problems;
  });
  return log;
}

/**
 * The lines of a log (IterationLog.lines); for a log without them (a copy, or one made by hand) its rows, every one
 * of which then counts as holding every needle.
 */
export function logLines(log: Pick<IterationLog, 'rows' | 'lines'> | null | undefined): LogLines {
  if (log?.lines) return log.lines;
  const rows = log?.rows ?? [];
  return {
    count: rows.length,
    row: (index) => {
      const row = rows[index];
      if (row === undefined) throw new RangeError(`the log has no row ${index}`);
      return row;
    },
    containing: () => rows.map((_, index) => index),
  };
}

/** What a cell holding `value` holds as written: its `|` written `\|` (LogLines.containing finds rows by it). */
export function logNeedle(value: string): string {
  return value.replace(/\|/g, '\\|');
}

/** The row a table line (without its line break) on line `line` reads as: what readLog makes of it. */
export function rowOfLine(text: string, line: number): LogRow {
  return readRow(splitTableRow(text), line);
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
  for (let k = offsets.length; k < rows.length; k++) offsets.push(starts[first + k]! - firstStart);
  // The widths of the rows read before are known, unless those rows were never read.
  const widthKnown = reused !== null && reused.width !== UNREAD;
  let width = widthKnown ? reused.width : rows[0]!.cells.length;
  for (let k = widthKnown ? reused.offsets.length : 0; k < rows.length && width !== -1; k++) if (rows[k]!.cells.length !== width) width = -1;
  // The other numbering the rows read before had carries on with the rows appended since.
  const byLine = new Map<number, readonly LogRow[]>();
  for (const [line, known] of reused?.byLine ?? []) {
    if (line !== first + 1) byLine.set(line, known.concat(moveRows(rows.slice(known.length), line + known.length)));
  }
  byLine.set(first + 1, rows);
  store({ source: text.slice(firstStart, starts[first + rows.length]!), offsets, byLine, width }, reused);
}

/** Puts `entry` first in the cache, in place of `replaced` if that is there; the oldest entry goes. */
function store(entry: CachedRows, replaced: CachedRows | null): CachedRows {
  const index = replaced ? rowsCache.indexOf(replaced) : -1;
  if (index !== -1) rowsCache.splice(index, 1);
  rowsCache.unshift(entry);
  rowsCache.length = Math.min(rowsCache.length, ROWS_CACHE_SIZE);
  return entry;
}

/**
 * Remembers the `count` row lines from line `first` on without their rows (UNREAD), after the lines of `reused` if it
 * held the first of them. Returns the entry.
 */
function rememberLines(text: string, starts: number[], { first, firstStart, count, reused }: Omit<Remembered, 'rows'> & { count: number }): CachedRows {
  const offsets = reused && reused.width === UNREAD ? reused.offsets.slice() : [];
  for (let k = offsets.length; k < count; k++) offsets.push(starts[first + k]! - firstStart);
  return store({ source: text.slice(firstStart, starts[first + count]!), offsets, byLine: new Map(), width: UNREAD }, reused);
}
