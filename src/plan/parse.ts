import { isUtf8 } from 'node:buffer';
import type { Heading, List, ListItem, Node as MdNode, Root, RootContent, Table } from 'mdast';
import { toString } from 'mdast-util-to-string';
import { gfmTableFromMarkdown } from 'mdast-util-gfm-table';
import { gfmTaskListItemFromMarkdown } from 'mdast-util-gfm-task-list-item';
import { gfmTable } from 'micromark-extension-gfm-table';
import { gfmTaskListItem } from 'micromark-extension-gfm-task-list-item';
import remarkParse from 'remark-parse';
import { unified, type Processor } from 'unified';
import { isMap, parseDocument } from 'yaml';
import { PlanMetaSchema, type PlanMeta } from './schema.js';
import {
  detectEol,
  endOfLine,
  isPlaceholder,
  lineStarts,
  normaliseKey,
  normaliseSkillName,
  pointFinder,
  splitList,
  splitTableRow,
  splitVerify,
  startOfLine,
  yamlErrorMessage,
} from './text.js';
import type {
  Criterion,
  Diagnostic,
  DisableRange,
  ExcludedSkill,
  FrontMatter,
  IterationLog,
  ListEntry,
  LogRow,
  MappedSkill,
  Phase,
  PhaseField,
  Plan,
  Point,
  Section,
  SkillAudit,
  Span,
  Step,
} from './types.js';

/** Plans larger than this are refused unread. A 1,000-row log is about 150 kB. */
export const MAX_PLAN_BYTES = 5 * 1024 * 1024;
/**
 * The front matter is a few dozen lines; anything this large is not a plan. `yaml` checks duplicate keys pairwise,
 * so its time grows with the square of the key count (20,000 keys: several seconds).
 */
const MAX_FRONT_MATTER_CHARS = 32 * 1024;
/** YAML aliases allowed when expanding the front matter (billion-laughs guard). */
const MAX_YAML_ALIASES = 100;
/** Containers (block quotes, list indentation) nested deeper than this are refused before Markdown parsing. */
const MAX_NESTING = 32;
/**
 * The Markdown part of a plan (everything but the iteration log) is small: the 16-phase example plan is 9 kB, 230
 * lines, 113 block quote and list levels, 21 emphasis and link markers and 61 `|`. These limits keep remark's parse
 * time well under a second, which the text's size alone does not: 1 MB of ordinary plan text takes seconds, and so
 * do 20,000 list items or table rows, a few thousand alternating `*_` or `]` in one paragraph (micromark matches
 * emphasis and link delimiters pairwise), 1,000 lines of `> - > - x`, or one 100 kB line of `[`.
 */
const MAX_BODY_CHARS = 64 * 1024;
const MAX_BODY_LINES = 1_000;
const MAX_LINE_CHARS = 10_000;
/** Characters whose count, not the text's length, sets remark's time, and how many of each the Markdown part may hold. */
const MAX_MARKUP: ReadonlyArray<{ what: string; chars: string; limit: number }> = [
  { what: 'emphasis and link markers (`*`, `_`, `~`, `[`, `]`)', chars: '*_~[]', limit: 2_000 },
  { what: 'table cell separators (`|`)', chars: '|', limit: 3_000 },
];
/** Character code → index in MAX_MARKUP. */
const MARKUP_KIND: Record<number, number> = Object.fromEntries(
  MAX_MARKUP.flatMap((markup, index) => [...markup.chars].map((char) => [char.charCodeAt(0), index])),
);
/** Block quote and list levels summed over the lines (a line `> - x` counts 2): each line re-checks its containers. */
const MAX_CONTAINER_LEVELS = 1_000;
/** The iteration log is read line by line; 10,000 lines is ten times the longest budget. */
const MAX_LOG_LINES = 10_000;
/** `deepplan-disable` / `deepplan-enable` comments; each finding is checked against every range. */
const MAX_DISABLE_COMMENTS = 200;

export const LOG_HEADER = ['#', 'When', 'Phase', 'Action', 'Result', 'Signal', 'Notes'] as const;

// The front matter is cut off before remark sees the text (it is read with `yaml` directly): remark-frontmatter
// would only hand back the same raw text, and it costs a third of the parse time on a typical plan.
const markdown = unified().use(remarkParse).use(gfmTablesAndTaskLists);

/**
 * The two GFM extensions the format uses (PLAN_FORMAT.md: "CommonMark with GFM tables and task lists"), without
 * remark-gfm's autolink literals, footnotes and strikethrough, which plans do not need and which cost a quarter of
 * the Markdown parse time.
 */
function gfmTablesAndTaskLists(this: Processor): void {
  const data = this.data();
  (data.micromarkExtensions ??= []).push(gfmTable(), gfmTaskListItem());
  (data.fromMarkdownExtensions ??= []).push(gfmTableFromMarkdown(), gfmTaskListItemFromMarkdown());
}

function fileError(message: string, line = 1, column = 1): Diagnostic {
  return { ruleId: 'parse', severity: 'error', message, line, column };
}

/**
 * Turns the bytes of a file into plan text, or the reason it cannot be one. Bytes over the size limit, binary
 * content and invalid UTF-8 are refused here so the parser only ever sees text.
 */
export function decodePlan(bytes: Uint8Array): { text: string } | { error: Diagnostic } {
  if (bytes.byteLength > MAX_PLAN_BYTES) {
    return { error: fileError(`file is ${formatMb(bytes.byteLength)}; plan files are limited to ${formatMb(MAX_PLAN_BYTES)}`) };
  }
  if (bytes.indexOf(0) !== -1) return { error: fileError('file is binary (it contains NUL bytes), not a Markdown plan') };
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isUtf8(buffer)) {
    const at = firstInvalidUtf8(buffer);
    const line = countLines(buffer, at);
    return { error: fileError(`file is not valid UTF-8 (first bad byte at offset ${at})`, line) };
  }
  // The same bytes as last time (the engine reads its plan again, unchanged, at the start of its first write): the
  // same text, without decoding them again.
  if (lastDecoded !== null && lastDecoded.bytes.equals(buffer)) return { text: lastDecoded.text };
  const text = buffer.toString('utf8');
  lastDecoded = { bytes: Buffer.from(buffer), text };
  return { text };
}

/** The bytes decodePlan decoded last (its own copy) and their text. */
let lastDecoded: { bytes: Buffer; text: string } | null = null;

function formatMb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function formatKb(chars: number): string {
  return `${Math.ceil(chars / 1024)} kB`;
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

interface ParseOptions {
  path?: string | null;
}

/** Parses plan text into a typed Plan. Never throws: what cannot be read becomes `diagnostics`. */
export function parsePlan(input: string, options: ParseOptions = {}): Plan {
  const bom = input.charCodeAt(0) === 0xfeff;
  const text = bom ? input.slice(1) : input;
  const starts = lineStarts(text);
  const pointAt = pointFinder(starts);
  const plan: Plan = {
    path: options.path ?? null,
    text,
    bom,
    eol: detectEol(text),
    frontMatter: null,
    meta: {},
    sections: [],
    criteria: null,
    constraints: null,
    stakeholders: null,
    skills: null,
    phases: [],
    learnings: null,
    log: null,
    disabled: [],
    diagnostics: [],
    pointAt,
  };
  try {
    readPlan(plan, starts);
  } catch (error) {
    // The guards above should make this unreachable; a parser bug must still not crash a lint run.
    plan.diagnostics.push(fileError(`could not parse the file: ${error instanceof Error ? error.message : String(error)}`));
  }
  return plan;
}

function readPlan(plan: Plan, starts: number[]): void {
  const { text } = plan;
  if (text.length > MAX_PLAN_BYTES) {
    plan.diagnostics.push(fileError(`file is ${formatMb(text.length)}; plan files are limited to ${formatMb(MAX_PLAN_BYTES)}`));
    return;
  }
  if (text.includes('\0')) {
    plan.diagnostics.push(fileError('file is binary (it contains NUL bytes), not a Markdown plan'));
    return;
  }
  const bodyStart = readFrontMatter(plan, starts);

  const logBounds = findLogSection(text, starts, bodyStart);
  const pieces: Array<{ from: number; to: number }> = [];
  if (logBounds) {
    pieces.push({ from: bodyStart, to: logBounds.start });
    if (logBounds.end < text.length) pieces.push({ from: logBounds.end, to: text.length });
  } else {
    pieces.push({ from: bodyStart, to: text.length });
  }
  const nesting = deepestNesting(text, starts, bodyStart);
  if (nesting) {
    plan.diagnostics.push(fileError(`containers nested more than ${MAX_NESTING} deep; a plan never needs that`, nesting.line));
    return;
  }
  const tooLarge = markdownLimit(text, starts, pieces, plan.pointAt);
  if (tooLarge) {
    plan.diagnostics.push(tooLarge);
    return;
  }
  if (logBounds && logBounds.endIndex - logBounds.headingIndex > MAX_LOG_LINES) {
    const lines = logBounds.endIndex - logBounds.headingIndex;
    plan.diagnostics.push(fileError(`the iteration log is ${lines} lines long; the limit is ${MAX_LOG_LINES}`, logBounds.headingIndex + 1));
    return;
  }

  const nodes: RootContent[] = [];
  for (const piece of pieces) nodes.push(...parseMarkdown(text, piece.from, piece.to, plan.pointAt));
  // A disable comment shown inside code (a fenced example, inline code) is text, not a comment.
  const disabled = readDisableComments(text, bodyStart, plan.pointAt, codeSpans(nodes));
  if (disabled === null) {
    plan.diagnostics.push(fileError(`more than ${MAX_DISABLE_COMMENTS} deepplan-disable/enable comments; a plan never needs that`));
    return;
  }
  plan.disabled = disabled;

  const sections = splitSections(text, nodes);
  if (logBounds) {
    const heading = spanOf(plan.pointAt, logBounds.start, endOfLine(text, logBounds.start));
    sections.push({ title: 'Iteration log', key: 'iteration log', heading, endOffset: logBounds.end, nodes: [] });
    sections.sort((a, b) => a.heading.start.offset - b.heading.start.offset);
    plan.log = readLog(text, starts, logBounds);
  }
  plan.sections = sections.map(({ nodes: _nodes, ...section }) => section);

  for (const section of sections) {
    switch (section.key) {
      case 'success criteria':
        if (!plan.criteria) plan.criteria = readCriteria(text, section.nodes, plan.pointAt);
        break;
      case 'constraints':
        if (!plan.constraints) plan.constraints = readEntries(text, section.nodes);
        break;
      case 'stakeholders':
        if (!plan.stakeholders) plan.stakeholders = readEntries(text, section.nodes);
        break;
      case 'skills':
        if (!plan.skills) plan.skills = readSkills(text, section.nodes);
        break;
      case 'phases':
        if (plan.phases.length === 0) plan.phases = readPhases(plan, section);
        break;
      case 'running learnings':
        if (!plan.learnings) plan.learnings = readEntries(text, section.nodes);
        break;
      default:
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Front matter

const FENCE_LINE = /^---[ \t]*\r?$/;
const FENCE_END_LINE = /^(---|\.\.\.)[ \t]*\r?$/;

/** Where line `index` ends: its line feed, or the end of the text. */
function lineEnd(text: string, starts: number[], index: number): number {
  const next = starts[index + 1];
  return next === undefined ? text.length : next - 1;
}

function lineText(text: string, starts: number[], index: number): string {
  return text.slice(starts[index]!, lineEnd(text, starts, index));
}

/**
 * Where the front matter's YAML lies: between the opening `---` line and the closing `---` (or `...`) line. Without
 * `starts`, the lines are found up to the closing line only (a surgical edit of the front matter calls this on a
 * file that is mostly iteration log).
 */
export function locateFrontMatter(text: string, starts?: number[]): { contentStart: number; contentEnd: number; close: number } | 'missing' | 'unclosed' {
  if (!starts) {
    const firstBreak = text.indexOf('\n');
    if (firstBreak === -1 || !FENCE_LINE.test(text.slice(0, firstBreak))) return 'missing';
    for (let lineStart = firstBreak + 1, close = 1; ; close++) {
      const lineBreak = text.indexOf('\n', lineStart);
      if (FENCE_END_LINE.test(text.slice(lineStart, lineBreak === -1 ? text.length : lineBreak))) return { contentStart: firstBreak + 1, contentEnd: lineStart, close };
      if (lineBreak === -1) return 'unclosed';
      lineStart = lineBreak + 1;
    }
  }
  if (!FENCE_LINE.test(lineText(text, starts, 0)) || starts.length < 2) return 'missing';
  for (let i = 1; i < starts.length; i++) {
    if (FENCE_END_LINE.test(lineText(text, starts, i))) return { contentStart: starts[1]!, contentEnd: starts[i]!, close: i };
  }
  return 'unclosed';
}

function readFrontMatter(plan: Plan, starts: number[]): number {
  const { text } = plan;
  const located = locateFrontMatter(text, starts);
  if (located === 'missing' || located === 'unclosed') {
    plan.diagnostics.push({
      ruleId: 'front-matter',
      severity: 'error',
      message: located === 'missing' ? 'the file does not start with YAML front matter (a `---` line)' : 'the front matter is not closed by a `---` line',
      line: 1,
      column: 1,
    });
    return 0;
  }
  const close = located.close;
  if (starts[close]! - starts[1]! > MAX_FRONT_MATTER_CHARS) {
    plan.diagnostics.push({
      ruleId: 'front-matter',
      severity: 'error',
      message: `the front matter is ${formatKb(starts[close]! - starts[1]!)}; the limit is ${formatKb(MAX_FRONT_MATTER_CHARS)}`,
      line: 1,
      column: 1,
    });
    return endOfLine(text, starts[close]!);
  }
  const contentStart = starts[1]!;
  const contentEnd = starts[close]!;
  const frontMatter: FrontMatter = { contentStart, contentEnd, line: 1, doc: null, data: null };
  plan.frontMatter = frontMatter;
  const source = text.slice(contentStart, contentEnd);
  const doc = parseDocument(source, { uniqueKeys: true, prettyErrors: false, keepSourceTokens: false });
  if (doc.errors.length > 0) {
    for (const error of doc.errors.slice(0, 5)) {
      const at = plan.pointAt(contentStart + Math.max(0, error.pos[0]));
      plan.diagnostics.push({
        ruleId: 'front-matter',
        severity: 'error',
        message: `YAML: ${yamlErrorMessage(error)}`,
        line: at.line,
        column: at.column,
      });
    }
    return endOfLine(text, contentEnd);
  }
  frontMatter.doc = doc;
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    plan.diagnostics.push({
      ruleId: 'front-matter',
      severity: 'error',
      message: `YAML: ${error instanceof Error ? yamlErrorMessage(error) : 'could not be read'}`,
      line: 2,
      column: 1,
    });
    frontMatter.doc = null;
    return endOfLine(text, contentEnd);
  }
  if (!isMap(doc.contents) || data === null || typeof data !== 'object' || Array.isArray(data)) {
    plan.diagnostics.push({
      ruleId: 'front-matter',
      severity: 'error',
      message: 'the front matter must be a YAML mapping of keys to values',
      line: 2,
      column: 1,
    });
    return endOfLine(text, contentEnd);
  }
  frontMatter.data = data as Record<string, unknown>;
  plan.meta = readMeta(frontMatter.data);
  return endOfLine(text, contentEnd);
}

/** Keeps every top-level field that validates on its own, so one bad field does not hide the others from the rules. */
export function readMeta(data: Record<string, unknown>): Partial<PlanMeta> {
  const meta: Record<string, unknown> = {};
  const shape = PlanMetaSchema.shape as Record<string, { safeParse(value: unknown): { success: boolean; data?: unknown } }>;
  for (const [key, schema] of Object.entries(shape)) {
    if (!(key in data)) continue;
    const result = schema.safeParse(data[key]);
    if (result.success) meta[key] = result.data;
  }
  return meta as Partial<PlanMeta>;
}

// ---------------------------------------------------------------------------------------------------------------
// Line scanning: the iteration log, nesting, disable comments

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;
const LOG_HEADING = /^ {0,3}##[ \t]+iteration log[ \t]*#*[ \t]*\r?$/i;
const SECTION_HEADING = /^ {0,3}#{1,2}(?:[ \t]|\r?$)/;

interface LogBounds {
  start: number;
  end: number;
  headingIndex: number;
  endIndex: number;
}

/** Finds `## Iteration log` and the next level-1/2 heading, skipping fenced code. */
function findLogSection(text: string, starts: number[], from: number): LogBounds | null {
  let fence: string | null = null;
  let found: number | null = null;
  for (let i = 0; i < starts.length; i++) {
    const start = starts[i]!;
    if (start < from) continue;
    // Only a line whose first character after at most three spaces is a backtick, a tilde or `#` can open or close a
    // fence or be a heading; the others (the log's rows among them) are passed over without being sliced.
    let at = start;
    while (at < start + 3 && text.charCodeAt(at) === 0x20) at++;
    const first = text.charCodeAt(at);
    if (first !== 0x60 && first !== 0x7e && first !== 0x23) continue;
    const line = lineText(text, starts, i);
    const fenceMatch = FENCE_OPEN.exec(line);
    if (fence) {
      if (fenceMatch && fenceMatch[1]![0] === fence[0] && fenceMatch[1]!.length >= fence.length && line.trim() === fenceMatch[1]) fence = null;
      continue;
    }
    if (fenceMatch) {
      fence = fenceMatch[1]!;
      continue;
    }
    if (found === null) {
      if (LOG_HEADING.test(line)) found = i;
    } else if (SECTION_HEADING.test(line)) {
      return { start: starts[found]!, end: starts[i]!, headingIndex: found, endIndex: i };
    }
  }
  if (found === null) return null;
  return { start: starts[found]!, end: text.length, headingIndex: found, endIndex: starts.length };
}

function deepestNesting(text: string, starts: number[], from: number): { line: number } | null {
  for (let i = 0; i < starts.length; i++) {
    if (starts[i]! < from) continue;
    const { depth, indent } = containerLevels(text, starts[i]!, lineEnd(text, starts, i));
    // Each list level needs at least two columns of indentation.
    if (depth > MAX_NESTING || indent / 2 > MAX_NESTING) return { line: i + 1 };
  }
  return null;
}

/**
 * The container markers (`>`, bullets) and the indentation the line `text[start, end)` starts with, and the levels
 * they amount to. Read in place: every line of the file is measured, the log's rows included.
 */
function containerLevels(text: string, start: number, end: number): { depth: number; indent: number; levels: number } {
  let depth = 0;
  let indent = 0;
  for (let at = start; at < end; at++) {
    const code = text.charCodeAt(at);
    if (code === 0x3e || code === 0x2d || code === 0x2a || code === 0x2b) depth++; // > - * +
    else if (code === 0x20) indent++;
    else if (code === 0x09) indent += 4;
    else break;
  }
  return { depth, indent, levels: Math.max(depth, Math.floor(indent / 2)) };
}

/** `<!--\s*deepplan-(disable|enable)\b([^>]*?)-->`, matched in two steps so that text without `>` costs linear time. */
const DISABLE_COMMENT_OPEN = /<!--\s*deepplan-(disable|enable)\b/g;

/** Where code lies (code blocks and inline code), as [start, end) offsets in document order. */
function codeSpans(nodes: readonly RootContent[]): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  const walk = (node: MdNode) => {
    if ((node.type === 'code' || node.type === 'inlineCode') && node.position) {
      spans.push([node.position.start.offset ?? 0, node.position.end.offset ?? 0]);
      return;
    }
    for (const child of (node as { children?: MdNode[] }).children ?? []) walk(child);
  };
  for (const node of nodes) walk(node);
  return spans;
}

/** The disable ranges, or null when there are more comments than MAX_DISABLE_COMMENTS. Comments inside `code` are skipped. */
function readDisableComments(text: string, from: number, pointAt: (offset: number) => Point, code: Array<[number, number]> = []): DisableRange[] | null {
  const ranges: DisableRange[] = [];
  // Most plans have no comment at all: one scan for `<!--` instead of the pattern over the whole file (and its log).
  if (text.indexOf('<!--', from) === -1) return ranges;
  const open = (rules: string[] | null, fromLine: number, except?: string[]) => {
    ranges.push({ rules, ...(except ? { except } : {}), fromLine, toLine: Number.POSITIVE_INFINITY });
  };
  // The first heading of the body: a `#` comment line in the front matter is YAML, not a heading.
  const headingPattern = /^ {0,3}#{1,6}[ \t]/gm;
  headingPattern.lastIndex = from;
  const firstHeading = headingPattern.exec(text);
  const firstHeadingOffset = firstHeading ? firstHeading.index : text.length;
  let count = 0;
  let consumed = from;
  let nextGt = -1;
  DISABLE_COMMENT_OPEN.lastIndex = 0;
  for (const match of text.matchAll(DISABLE_COMMENT_OPEN)) {
    if (match.index < consumed) continue;
    const bodyStart = match.index + match[0].length;
    // The comment's text runs to the first `>`, which must be the end of `-->`. Matches only move forward, so the
    // position of that `>` is searched again only once the previous one is behind.
    if (nextGt < bodyStart) {
      nextGt = text.indexOf('>', bodyStart);
      if (nextGt === -1) break;
    }
    if (nextGt - 2 < bodyStart || text[nextGt - 1] !== '-' || text[nextGt - 2] !== '-') continue;
    consumed = nextGt + 1;
    if (code.some(([start, end]) => match.index >= start && match.index < end)) continue;
    if (++count > MAX_DISABLE_COMMENTS) return null;
    const rules = text.slice(bodyStart, nextGt - 2).trim().split(/[\s,]+/).filter(Boolean);
    const at = pointAt(match.index);
    // A comment above the first heading speaks for the whole file, front matter included.
    const line = match.index < firstHeadingOffset ? 1 : at.line;
    if (match[1] === 'disable') {
      open(rules.length > 0 ? rules : null, line);
      continue;
    }
    for (const range of [...ranges]) {
      if (range.toLine !== Number.POSITIVE_INFINITY) continue;
      if (rules.length === 0) {
        range.toLine = at.line;
      } else if (range.rules === null) {
        // Enabling some rules inside a disable-all: everything else stays off.
        range.toLine = at.line;
        open(null, at.line + 1, [...(range.except ?? []), ...rules]);
      } else if (range.rules.some((rule) => rules.includes(rule))) {
        range.toLine = at.line;
        const rest = range.rules.filter((rule) => !rules.includes(rule));
        if (rest.length > 0) open(rest, at.line + 1);
      }
    }
  }
  return ranges;
}

/**
 * Why the Markdown part (`pieces`, which start and end at line starts) is too large to hand to remark, if it is:
 * see MAX_BODY_CHARS. Everything here is one linear pass.
 */
function markdownLimit(
  text: string,
  starts: number[],
  pieces: Array<{ from: number; to: number }>,
  pointAt: (offset: number) => Point,
): Diagnostic | null {
  const chars = pieces.reduce((sum, piece) => sum + piece.to - piece.from, 0);
  if (chars > MAX_BODY_CHARS) {
    return fileError(`the plan's text outside the iteration log is ${formatKb(chars)}; the limit is ${formatKb(MAX_BODY_CHARS)}`);
  }
  let lines = 0;
  let levels = 0;
  const counts = MAX_MARKUP.map(() => 0);
  for (const piece of pieces) {
    for (let i = pointAt(piece.from).line - 1; i < starts.length && starts[i]! < piece.to; i++) {
      lines++;
      const end = Math.min(i + 1 < starts.length ? starts[i + 1]! - 1 : text.length, piece.to);
      if (end - starts[i]! > MAX_LINE_CHARS) {
        return fileError(`line ${i + 1} is ${end - starts[i]!} characters long; the limit outside the iteration log is ${MAX_LINE_CHARS}`, i + 1);
      }
      levels += containerLevels(text, starts[i]!, lineEnd(text, starts, i)).levels;
    }
    for (let at = piece.from; at < piece.to; at++) {
      const kind = MARKUP_KIND[text.charCodeAt(at)];
      if (kind !== undefined) counts[kind]!++;
    }
  }
  const limit = (what: string, count: number, max: number) =>
    fileError(`the plan's text outside the iteration log has ${count} ${what}; the limit is ${max}`);
  if (lines > MAX_BODY_LINES) return limit('lines', lines, MAX_BODY_LINES);
  if (levels > MAX_CONTAINER_LEVELS) return limit('block quote and list levels summed over its lines', levels, MAX_CONTAINER_LEVELS);
  for (let k = 0; k < MAX_MARKUP.length; k++) {
    if (counts[k]! > MAX_MARKUP[k]!.limit) return limit(MAX_MARKUP[k]!.what, counts[k]!, MAX_MARKUP[k]!.limit);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// The iteration log: a fixed-grammar table read line by line (remark costs ~0.4 ms a row here)

/** A log row as read from its line, which is all it depends on (its line number is where the line is now). */
type LoggedRow = Omit<LogRow, 'line'>;

/**
 * The rows of the logs read last, each with the text of their lines (line breaks included), newest first. One
 * `deepplan run` iteration reads its plan about ten times, and between two reads the log only ever grows at its end:
 * a log that starts with exactly the lines of an entry takes its rows as they are and reads only the lines after
 * them. A few entries, so that a process reading several plans in turn (a benchmark, a test run) keeps each one's.
 * Each parse gets its own row objects; the cells arrays are shared, and nothing changes them.
 */
const ROWS_CACHE_SIZE = 4;
const rowsCache: Array<{ source: string; rows: LoggedRow[] }> = [];

function readLog(text: string, starts: number[], bounds: LogBounds): IterationLog {
  const log: IterationLog = {
    headingLine: bounds.headingIndex + 1,
    header: null,
    headerLine: null,
    rows: [],
    problems: [],
    insertOffset: null,
  };
  let i = bounds.headingIndex + 1;
  while (i < bounds.endIndex && !/^ {0,3}\|/.test(lineText(text, starts, i))) i++;
  if (i >= bounds.endIndex) return log;
  const problem = (message: string, index: number) =>
    log.problems.push({ ruleId: 'iteration-log', severity: 'error', message, line: index + 1, column: 1 });
  log.header = splitTableRow(lineText(text, starts, i));
  log.headerLine = i + 1;
  const delimiter = lineText(text, starts, i + 1);
  if (i + 1 >= bounds.endIndex || !/^ {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*\r?$/.test(delimiter)) {
    problem('the iteration log table has no delimiter row (`| --- | --- | ... |`) under its header', i + 1);
    log.insertOffset = i + 1 < starts.length ? starts[i + 1]! : text.length;
    return log;
  }
  let last = i + 1;
  const width = log.header.length;
  const first = i + 2;
  const firstStart = first < starts.length ? starts[first]! : text.length;
  const push = (record: LoggedRow, index: number) => {
    if (record.cells.length !== width) problem(`log row has ${record.cells.length} cells; the header has ${width}`, index);
    const { cells, number, when, phase, action, result, signal, notes } = record;
    log.rows.push({ cells, number, when, phase, action, result, signal, notes, line: index + 1 });
  };
  // Rows read before, when this log starts with exactly their lines: only what was appended since is read. (A slice
  // compared with === is compared as a block; startsWith goes a character at a time, ~0.5 ms on 1,000 rows.)
  const hit = first < bounds.endIndex ? rowsCache.findIndex((entry) => text.slice(firstStart, firstStart + entry.source.length) === entry.source) : -1;
  const known = hit === -1 ? [] : rowsCache[hit]!.rows;
  if (hit !== -1) rowsCache.splice(hit, 1);
  known.forEach((record, k) => push(record, first + k));
  const records = [...known];
  let index = first + known.length;
  if (known.length > 0) last = index - 1;
  for (; index < bounds.endIndex; index++) {
    // A row is a line that starts with `|` after at most three spaces (/^ {0,3}\|/), tested in place.
    const start = starts[index]!;
    let at = start;
    while (at < start + 3 && text.charCodeAt(at) === 0x20) at++;
    let end = lineEnd(text, starts, index);
    if (at >= end || text.charCodeAt(at) !== 0x7c) break;
    last = index;
    if (text.charCodeAt(end - 1) === 0x0d) end--;
    const cells = splitTableRow(text.slice(start, end));
    const numberText = cells[0] ?? '';
    const record: LoggedRow = {
      cells,
      number: /^\d+$/.test(numberText) ? Number(numberText) : null,
      when: cells[1] ?? '',
      phase: cells[2] ?? '',
      action: cells[3] ?? '',
      result: cells[4] ?? '',
      signal: cells[5] ?? '',
      notes: cells.length > 7 ? cells.slice(6).join(' | ') : (cells[6] ?? ''),
    };
    records.push(record);
    push(record, index);
  }
  // Remembered: the rows whose line ends with a line break (a last line without one may still grow).
  const complete = last + 1 < starts.length ? records.length : records.length - 1;
  if (complete > 0) {
    // The entry this log grew from is replaced by it; the others move down, the oldest goes.
    rowsCache.unshift({ source: text.slice(firstStart, starts[first + complete]!), rows: records.slice(0, complete) });
    rowsCache.length = Math.min(rowsCache.length, ROWS_CACHE_SIZE);
  }
  log.insertOffset = last + 1 < starts.length ? starts[last + 1]! : text.length;
  return log;
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown

/**
 * Trees of the Markdown parts parsed last, by their text. One `deepplan run` iteration parses its plan about ten
 * times (each read and each surgical edit) while only the front matter and the log change, and neither is Markdown
 * that remark reads: without the cache remark is most of an iteration's parsing, and it grows with the running
 * learnings. A cached tree is never handed out: each parse gets its own copy (see copyNode).
 */
const MARKDOWN_CACHE_SIZE = 8;
const markdownCache = new Map<string, Root>();

function parseMarkdown(text: string, from: number, to: number, pointAt: (offset: number) => Point): RootContent[] {
  const source = text.slice(from, to);
  let tree = markdownCache.get(source);
  if (tree) {
    markdownCache.delete(source);
  } else {
    tree = markdown.parse(source) as Root;
    if (markdownCache.size >= MARKDOWN_CACHE_SIZE) markdownCache.delete(markdownCache.keys().next().value!);
  }
  markdownCache.set(source, tree);
  const base = pointAt(from);
  return tree.children.map((child) => copyNode(child, base));
}

/**
 * A copy of `node` and its descendants with every position moved by `base` (where the part starts in the file): new
 * node, position and children objects, so the plan's readers never share or change the cached tree. A plain
 * recursive walk (unist-util-visit costs 15 times as much here).
 */
function copyNode<T extends MdNode>(node: T, base: Point): T {
  const copy = { ...node };
  const position = node.position;
  if (position) copy.position = { start: shift(position.start, base), end: shift(position.end, base) };
  const children = (node as { children?: MdNode[] }).children;
  if (children) (copy as { children?: MdNode[] }).children = children.map((child) => copyNode(child, base));
  return copy;
}

function shift(point: { line: number; column: number; offset?: number }, base: Point) {
  return { line: point.line + base.line - 1, column: point.column, offset: (point.offset ?? 0) + base.offset };
}

interface RawSection extends Section {
  nodes: RootContent[];
}

function startOffset(node: MdNode): number {
  return node.position?.start.offset ?? 0;
}

function endOffset(node: MdNode): number {
  return node.position?.end.offset ?? 0;
}

function spanOf(pointAt: (offset: number) => Point, start: number, end: number): Span {
  return { start: pointAt(start), end: pointAt(end) };
}

function pointOf(node: MdNode): Point {
  const start = node.position?.start;
  return { line: start?.line ?? 1, column: start?.column ?? 1, offset: start?.offset ?? 0 };
}

function splitSections(text: string, nodes: RootContent[]): RawSection[] {
  const sections: RawSection[] = [];
  let current: RawSection | null = null;
  for (const node of nodes) {
    if (node.type === 'heading' && node.depth <= 2) {
      if (current) current.endOffset = startOffset(node);
      current = null;
      if (node.depth === 2) {
        const title = toString(node).trim();
        current = {
          title,
          key: normaliseKey(title),
          heading: { start: pointOf(node), end: { ...pointOf(node), offset: endOffset(node) } },
          endOffset: text.length,
          nodes: [],
        };
        sections.push(current);
      }
      continue;
    }
    current?.nodes.push(node);
  }
  return sections;
}

function itemText(text: string, item: ListItem): string {
  const first = item.children[0];
  if (!first) return '';
  return text.slice(startOffset(first), endOffset(item)).trim();
}

function firstList(nodes: RootContent[]): List | null {
  return (nodes.find((node) => node.type === 'list') as List | undefined) ?? null;
}

function readEntries(text: string, nodes: RootContent[]): ListEntry[] {
  const list = firstList(nodes);
  if (list) {
    return list.children
      .map((item) => ({ text: itemText(text, item), line: pointOf(item).line }))
      .filter((entry) => !isPlaceholder(entry.text));
  }
  return nodes
    .filter((node) => node.type === 'paragraph')
    .map((node) => ({ text: text.slice(startOffset(node), endOffset(node)).trim(), line: pointOf(node).line }))
    .filter((entry) => !isPlaceholder(entry.text));
}

const CHECKBOX = /^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[([ xX])\]/;
const CRITERION_ID = /^(?:\*\*)?(SC\d+)(?:\*\*)?\s*:\s*/;

function readCriteria(text: string, nodes: RootContent[], pointAt: (offset: number) => Point): Criterion[] {
  const list = firstList(nodes);
  if (!list) return [];
  return list.children.map((item) => {
    const itemStart = startOffset(item);
    const lineStart = startOfLine(text, itemStart);
    const checkbox = CHECKBOX.exec(text.slice(lineStart, endOfLine(text, itemStart)));
    const checkOffset = checkbox ? lineStart + checkbox[0].length - 2 : null;
    const raw = itemText(text, item);
    const idMatch = CRITERION_ID.exec(raw);
    const body = idMatch ? raw.slice(idMatch[0].length) : raw;
    const verifiable = splitVerify(body);
    const at = pointAt(itemStart);
    return {
      id: idMatch ? idMatch[1]! : null,
      text: verifiable.text,
      checked: item.checked ?? null,
      verify: verifiable.verify,
      verifyMalformed: verifiable.verifyMalformed,
      line: at.line,
      column: at.column,
      checkOffset,
    };
  });
}

function tableRows(text: string, table: Table): Array<{ cells: string[]; line: number }> {
  return table.children.map((row) => ({
    cells: row.children.map((cell) => text.slice(startOffset(cell), endOffset(cell)).replace(/^\|/, '').replace(/\|$/, '').trim().replace(/\\\|/g, '|')),
    line: pointOf(row).line,
  }));
}

function readSkills(text: string, nodes: RootContent[]): SkillAudit {
  const audit: SkillAudit = { mapped: null, excluded: null };
  let heading: string | null = null;
  for (const node of nodes) {
    if (node.type === 'heading') {
      heading = normaliseKey(toString(node));
      continue;
    }
    if (node.type !== 'table' || heading === null) continue;
    const [header, ...rows] = tableRows(text, node);
    if (!header) continue;
    const column = (name: string) => header.cells.findIndex((cell) => normaliseKey(cell.replace(/[*_`]/g, '')) === name);
    const skillColumn = Math.max(0, column('skill'));
    if (heading.startsWith('mapped') && audit.mapped === null) {
      const phasesColumn = column('phases') === -1 ? column('phase') : column('phases');
      const whyColumn = column('why');
      audit.mapped = rows.map<MappedSkill>((row) => ({
        name: normaliseSkillName(row.cells[skillColumn] ?? ''),
        phases: phasesColumn === -1 ? [] : splitList(row.cells[phasesColumn] ?? '').flatMap((part) => part.split(/\s+/)),
        why: whyColumn === -1 ? '' : (row.cells[whyColumn] ?? '').trim(),
        line: row.line,
      }));
    } else if (heading.startsWith('excluded') && audit.excluded === null) {
      const reasonColumn = column('reason') === -1 ? column('why') : column('reason');
      audit.excluded = rows.map<ExcludedSkill>((row) => ({
        name: normaliseSkillName(row.cells[skillColumn] ?? ''),
        reason: reasonColumn === -1 ? '' : (row.cells[reasonColumn] ?? '').trim(),
        line: row.line,
      }));
    }
    heading = null;
  }
  return audit;
}

// ---------------------------------------------------------------------------------------------------------------
// Phases

const PHASE_HEADING = /^P(\d+)([a-z]?)\.\s+(\S.*)$/;
const FIELD = /^([A-Za-z][A-Za-z ]{0,30}?)[ \t]*:[ \t]*/;

function readPhases(plan: Plan, section: RawSection): Phase[] {
  const phases: Phase[] = [];
  let current: { phase: Phase; nodes: RootContent[] } | null = null;
  const finish = () => {
    if (current) fillPhase(plan, current.phase, current.nodes);
  };
  for (const node of section.nodes) {
    if (node.type === 'heading' && node.depth === 3) {
      finish();
      const title = toString(node).trim();
      const match = PHASE_HEADING.exec(title);
      const headingNode = node as Heading;
      const phase: Phase = {
        id: match ? `P${match[1]}${match[2]}` : title,
        number: match ? Number(match[1]) : 0,
        letter: match ? match[2]! : '',
        title: match ? match[3]!.trim() : title,
        heading: { start: pointOf(headingNode), end: { ...pointOf(headingNode), offset: endOffset(headingNode) } },
        malformedHeading: !match,
        endOffset: section.endOffset,
        fields: new Map(),
        fieldInsert: null,
        inputs: [],
        outputs: [],
        context: null,
        dependsOn: [],
        gate: null,
        doneWhen: null,
        status: null,
        steps: [],
      };
      if (phases.length > 0) phases[phases.length - 1]!.endOffset = startOffset(node);
      phases.push(phase);
      current = { phase, nodes: [] };
      continue;
    }
    if (node.type === 'heading' && node.depth < 3) break;
    current?.nodes.push(node);
  }
  finish();
  return phases;
}

function fillPhase(plan: Plan, phase: Phase, nodes: RootContent[]): void {
  const { text } = plan;
  // HTML comments (a `deepplan-disable` line, a note) may stand between the heading and the field list.
  let index = 0;
  while (nodes[index]?.type === 'html') index++;
  const first = nodes[index];
  if (first && first.type === 'list' && !first.ordered) {
    index++;
    for (const item of first.children) {
      const paragraph = item.children[0];
      if (!paragraph) continue;
      const contentStart = startOffset(paragraph);
      const raw = text.slice(contentStart, endOffset(paragraph));
      const match = FIELD.exec(raw);
      if (!match) continue;
      const valueStart = contentStart + match[0].length;
      const field: PhaseField = {
        key: match[1]!.trim(),
        value: raw.slice(match[0].length).trim(),
        line: pointOf(item).line,
        valueStart,
        valueEnd: contentStart + raw.trimEnd().length,
      };
      const key = normaliseKey(field.key);
      if (!phase.fields.has(key)) phase.fields.set(key, field);
    }
    const lastItem = first.children[first.children.length - 1];
    if (lastItem) {
      const itemStart = startOffset(lastItem);
      const lineStart = startOfLine(text, itemStart);
      const paragraph = lastItem.children[0];
      const prefixEnd = paragraph ? startOffset(paragraph) : itemStart + 2;
      phase.fieldInsert = { offset: endOfLine(text, Math.max(endOffset(lastItem) - 1, itemStart)), prefix: text.slice(lineStart, prefixEnd) };
    }
  }
  const value = (key: string) => phase.fields.get(key)?.value ?? null;
  phase.inputs = splitList(value('inputs') ?? '');
  phase.outputs = splitList(value('outputs') ?? '');
  phase.context = value('context')?.replace(/`/g, '').trim() ?? null;
  phase.dependsOn = splitList(value('depends on') ?? '').flatMap((part) => part.split(/\s+/)).filter(Boolean);
  phase.gate = value('gate')?.replace(/`/g, '').trim().toLowerCase() ?? null;
  phase.status = value('status')?.replace(/`/g, '').trim().toLowerCase() ?? null;
  const doneWhen = value('done when');
  phase.doneWhen = doneWhen === null ? null : splitVerify(doneWhen);

  const steps = nodes.slice(index).find((node): node is List => node.type === 'list' && node.ordered === true);
  if (steps) {
    phase.steps = steps.children.map((item, position) => readStep(text, item, position + 1));
  }
}

const RUN_STEP = /^run:\s*/i;
const SKILL_STEP = /^\/([a-z0-9][a-z0-9-]*)(?=\s|$)\s*/;

/** An inline code span: its run of backticks, its content, the same run closing it (CommonMark). */
const CODE_SPAN = /(`+)([\s\S]*?[^`])\1(?!`)/g;

function readStep(text: string, item: ListItem, index: number): Step {
  const raw = itemText(text, item);
  const line = pointOf(item).line;
  const run = RUN_STEP.exec(raw);
  if (run) {
    const rest = raw.slice(run[0].length);
    const span = /^(`+)([\s\S]*?[^`])\1(?!`)/.exec(rest);
    return { index, kind: 'run', text: raw, command: span ? span[2]!.trim() : null, skill: null, args: '', line };
  }
  const skill = SKILL_STEP.exec(raw);
  if (skill) {
    // Code spans are how a writer keeps arguments from Markdown's escaping (`/draft-email \`ana_silva\``): their
    // backticks are formatting, not part of the arguments (a shell would read them as command substitution).
    const args = raw.slice(skill[0].length).replace(CODE_SPAN, (_span, _ticks: string, content: string) => content.replace(/^ (.*[^ ].*) $/s, '$1'));
    return { index, kind: 'skill', text: raw, command: null, skill: skill[1]!, args: args.trim(), line };
  }
  return { index, kind: 'model', text: raw, command: null, skill: null, args: '', line };
}
