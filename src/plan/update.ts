import { Document, isMap, isScalar, isSeq, parseDocument, visit, type Node as YamlNode, type Pair } from 'yaml';
import { locateFrontMatter, parsePlan } from './parse.js';
import { logLines, rowOfLine } from './log-table.js';
import { registerMemo } from './memos.js';
import { derivedPrefix, derivedSlice, noteSplice } from './pieces.js';
import type { PlanReview, PlanState, PlanStatus } from './schema.js';
import { detectEol, endOfLine, safeText, startOfLine } from './text.js';
import type { IterationLog, LogResult, LogRow, Plan, Signal } from './types.js';

/**
 * Surgical updates: each function takes the whole file text and returns it with only its own lines changed.
 * Nothing is re-stringified except the value being written, so a person's formatting survives and `git diff`
 * after an iteration shows exactly what changed.
 */

export class PlanEditError extends Error {
  override name = 'PlanEditError';
}

/** The parts of a plan an edit of its text needs. */
type TextView = Pick<Plan, 'text' | 'bom' | 'eol'>;

function withBom(plan: TextView, text: string): string {
  return plan.bom ? `\uFEFF${text}` : text;
}

function splice(text: string, start: number, end: number, replacement: string): string {
  return text.slice(0, start) + replacement + text.slice(end);
}

/**
 * `input` (the text as given, with its BOM) with `plan.text`'s characters [start, end) replaced, noted as such
 * (pieces.ts): the write that follows encodes only the replacement.
 */
function spliceInput(input: string, plan: TextView, start: number, end: number, inserted: string): string {
  const shift = plan.bom ? 1 : 0;
  return noteSplice(input, withBom(plan, splice(plan.text, start, end, inserted)), { start: start + shift, end: end + shift, inserted });
}

/** What an edit of the front matter needs, found without parsing the Markdown (a state write is many such edits). */
function frontMatterView(input: string): TextView & { frontMatter: { contentStart: number; contentEnd: number } | null } {
  const bom = input.charCodeAt(0) === 0xfeff;
  const text = bom ? input.slice(1) : input;
  const located = locateFrontMatter(text);
  return { text, bom, eol: detectEol(text), frontMatter: typeof located === 'string' ? null : located };
}

/**
 * The plan a writer read and the text it read it from (store.ts notes it before its edits): an edit of exactly that
 * text reads that plan instead of parsing the text again.
 */
let lastRead: { text: string; plan: Plan } | null = null;

/** Notes that `plan` is what `text` parses to, for the edits of `text` that follow (store.ts, under its lock). */
export function noteRead(text: string, plan: Plan): void {
  lastRead = { text, plan };
}

function readable(input: string): Plan {
  const plan = lastRead !== null && lastRead.text === input ? lastRead.plan : parsePlan(input);
  const fatal = plan.diagnostics.find((diagnostic) => diagnostic.ruleId === 'parse');
  if (fatal) throw new PlanEditError(fatal.message);
  return plan;
}

// ---------------------------------------------------------------------------------------------------------------
// Front matter

/** One value as YAML text on a single line: scalars as `yaml` would write them, collections in flow style. */
export function formatYamlValue(value: unknown): string {
  const text = new Document(value, { flow: true }).toString({ lineWidth: 0, flowCollectionPadding: false }).trimEnd();
  if (!text.includes('\n')) return text;
  // A multi-line scalar would need block style; JSON strings are valid YAML double-quoted scalars.
  return JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Sets one value in the front matter, splicing only the characters of that value. */
export function setFrontMatterValue(input: string, path: string[], value: unknown): string {
  return editFrontMatter(input, (head) => setValue(head, path, value));
}

/** setFrontMatterValue on `input`, the file or the part of it that ends with the front matter. */
function setValue(input: string, path: string[], value: unknown): string {
  const plan = frontMatterView(input);
  const fm = plan.frontMatter;
  if (!fm) throw new PlanEditError('the plan has no front matter to update');
  const source = plan.text.slice(fm.contentStart, fm.contentEnd);
  const doc = parseDocument(source, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new PlanEditError(`the front matter is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const at = (offset: number) => fm.contentStart + offset;

  if (isPlainObject(value)) {
    // Objects are written key by key so the keys already there keep their place and comments.
    const existing = doc.getIn(path, true);
    const entries = Object.entries(value).filter(([, inner]) => inner !== undefined);
    if (existing && isMap(existing) && !existing.flow && entries.length > 0) {
      let text = input;
      for (const [key, inner] of entries) text = setValue(text, [...path, key], inner);
      // The value replaces the mapping: keys it does not have go, so the file reads back as exactly `value`.
      const keep = new Set(entries.map(([key]) => key));
      for (const pair of existing.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : null;
        if (key !== null && !keep.has(key)) text = deleteKey(text, [...path, key]);
      }
      return text;
    }
  }

  const node = doc.getIn(path, true) as YamlNode | undefined;
  if (node && node.range && (isScalar(node) || isSeq(node) || isMap(node))) {
    return withBom(plan, replaceValue(plan, { doc, base: fm.contentStart, path, node }, formatYamlValue(value)));
  }

  // The key is missing: insert it at the end of the deepest block mapping that exists. (A key that is there with
  // no value falls through to the Document API below.)
  let depth = path.length - 1;
  let parent: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
  while (depth > 0 && !isMap(parent)) {
    depth--;
    parent = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
  }
  if (!doc.hasIn(path) && isMap(parent) && !parent.flow && parent.items.length > 0) {
    let inserted: unknown = value;
    for (let i = path.length - 1; i > depth; i--) inserted = { [path[i]!]: inserted };
    const lastPair = parent.items[parent.items.length - 1] as Pair<YamlNode, YamlNode | null>;
    const firstKey = (parent.items[0] as Pair<YamlNode>).key;
    const indent = firstKey?.range ? indentOf(plan.text, at(firstKey.range[0])) : '';
    const lastEnd = lastPair.value?.range?.[1] ?? lastPair.key?.range?.[1];
    if (lastEnd !== undefined) {
      const insertAt = Math.min(endOfLine(plan.text, at(lastEnd) - 1), fm.contentEnd);
      const prefix = insertAt > 0 && plan.text[insertAt - 1] !== '\n' ? plan.eol : '';
      const lines = blockYaml({ [path[depth]!]: inserted }, indent, plan.eol);
      return withBom(plan, splice(plan.text, insertAt, insertAt, prefix + lines));
    }
  }

  // Flow mappings and other shapes: let the Document API write the front matter (comments and order survive).
  doc.setIn(path, value);
  const rewritten = doc.toString({ lineWidth: 0 }).replace(/\n/g, plan.eol);
  return withBom(plan, splice(plan.text, fm.contentStart, fm.contentEnd, rewritten));
}

/** Removes the lines of one key of a block mapping (its key line through its value's last line). */
export function deleteFrontMatterKey(input: string, path: string[]): string {
  return editFrontMatter(input, (head) => deleteKey(head, path));
}

/** deleteFrontMatterKey on `input`, the file or the part of it that ends with the front matter. */
function deleteKey(input: string, path: string[]): string {
  const plan = frontMatterView(input);
  const fm = plan.frontMatter;
  if (!fm) return input;
  const doc = parseDocument(plan.text.slice(fm.contentStart, fm.contentEnd), { uniqueKeys: true });
  const parent = doc.getIn(path.slice(0, -1), true);
  if (!isMap(parent) || parent.flow) return input;
  const pair = (parent.items as Array<Pair<YamlNode, YamlNode | null>>).find((item) => isScalar(item.key) && String(item.key.value) === path[path.length - 1]);
  if (!pair?.key?.range) return input;
  const keyStart = fm.contentStart + pair.key.range[0];
  const valueRange = pair.value?.range;
  const end = valueRange
    ? fm.contentStart + valueRange[0] + plan.text.slice(fm.contentStart + valueRange[0], fm.contentStart + valueRange[1]).trimEnd().length
    : fm.contentStart + pair.key.range[1];
  return withBom(plan, splice(plan.text, startOfLine(plan.text, keyStart), endOfLine(plan.text, Math.max(end - 1, keyStart)), ''));
}

/**
 * Splices `formatted` over the value `node` of the key at `path`. A block value's range ends after its last line
 * break (so splicing the whole range would join the next key, or the closing `---`, onto the new value's line) and a
 * block collection starts on the line after its key; an empty value sits right after the colon or at a comment.
 */
function replaceValue(plan: TextView, at: { doc: Document.Parsed; base: number; path: string[]; node: YamlNode }, formatted: string): string {
  const { text } = plan;
  const { doc, base, path, node } = at;
  const [start, valueEnd] = node.range!;
  let from = base + start;
  const to = from + text.slice(from, base + valueEnd).trimEnd().length;
  let replacement = formatted;
  if ((isSeq(node) || isMap(node)) && !node.flow) {
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    const pair = isMap(parent) ? (parent.items as Array<Pair<YamlNode, YamlNode | null>>).find((item) => item.value === node) : undefined;
    const keyEnd = pair?.key?.range ? base + pair.key.range[1] : null;
    const gap = keyEnd === null ? null : /^[ \t]*:(?=[ \t]*(?:\r?\n[ \t]*)+$)/.exec(text.slice(keyEnd, from));
    if (keyEnd !== null && gap) {
      // Nothing but the colon and line breaks between key and value: write the flow value on the key's line.
      from = keyEnd + gap[0].length;
      replacement = ` ${formatted}`;
    } else {
      // A comment (or tag) after the key: keep that line, and write the value on its own line, indented under the key.
      const keyIndent = pair?.key?.range ? indentOf(text, base + pair.key.range[0]) : indentOf(text, from);
      from = startOfLine(text, from);
      replacement = `${keyIndent}  ${formatted}`;
    }
  } else if (from === to) {
    // An empty value: `key:` at the line end, or `key:   # comment`. Keep YAML's separating spaces.
    if (!/[ \t]/.test(text[from - 1] ?? '')) replacement = ` ${replacement}`;
    if (text[to] === '#') replacement = `${replacement} `;
  }
  return splice(text, from, to, replacement);
}

function indentOf(text: string, offset: number): string {
  const lineStart = startOfLine(text, offset);
  const match = /^[ \t]*/.exec(text.slice(lineStart, offset));
  return match ? match[0] : '';
}

/**
 * Block-style YAML lines for new keys, each indented by `indent`, ending with a line break. Lists are written in
 * flow style, as `formatYamlValue` writes them when the key is already there.
 */
function blockYaml(value: Record<string, unknown>, indent: string, eol = '\n'): string {
  const doc = new Document(value);
  visit(doc, {
    Seq(_key, node) {
      node.flow = true;
    },
  });
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  return text
    .trimEnd()
    .split('\n')
    .map((line) => indent + line)
    .join(eol)
    .concat(eol);
}

export type StatePatch = Partial<Omit<PlanState, 'blockers'>> & { blockers?: string[] };

/** Writes `state:` fields. Single-line values: a multi-line `next_action` is folded to one line. */
export function setState(input: string, patch: StatePatch): string {
  return editFrontMatter(input, (head) => {
    let text = head;
    for (const [key, raw] of Object.entries(patch)) {
      if (raw === undefined) continue;
      const value = typeof raw === 'string' ? raw.replace(/\s*\r?\n\s*/g, ' ') : raw;
      text = setValue(text, ['state', key], value);
    }
    return text;
  });
}

/**
 * The last string a front matter edit returned, and its two parts. Reading any character of a string made by `+`
 * makes V8 copy the whole of it, and an iteration makes several front matter edits in a row (the state, the in-flight
 * marker, the revision): an edit of exactly that string takes its parts from here, so the rest of the file (mostly
 * the iteration log) is copied once after the last of them, not once per edit.
 */
let lastEdit: { text: string; head: string; rest: string } | null = null;

/** Where the front matter's closing line ends in `text` (with the BOM, if any), or null without a closed front matter. */
function frontMatterEnd(text: string): number | null {
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const located = locateFrontMatter(bom ? text.slice(1) : text);
  return typeof located === 'string' ? null : endOfLine(text, bom + located.contentEnd);
}

/**
 * `input` cut after the front matter's closing line. When `input` is what a chain of edits made of a text (the log row
 * appended, pieces.ts) and that text's front matter is unchanged in it, the cut is made of the pieces, without
 * reading `input`: with a long log, reading it would copy the whole file.
 */
function splitHead(input: string): { head: string; rest: string } {
  const prefix = derivedPrefix(input);
  if (prefix !== null) {
    const end = frontMatterEnd(prefix.base);
    // The closing line, its line break included, lies in the part of `input` that is the base's own.
    if (end !== null && end <= prefix.length && prefix.base.charCodeAt(end - 1) === 0x0a) {
      const rest = derivedSlice(input, end);
      if (rest !== null) return { head: prefix.base.slice(0, end), rest };
    }
  }
  const end = frontMatterEnd(input) ?? input.length;
  return { head: input.slice(0, end), rest: input.slice(end) };
}

/**
 * Applies `edit` to the file up to the end of the front matter's closing line (with the BOM, if any) and puts the
 * rest back after it. Front matter edits read and change nothing past that line, so they give the same text when
 * made on that part alone. Without a closed front matter, `edit` gets the whole input (and throws as it would).
 */
function editFrontMatter(input: string, edit: (head: string) => string): string {
  let head: string;
  let rest: string;
  if (lastEdit !== null && lastEdit.text === input) {
    ({ head, rest } = lastEdit);
  } else {
    ({ head, rest } = splitHead(input));
  }
  const edited = edit(head);
  if (edited === head) return input;
  const text = edited + rest;
  lastEdit = { text, head: edited, rest };
  return noteSplice(input, text, { start: 0, end: head.length, inserted: edited });
}

export function setReview(input: string, review: PlanReview): string {
  return setFrontMatterValue(input, ['review'], { ...review });
}

export function setPlanStatus(input: string, status: PlanStatus): string {
  return setFrontMatterValue(input, ['status'], status);
}

// ---------------------------------------------------------------------------------------------------------------
// Body

export interface NewLogRow {
  when: string;
  phase: string;
  action: string;
  result: LogResult;
  signal: Signal;
  notes?: string;
}

/**
 * One log cell: line breaks folded to spaces and every pipe written `\|`. Backslashes are kept as they are, because
 * the log reader (`splitTableRow`) turns `\|` into `|` and keeps every other backslash; doubling a backslash before
 * a pipe (as `escapeTableCell` does) would read back with an extra backslash.
 */
function logCell(value: string): string {
  return safeText(value.replace(/\r?\n|\r/g, ' '))
    .replace(/\|/g, '\\|')
    .trim();
}

/** The line appendLogRow writes for `row` after the rows of `log` (the last row only is read), without a line break. */
function appendedLine(log: Pick<IterationLog, 'rows' | 'lines'>, row: NewLogRow): string {
  const lines = logLines(log);
  const count = lines.count;
  const number = count === 0 ? 1 : (lines.row(count - 1).number ?? count) + 1;
  const cells = [String(number), row.when, row.phase, row.action, row.result, row.signal, row.notes ?? ''];
  return `| ${cells.map(logCell).join(' | ')} |`;
}

/**
 * The row appendLogRow would add to a plan whose log is `log`, as the log reader reads it back (line 0), and its line
 * as written: what the engine decides next from, without parsing the edited text again.
 */
export function appendedRow(log: Pick<IterationLog, 'rows' | 'lines'>, row: NewLogRow): { row: LogRow; line: string } {
  const line = appendedLine(log, row);
  return { row: rowOfLine(line, 0), line };
}

/** Appends one row to the iteration log table, numbered after the last row. */
export function appendLogRow(input: string, row: NewLogRow): string {
  const plan = readable(input);
  const log = plan.log;
  if (!log || log.header === null || log.insertOffset === null) {
    throw new PlanEditError('the plan has no iteration log table (`## Iteration log` with a header row) to append to');
  }
  const line = appendedLine(log, row);
  const at = log.insertOffset;
  const before = at > 0 && plan.text[at - 1] !== '\n' ? plan.eol : '';
  const text = spliceInput(input, plan, at, at, `${before}${line}${plan.eol}`);
  lastAppend = { text, plan, at };
  return text;
}

/**
 * The text appendLogRow returned last, the plan it read and where the row went. The engine sets the current phase's
 * status and ticks criteria right after it appends the row, and mostly finds them as they are: an edit of exactly
 * that text that changes nothing before the row reads the plan appendLogRow read (a copy of the whole text, with a
 * long log, is not free).
 */
let lastAppend: { text: string; plan: Plan; at: number } | null = null;
registerMemo(() => {
  lastRead = null;
  lastEdit = null;
  lastAppend = null;
});

/** The plan appendLogRow read, when `input` is the text it returned: offsets before `at` are the same in both. */
function beforeAppend(input: string): { plan: Plan; at: number } | null {
  return lastAppend !== null && lastAppend.text === input ? lastAppend : null;
}

/**
 * Writes a phase's `Status:` field, adding the field after the phase's last field when it is missing. A status
 * already written as `status` gives back `input` itself (the engine sets the current phase's status every iteration,
 * and a copy of a long plan is not free).
 */
export function setPhaseStatus(input: string, phaseId: string, status: 'pending' | 'active' | 'done' | 'blocked'): string {
  const appended = beforeAppend(input);
  const known = appended?.plan.phases.find((candidate) => candidate.id === phaseId)?.fields.get('status');
  if (appended && known && known.valueEnd <= appended.at && appended.plan.text.slice(known.valueStart, known.valueEnd) === status) return input;
  const plan = readable(input);
  const phase = plan.phases.find((candidate) => candidate.id === phaseId);
  if (!phase) throw new PlanEditError(`no phase ${phaseId} in the plan`);
  const field = phase.fields.get('status');
  if (field) {
    if (plan.text.slice(field.valueStart, field.valueEnd) === status) return input;
    if (field.valueEnd <= field.valueStart) {
      // An empty value (`- Status:`, maybe with trailing blanks): `Status: done`, as a written value reads.
      const start = plan.text.lastIndexOf(':', field.valueStart) + 1;
      const blanks = /^[ \t]*/.exec(plan.text.slice(start))![0].length;
      return spliceInput(input, plan, start, start + blanks, ` ${status}`);
    }
    return spliceInput(input, plan, field.valueStart, field.valueEnd, status);
  }
  if (!phase.fieldInsert) throw new PlanEditError(`phase ${phaseId} has no field list to add a Status to`);
  const { offset, prefix } = phase.fieldInsert;
  const before = offset > 0 && plan.text[offset - 1] !== '\n' ? plan.eol : '';
  return spliceInput(input, plan, offset, offset, `${before}${prefix}Status: ${status}${plan.eol}`);
}

/** Ticks (or unticks) a success criterion's checkbox; a box already as asked gives back `input` itself. */
export function tickCriterion(input: string, criterionId: string, checked = true): string {
  const mark = checked ? 'x' : ' ';
  const appended = beforeAppend(input);
  const known = appended?.plan.criteria?.find((candidate) => candidate.id === criterionId)?.checkOffset ?? null;
  if (appended && known !== null && known < appended.at && appended.plan.text[known] === mark) return input;
  const plan = readable(input);
  const criterion = plan.criteria?.find((candidate) => candidate.id === criterionId);
  if (!criterion) throw new PlanEditError(`no success criterion ${criterionId} in the plan`);
  if (criterion.checkOffset === null) throw new PlanEditError(`success criterion ${criterionId} has no checkbox`);
  if (plan.text[criterion.checkOffset] === mark) return input;
  return spliceInput(input, plan, criterion.checkOffset, criterion.checkOffset + 1, mark);
}

/** Adds one bullet at the end of the `## Running learnings` section. */
export function appendLearning(input: string, learning: string): string {
  const plan = readable(input);
  const section = plan.sections.find((candidate) => candidate.key === 'running learnings');
  if (!section) throw new PlanEditError('the plan has no `## Running learnings` section to add to');
  const bullet = `- ${learning.replace(/\s*\r?\n\s*/g, ' ').trim()}`;
  const last = plan.learnings?.[plan.learnings.length - 1];
  if (last) {
    const at = Math.min(endOfLine(plan.text, lineOffset(plan.text, last.line)), section.endOffset);
    const before = at > 0 && plan.text[at - 1] !== '\n' ? plan.eol : '';
    return spliceInput(input, plan, at, at, `${before}${bullet}${plan.eol}`);
  }
  // An empty section: right after the heading line, with a blank line before.
  const after = endOfLine(plan.text, section.heading.end.offset - 1);
  const before = after > 0 && plan.text[after - 1] !== '\n' ? plan.eol : '';
  return spliceInput(input, plan, after, after, `${before}${plan.eol}${bullet}${plan.eol}`);
}

function lineOffset(text: string, line: number): number {
  let offset = 0;
  for (let current = 1; current < line; current++) {
    const next = text.indexOf('\n', offset);
    if (next === -1) return text.length;
    offset = next + 1;
  }
  return offset;
}
