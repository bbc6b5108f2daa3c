import type { Document } from 'yaml';
import type { PlanMeta } from './schema.js';

/** 1-based line and column, 0-based character offset into the plan text (after any BOM). */
export interface Point {
  line: number;
  column: number;
  offset: number;
}

export interface Span {
  start: Point;
  end: Point;
}

export type Severity = 'error' | 'warning';

/** A problem found while reading the file; reported by the linter like a rule finding. */
export interface Diagnostic {
  ruleId: string;
  severity: Severity;
  message: string;
  line: number;
  column: number;
}

export interface FrontMatter {
  /** Offsets of the YAML text between the two `---` lines. */
  contentStart: number;
  contentEnd: number;
  /** Line of the opening `---`. */
  line: number;
  /** The parsed document, null when the YAML could not be parsed at all. */
  doc: Document.Parsed | null;
  /** Plain data of the front matter, or null when it is not a mapping. */
  data: Record<string, unknown> | null;
}

export interface Section {
  title: string;
  /** Lower-cased, whitespace-folded title used to recognise the section. */
  key: string;
  heading: Span;
  /** Offset where the section ends (the next level-1/2 heading or the end of the file). */
  endOffset: number;
}

export interface ListEntry {
  text: string;
  line: number;
}

export interface Criterion {
  /** `SC3`, or null when the item does not number itself. */
  id: string | null;
  text: string;
  checked: boolean | null;
  verify: string | null;
  /** `verify:` is present but not followed by one backticked command. */
  verifyMalformed: boolean;
  line: number;
  column: number;
  /** Offset of the character inside the checkbox (` ` or `x`), when there is a checkbox. */
  checkOffset: number | null;
}

export interface MappedSkill {
  name: string;
  phases: string[];
  why: string;
  line: number;
}

export interface ExcludedSkill {
  name: string;
  reason: string;
  line: number;
}

export interface SkillAudit {
  /** null when the `### Mapped` table is missing. */
  mapped: MappedSkill[] | null;
  excluded: ExcludedSkill[] | null;
}

export interface PhaseField {
  /** The key as written (`Done when`). */
  key: string;
  value: string;
  line: number;
  /** Offsets of the value text, for surgical replacement. */
  valueStart: number;
  valueEnd: number;
}

export type StepKind = 'run' | 'skill' | 'model';

export interface Step {
  /** 1-based position in the phase's ordered list. */
  index: number;
  kind: StepKind;
  text: string;
  /** The backticked command of a `run:` step; null when malformed. */
  command: string | null;
  skill: string | null;
  args: string;
  line: number;
}

export interface Verifiable {
  text: string;
  verify: string | null;
  verifyMalformed: boolean;
}

export interface Phase {
  id: string;
  number: number;
  letter: string;
  title: string;
  heading: Span;
  /** The heading text did not match `P<n>[letter]. Title`. */
  malformedHeading: boolean;
  endOffset: number;
  /** Lower-cased key → field. */
  fields: Map<string, PhaseField>;
  /** Where a new field bullet can be inserted: after the last field line; null when the phase has no field list. */
  fieldInsert: { offset: number; prefix: string } | null;
  inputs: string[];
  outputs: string[];
  context: string | null;
  dependsOn: string[];
  gate: string | null;
  doneWhen: Verifiable | null;
  status: string | null;
  steps: Step[];
}

export type LogResult = 'ok' | 'no-change' | 'failed' | 'blocked';
export type Signal = 'CONTINUE' | 'TASK_COMPLETE' | 'BLOCKED_NEED_HUMAN';

export interface LogRow {
  /** Raw cells, unescaped, trimmed. */
  cells: string[];
  number: number | null;
  when: string;
  phase: string;
  action: string;
  result: string;
  signal: string;
  notes: string;
  line: number;
}

export interface IterationLog {
  headingLine: number;
  /** The header cells; null when the section holds no table. */
  header: string[] | null;
  headerLine: number | null;
  rows: LogRow[];
  /** Malformed table lines (wrong cell count, no delimiter row). */
  problems: Diagnostic[];
  /** Offset right after the last table line (including its line ending); new rows go here. */
  insertOffset: number | null;
  /**
   * The rows as lines of the file, for a reader that needs few of them (an iteration): read one by one, or found by
   * what their lines hold, without reading every row. Not enumerable (a copy of the log leaves it out; logLines then
   * reads `rows`). Set on a log read from a table with a delimiter row.
   */
  lines?: LogLines;
}

/** A log's rows as lines of the file (IterationLog.lines). */
export interface LogLines {
  /** How many rows the table has: `rows.length`. */
  readonly count: number;
  /** Row `index` (0-based), read when first asked for: the very object `rows[index]` is. */
  row(index: number): LogRow;
  /**
   * The indices (ascending) of the rows whose line, as written, holds `needle`: every row with a cell holding it, and
   * maybe others (a caller tests the rows it gets). A cell's `|` is written `\|` (logNeedle turns a value into that).
   */
  containing(needle: string): number[];
}

export interface DisableRange {
  /** null disables every rule. */
  rules: string[] | null;
  /** With `rules: null`: rules enabled again inside the disable-all. */
  except?: string[];
  fromLine: number;
  toLine: number;
}

export interface Plan {
  path: string | null;
  /** The text without the BOM. */
  text: string;
  bom: boolean;
  eol: '\n' | '\r\n';
  frontMatter: FrontMatter | null;
  /** Front-matter fields that passed validation; invalid or missing fields are absent. */
  meta: Partial<PlanMeta>;
  sections: Section[];
  criteria: Criterion[] | null;
  constraints: ListEntry[] | null;
  stakeholders: ListEntry[] | null;
  skills: SkillAudit | null;
  phases: Phase[];
  learnings: ListEntry[] | null;
  log: IterationLog | null;
  disabled: DisableRange[];
  /** Problems that stop the file from being read as a plan (encoding, size, YAML syntax). */
  diagnostics: Diagnostic[];
  /** Converts an offset to a line/column point. */
  pointAt(offset: number): Point;
}
