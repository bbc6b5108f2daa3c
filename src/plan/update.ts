import { Document, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode, type Pair } from 'yaml';
import { parsePlan } from './parse.js';
import type { PlanReview, PlanState, PlanStatus } from './schema.js';
import { endOfLine, escapeTableCell, startOfLine } from './text.js';
import type { LogResult, Plan, Signal } from './types.js';

/**
 * Surgical updates: each function takes the whole file text and returns it with only its own lines changed.
 * Nothing is re-stringified except the value being written, so a person's formatting survives and `git diff`
 * after an iteration shows exactly what changed.
 */

export class PlanEditError extends Error {
  override name = 'PlanEditError';
}

function withBom(plan: Plan, text: string): string {
  return plan.bom ? `\uFEFF${text}` : text;
}

function splice(text: string, start: number, end: number, replacement: string): string {
  return text.slice(0, start) + replacement + text.slice(end);
}

function readable(input: string): Plan {
  const plan = parsePlan(input);
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
  const plan = readable(input);
  const fm = plan.frontMatter;
  if (!fm) throw new PlanEditError('the plan has no front matter to update');
  const source = plan.text.slice(fm.contentStart, fm.contentEnd);
  const doc = parseDocument(source, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new PlanEditError(`the front matter is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const at = (offset: number) => fm.contentStart + offset;

  if (isPlainObject(value)) {
    // Objects are written key by key so the keys already there keep their place and comments.
    const existing = doc.getIn(path, true);
    if (existing && isMap(existing) && !existing.flow) {
      let text = input;
      for (const [key, inner] of Object.entries(value)) text = setFrontMatterValue(text, [...path, key], inner);
      return text;
    }
  }

  const node = doc.getIn(path, true) as YamlNode | undefined;
  if (node && node.range && (isScalar(node) || isSeq(node) || isMap(node))) {
    const [start, valueEnd] = node.range;
    return withBom(plan, splice(plan.text, at(start), at(valueEnd), formatYamlValue(value)));
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

function indentOf(text: string, offset: number): string {
  const lineStart = startOfLine(text, offset);
  const match = /^[ \t]*/.exec(text.slice(lineStart, offset));
  return match ? match[0] : '';
}

/** Block-style YAML lines for new keys, each indented by `indent`, ending with a line break. */
function blockYaml(value: Record<string, unknown>, indent: string, eol = '\n'): string {
  const text = new Document(value).toString({ lineWidth: 0, flowCollectionPadding: false });
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
  let text = input;
  for (const [key, raw] of Object.entries(patch)) {
    if (raw === undefined) continue;
    const value = typeof raw === 'string' ? raw.replace(/\s*\r?\n\s*/g, ' ') : raw;
    text = setFrontMatterValue(text, ['state', key], value);
  }
  return text;
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

/** Appends one row to the iteration log table, numbered after the last row. */
export function appendLogRow(input: string, row: NewLogRow): string {
  const plan = readable(input);
  const log = plan.log;
  if (!log || log.header === null || log.insertOffset === null) {
    throw new PlanEditError('the plan has no iteration log table (`## Iteration log` with a header row) to append to');
  }
  const number = log.rows.length === 0 ? 1 : (log.rows[log.rows.length - 1]!.number ?? log.rows.length) + 1;
  const cells = [String(number), row.when, row.phase, row.action, row.result, row.signal, row.notes ?? ''];
  const line = `| ${cells.map(escapeTableCell).join(' | ')} |`;
  const at = log.insertOffset;
  const before = at > 0 && plan.text[at - 1] !== '\n' ? plan.eol : '';
  return withBom(plan, splice(plan.text, at, at, `${before}${line}${plan.eol}`));
}

/** Writes a phase's `Status:` field, adding the field after the phase's last field when it is missing. */
export function setPhaseStatus(input: string, phaseId: string, status: 'pending' | 'active' | 'done' | 'blocked'): string {
  const plan = readable(input);
  const phase = plan.phases.find((candidate) => candidate.id === phaseId);
  if (!phase) throw new PlanEditError(`no phase ${phaseId} in the plan`);
  const field = phase.fields.get('status');
  if (field) return withBom(plan, splice(plan.text, field.valueStart, field.valueEnd, status));
  if (!phase.fieldInsert) throw new PlanEditError(`phase ${phaseId} has no field list to add a Status to`);
  const { offset, prefix } = phase.fieldInsert;
  const before = offset > 0 && plan.text[offset - 1] !== '\n' ? plan.eol : '';
  return withBom(plan, splice(plan.text, offset, offset, `${before}${prefix}Status: ${status}${plan.eol}`));
}

/** Ticks (or unticks) a success criterion's checkbox. */
export function tickCriterion(input: string, criterionId: string, checked = true): string {
  const plan = readable(input);
  const criterion = plan.criteria?.find((candidate) => candidate.id === criterionId);
  if (!criterion) throw new PlanEditError(`no success criterion ${criterionId} in the plan`);
  if (criterion.checkOffset === null) throw new PlanEditError(`success criterion ${criterionId} has no checkbox`);
  return withBom(plan, splice(plan.text, criterion.checkOffset, criterion.checkOffset + 1, checked ? 'x' : ' '));
}
