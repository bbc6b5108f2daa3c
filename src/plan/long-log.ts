import { lazyProperty, setLines } from './log-table.js';
import { registerMemo } from './memos.js';
import { parsePlan } from './parse.js';
import { mappedOffset } from './pieces.js';
import { MAX_LOG_LINES, MAX_PLAN_BYTES } from './limits.js';
import type { Diagnostic, IterationLog, LogLines, LogRow, Plan, Point, Section } from './types.js';

// A plan with a long iteration log, as a writer in place holds it (store.ts, journal.ts): the head (front matter and
// Markdown up to the log table's first row), the rows read or written before (the base, never read again whole), and
// the rows written since (the tail). Edits get a short text, the head and the tail, in which the base rows are left
// out, and a plan of it whose log is the whole log (`view`): the numbering of a new row, the last row's time and the
// rows of a step are the whole log's, and the edits' offsets are the short text's. What an edit does to the short text
// it does to the file: a change of the head, rows added at the end. The write then parses the short text it made, not
// the whole file, writes the head over the old one and the new rows after the last byte, and hands the readers of this
// process the whole plan (`full`), whose text is put together only if someone asks for it.
//
// The head keeps its length in bytes across such writes: a room comment before `## Iteration log` gives up or takes
// the bytes the head's edits add or remove (`<!-- deepplan:room … -->`, made by the first whole write of a long log).

/** The room comment's opening and closing; what stands between them is spaces. */
export const ROOM_OPEN = '<!-- deepplan:room';
const ROOM_CLOSE = '-->';
/** The spaces a new room comment holds: the growth of the head between two whole writes. */
export const ROOM_SPACES = 2048;

/**
 * From how many bytes of rows a plan is written in place: some 200 to 500 rows, so that a plan of a usual budget (its
 * log a few kB) never gets the room comment, and a 1,000-row log of short rows is written in place too (a write in
 * place costs about what a whole write of a few kB does). A setting for tests, which write small plans in place.
 */
let inPlaceFrom = 32 * 1024;
export function setInPlaceFrom(bytes: number): number {
  const before = inPlaceFrom;
  inPlaceFrom = bytes;
  return before;
}

/** Rows written since the base before they join it (each join parses the head alone once). */
const TAIL_ROWS = 64;

/** Rows of the log from one parse: its lines, and where they stood in its text. */
interface Segment {
  lines: LogLines;
  count: number;
  /** The rows' text as it stood (for the whole text, when someone asks for it). */
  text: string;
  /** Where the rows start in the text of the plan they were parsed with, and the line of the first. */
  from: number;
  firstLine: number;
  pointAt: (offset: number) => Point;
  problems: () => Diagnostic[];
}

export interface LongLog {
  /** The plan of the short text: the head and the tail rows. */
  short: Plan;
  /** Where the tail rows start in `short.text` (the end of the head). */
  headChars: number;
  /** The head's bytes as the file holds them (their length never changes between whole writes). */
  headBytes: Buffer;
  /** The base rows, in order. */
  base: Segment[];
  baseCount: number;
  baseChars: number;
  baseBytes: number;
  /** The tail rows' bytes. */
  tailBytes: number;
  /** The plan as the file reads (its text put together when first asked for). */
  full: Plan;
  /** What edits get: the short text's plan with the whole log. */
  view: Plan;
}

/** The long logs of the plans this process wrote in place, by the whole plan readers get. */
let byPlan = new WeakMap<Plan, LongLog>();
registerMemo(() => {
  byPlan = new WeakMap();
});

export function longLogOf(plan: Plan): LongLog | null {
  return byPlan.get(plan) ?? null;
}

/**
 * `plan.text.slice(from, to)`, without putting a long log's whole text together (1.7 MB at 10,000 rows) when the range
 * lies above the log's rows, where the short text is the same: what a model step's prompt quotes (the Request).
 */
export function textOf(plan: Plan, from: number, to: number): string {
  const long = byPlan.get(plan);
  return long !== undefined && to <= long.headChars ? long.short.text.slice(from, to) : plan.text.slice(from, to);
}

/** What may follow the room comment: blank lines, then the log's heading (anywhere else it is a plan's own text). */
const BEFORE_LOG = /^-->[ \t]*\n(?:[ \t]*\n)* {0,3}##[ \t]+iteration log[ \t]*#*[ \t]*\n/i;

/**
 * Where the room comment's spaces are in `head`, or null without one: a line of its own right above the log's heading
 * (the same words in a code block or a phase's text are the plan's own, and never changed).
 */
function roomIn(head: string): { start: number; end: number } | null {
  const open = head.lastIndexOf(ROOM_OPEN);
  if (open === -1 || (open > 0 && head.charCodeAt(open - 1) !== 0x0a)) return null;
  const start = open + ROOM_OPEN.length;
  let end = start;
  while (head.charCodeAt(end) === 0x20) end++;
  return BEFORE_LOG.test(head.slice(end, end + 200)) ? { start, end } : null;
}

/** Where the log table's first row starts in a whole plan's text, when its rows run to the end of the file. */
function rowsStart(plan: Plan): number | null {
  const log = plan.log;
  if (!log || log.header === null || log.headerLine === null || !log.lines || log.insertOffset !== plan.text.length) return null;
  const section = plan.sections.find((candidate) => candidate.key === 'iteration log');
  if (!section) return null;
  const { text } = plan;
  let at = section.heading.start.offset;
  for (let line = section.heading.start.line; line < log.headerLine + 2; line++) {
    const lf = text.indexOf('\n', at);
    if (lf === -1) return null;
    at = lf + 1;
  }
  return at;
}

/** Whether the disable comments all lie before `line` (none in the rows, whose lines then shift). */
const disabledBefore = (plan: Plan, line: number) =>
  plan.disabled.every((range) => range.fromLine < line && (range.toLine === Number.POSITIVE_INFINITY || range.toLine < line));

/** Why a whole plan read from its file cannot be written in place; null when it can. */
export function inPlaceRefusal(plan: Plan, size: number): string | null {
  if (plan.bom) return 'a BOM';
  if (plan.eol !== '\n') return 'CRLF line breaks';
  if (plan.diagnostics.some((diagnostic) => diagnostic.severity === 'error')) return 'errors';
  const from = rowsStart(plan);
  if (from === null || !plan.text.endsWith('\n')) return 'no log table at the end of the file';
  if (size - Buffer.byteLength(plan.text.slice(0, from)) < inPlaceFrom) return 'a short log';
  if (!disabledBefore(plan, plan.log!.headerLine! + 2)) return 'disable comments in the log';
  if (roomIn(plan.text.slice(0, from)) === null) return 'no room';
  return null;
}

/**
 * The long log of a whole plan read from its file, when it can be written in place (inPlaceRefusal is null): the
 * head parsed alone (once per process and plan), the rows as read.
 */
export function splitLongLog(plan: Plan): LongLog {
  const from = rowsStart(plan)!;
  const head = plan.text.slice(0, from);
  const short = parsePlan(head, { path: plan.path });
  const log = plan.log!;
  const firstLine = log.headerLine! + 2;
  const rowsText = plan.text.slice(from);
  const segment: Segment = {
    lines: log.lines!,
    count: log.lines!.count,
    text: rowsText,
    from,
    firstLine,
    pointAt: plan.pointAt,
    problems: () => log.problems,
  };
  const headBytes = Buffer.from(head, 'utf8');
  return build({ short, headChars: head.length, headBytes, base: [segment], baseBytes: Buffer.byteLength(rowsText), tailBytes: 0 });
}

/** The part of the short text that stands after its head: the tail rows. */
const tailOf = (long: Pick<LongLog, 'short' | 'headChars'>) => long.short.text.slice(long.headChars);

/** What a write in place writes, and the long log after it. */
export interface InPlaceEdit {
  head: Buffer;
  rows: Buffer;
  long: LongLog;
  /** The plan's size before the write. */
  size: number;
}

/**
 * The write in place that makes the file what `edited` (an edit of `long`'s short text, made through update.ts) says,
 * or why it cannot be one: the edit changed more than the head and the end, the room is used up, the log's table
 * changed, the text would not read, or a limit would be passed. `revision` is the revision the write must carry.
 */
export function editInPlace(long: LongLog, edited: string, revision: number): InPlaceEdit | string {
  const before = long.short.text;
  const headEnd = mappedOffset(edited, before, long.headChars);
  if (headEnd === null) return 'the edit changed the rows';
  const tail = tailOf(long);
  if (edited.slice(headEnd, headEnd + tail.length) !== tail) return 'the edit changed the rows';
  const newHead = edited.slice(0, headEnd);
  const room = roomIn(newHead);
  if (room === null) return 'the room comment is gone';
  const spaces = room.end - room.start - (Buffer.byteLength(newHead) - long.headBytes.length);
  if (spaces < 1) return 'the room is used up';
  const head = newHead.slice(0, room.start) + ' '.repeat(spaces) + newHead.slice(room.end);
  const added = edited.slice(headEnd + tail.length);
  const text = head + tail + added;
  const short = parsePlan(text, { path: long.short.path });
  const fatal = short.diagnostics.find((diagnostic) => diagnostic.severity === 'error');
  if (fatal) return fatal.message;
  if (short.meta.state?.revision !== revision) return 'state lost';
  const log = short.log;
  const old = long.short.log!;
  if (!log || !log.lines || log.header === null || log.headerLine === null || log.header.join('|') !== old.header!.join('|')) return "the log's table changed";
  const firstLine = log.headerLine + 2;
  const start = short.pointAt(head.length);
  if (start.column !== 1 || start.line !== firstLine || log.insertOffset !== text.length || !text.endsWith('\n')) return "the log's table changed";
  const tailCount = old.lines!.count;
  if (log.lines.count < tailCount) return 'the edit changed the rows';
  if (!disabledBefore(short, firstLine)) return 'disable comments in the log';
  const headBytes = Buffer.from(head, 'utf8');
  if (headBytes.length !== long.headBytes.length) return 'the head changed length';
  const rows = Buffer.from(added, 'utf8');
  const size = long.headBytes.length + long.baseBytes + long.tailBytes;
  if (size + rows.length > MAX_PLAN_BYTES) return 'the plan would pass its size limit';
  if (firstLine - log.headingLine + long.baseCount + log.lines.count > MAX_LOG_LINES) return 'the log would pass its length limit';
  let next: Omit<LongLog, 'full' | 'view' | 'baseCount' | 'baseChars'> = {
    short,
    headChars: head.length,
    headBytes,
    base: long.base,
    baseBytes: long.baseBytes,
    tailBytes: long.tailBytes + rows.length,
  };
  if (log.lines.count >= TAIL_ROWS) {
    // The tail joins the base; the head is parsed alone, once per TAIL_ROWS rows.
    const joined: Segment = {
      lines: log.lines,
      count: log.lines.count,
      text: text.slice(head.length),
      from: head.length,
      firstLine,
      pointAt: short.pointAt,
      problems: () => log.problems,
    };
    next = {
      short: parsePlan(head, { path: short.path }),
      headChars: head.length,
      headBytes,
      base: [...long.base, joined],
      baseBytes: long.baseBytes + next.tailBytes,
      tailBytes: 0,
    };
  }
  return { head: headBytes, rows, long: build(next), size };
}

/** Whether `row` stands on `line`, else a copy that does (rows are frozen). */
const onLine = (row: LogRow, line: number) => (row.line === line ? row : Object.freeze({ ...row, line }));

/** The log's rows: the base segments' and then the short plan's, numbered as lines from `firstLine` on. */
class JoinedRows implements LogLines {
  readonly count: number;
  private readonly starts: number[] = [];
  private readonly moved = new Map<number, LogRow>();

  constructor(
    private readonly parts: Array<{ lines: LogLines; count: number }>,
    private readonly firstLine: number,
  ) {
    let count = 0;
    for (const part of parts) {
      this.starts.push(count);
      count += part.count;
    }
    this.count = count;
  }

  private partOf(index: number): number {
    let part = this.parts.length - 1;
    while (part > 0 && this.starts[part]! > index) part--;
    return part;
  }

  row(index: number): LogRow {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) throw new RangeError(`the log has no row ${index}`);
    const known = this.moved.get(index);
    if (known) return known;
    const part = this.partOf(index);
    const row = onLine(this.parts[part]!.lines.row(index - this.starts[part]!), this.firstLine + index);
    this.moved.set(index, row);
    return row;
  }

  containing(needle: string): number[] {
    const found: number[] = [];
    this.parts.forEach((part, k) => {
      for (const index of part.lines.containing(needle)) found.push(index + this.starts[k]!);
    });
    return found;
  }
}

/** The long log with its whole plan and its view for edits. */
function build(parts: Omit<LongLog, 'full' | 'view' | 'baseCount' | 'baseChars'>): LongLog {
  const { short, headChars, base } = parts;
  const log = short.log!;
  const firstLine = log.headerLine! + 2;
  const baseCount = base.reduce((sum, segment) => sum + segment.count, 0);
  const baseChars = base.reduce((sum, segment) => sum + segment.text.length, 0);
  const tailCount = log.lines!.count;
  const lines = new JoinedRows([...base, { lines: log.lines!, count: tailCount }], firstLine);
  const allRows = () => Array.from({ length: lines.count }, (_, index) => lines.row(index));
  const total = short.text.length + baseChars;
  const long = { ...parts, baseCount, baseChars } as LongLog;

  // What edits get: the short text's plan (its offsets), the whole log (its rows).
  const viewLog = { ...withoutLazy(log) } as IterationLog;
  lazyProperty(viewLog, 'rows', allRows);
  lazyProperty(viewLog, 'problems', () => log.problems);
  setLines(viewLog, lines);
  long.view = { ...short, log: viewLog };

  // What readers get: the plan as its file reads, the text put together when asked for.
  const fullLog: IterationLog = { headingLine: log.headingLine, header: log.header, headerLine: log.headerLine, insertOffset: total } as IterationLog;
  lazyProperty(fullLog, 'rows', allRows);
  lazyProperty(fullLog, 'problems', () => {
    const problems: Diagnostic[] = [];
    let at = 0;
    for (const segment of base) {
      for (const problem of segment.problems()) problems.push({ ...problem, line: problem.line - segment.firstLine + firstLine + at });
      at += segment.count;
    }
    for (const problem of log.problems) problems.push(problem.line >= firstLine ? { ...problem, line: problem.line + baseCount } : problem);
    return problems;
  });
  setLines(fullLog, lines);
  // A section that ends where the short text ends (the log's, and the one before it when the Markdown part has no
  // heading after it) ends where the whole text ends.
  const sections: Section[] = short.sections.map((section) => (section.endOffset === short.text.length ? { ...section, endOffset: total } : section));
  const pointAt = (offset: number): Point => {
    if (offset < headChars) return short.pointAt(offset);
    let at = headChars;
    let before = 0;
    for (const segment of base) {
      if (offset < at + segment.text.length) {
        const point = segment.pointAt(segment.from + offset - at);
        return { line: point.line - segment.firstLine + firstLine + before, column: point.column, offset };
      }
      at += segment.text.length;
      before += segment.count;
    }
    const point = short.pointAt(Math.min(offset - baseChars, short.text.length));
    return { line: point.line + baseCount, column: point.column, offset };
  };
  const full = { ...short, sections, log: fullLog, pointAt } as Plan;
  lazyProperty(full, 'text', () => short.text.slice(0, headChars) + base.map((segment) => segment.text).join('') + short.text.slice(headChars));
  long.full = full;
  byPlan.set(full, long);
  return long;
}

/** A log's own enumerable fields, without reading its lazy ones (`rows`, `problems`). */
function withoutLazy(log: IterationLog): Omit<IterationLog, 'rows' | 'problems'> {
  return { headingLine: log.headingLine, header: log.header, headerLine: log.headerLine, insertOffset: log.insertOffset };
}

/**
 * `edited` (what the edits of a whole write made of `original`, the text `plan` was parsed from; `size`: its file's
 * bytes) with room for the head to grow: a room comment put before `## Iteration log` when the log is long enough to
 * be written in place and the plan has none, or its spaces made whole again when a write used them up. Null when it
 * needs none, or when the edits changed the places it goes.
 */
export function withRoom(edited: string, original: string, plan: Plan, size: number): string | null {
  if (plan.bom || plan.eol !== '\n') return null;
  const from = rowsStart(plan);
  if (from === null) return null;
  const head = plan.text.slice(0, from);
  if (size - Buffer.byteLength(head) < inPlaceFrom) return null;
  const room = roomIn(head);
  if (room !== null) {
    if (room.end - room.start >= ROOM_SPACES) return null;
    const start = mappedOffset(edited, original, room.start, 'at');
    if (start === null || mappedOffset(edited, original, room.end, 'at') !== start + room.end - room.start) return null;
    return edited.slice(0, start) + ' '.repeat(ROOM_SPACES) + edited.slice(start + room.end - room.start);
  }
  const heading = plan.sections.find((section) => section.key === 'iteration log')!.heading.start.offset;
  const at = mappedOffset(edited, original, heading, 'at');
  if (at === null) return null;
  const blank = at >= 2 && edited.charCodeAt(at - 1) === 0x0a && edited.charCodeAt(at - 2) === 0x0a ? '' : '\n';
  return `${edited.slice(0, at)}${blank}${ROOM_OPEN}${' '.repeat(ROOM_SPACES)}${ROOM_CLOSE}\n\n${edited.slice(at)}`;
}
