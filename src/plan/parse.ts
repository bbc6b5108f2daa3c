import { readDisableComments } from './disable-comments.js';
import { bodyStartOf, locateFrontMatter, readFrontMatter } from './front-matter.js';
import { deepestNesting, fileError, formatMb, markdownLimit, MAX_DISABLE_COMMENTS, MAX_LOG_LINES, MAX_NESTING, MAX_PLAN_BYTES } from './limits.js';
import { indexLines, readLog, type LineIndex } from './log-table.js';
import { inCode, parseMarkdown, spanOf } from './markdown.js';
import { readPhases } from './phases.js';
import { readCriteria, readEntries, readSkills, splitSections, type RawSection } from './sections.js';
import { detectEol, endOfLine, lineStarts, pointFinder } from './text.js';
import type { Plan } from './types.js';
import type { RootContent } from 'mdast';

// The plan parser's driver: the front matter, one pass over the lines (which finds the iteration log), the limits,
// the Markdown part, the disable comments, then each section's reader. The parts live in their own files; importers
// take the parser's public API from here.
export { decodePlan, encodePlan, rememberWritten } from './decode.js';
export { locateFrontMatter, readMeta } from './front-matter.js';
export { MAX_PLAN_BYTES } from './limits.js';
export { LOG_HEADER } from './log-table.js';

interface ParseOptions {
  path?: string | null;
  /** The text is decodePlan's of a file's bytes, which it refused if they held a NUL: it holds none. */
  decoded?: boolean;
}

/** Parses plan text into a typed Plan. Never throws: what cannot be read becomes `diagnostics`. */
export function parsePlan(input: string, options: ParseOptions = {}): Plan {
  const bom = input.charCodeAt(0) === 0xfeff;
  const text = bom ? input.slice(1) : input;
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
    pointAt: () => ({ line: 1, column: 1, offset: 0 }),
  };
  try {
    readPlan(plan, options.decoded === true);
  } catch (error) {
    // The guards above should make this unreachable; a parser bug must still not crash a lint run.
    plan.diagnostics.push(fileError(`could not parse the file: ${error instanceof Error ? error.message : String(error)}`));
  }
  return plan;
}

/** Whether `text` holds a NUL outside the rows read before (which held none when they were read). */
function holdsNul(text: string, lines: LineIndex): boolean {
  const known = lines.known;
  if (!known) return text.includes('\0');
  const from = lines.starts[known.from]!;
  const to = lines.starts[known.to] ?? text.length;
  return text.lastIndexOf('\0', from) !== -1 || text.indexOf('\0', to) !== -1;
}

function readPlan(plan: Plan, decoded: boolean): void {
  const { text } = plan;
  if (text.length > MAX_PLAN_BYTES) {
    plan.pointAt = pointFinder(lineStarts(text));
    plan.diagnostics.push(fileError(`file is ${formatMb(text.length)}; plan files are limited to ${formatMb(MAX_PLAN_BYTES)}`));
    return;
  }
  const located = locateFrontMatter(text);
  const bodyStart = bodyStartOf(text, located);
  const lines = indexLines(text, bodyStart);
  const { starts, log: logBounds, known, table } = lines;
  plan.pointAt = pointFinder(starts);
  if (!decoded && holdsNul(text, lines)) {
    plan.diagnostics.push(fileError('file is binary (it contains NUL bytes), not a Markdown plan'));
    return;
  }
  readFrontMatter(plan, located);

  const pieces: Array<{ from: number; to: number }> = [];
  if (logBounds) {
    pieces.push({ from: bodyStart, to: logBounds.start });
    if (logBounds.end < text.length) pieces.push({ from: logBounds.end, to: text.length });
  } else {
    pieces.push({ from: bodyStart, to: text.length });
  }
  // The table's rows start with `|`: no container, nothing to measure (`known` is a part of them).
  const nesting = deepestNesting(text, starts, bodyStart, table !== null && table.to > table.from ? table : known);
  if (nesting) {
    plan.diagnostics.push(fileError(`containers nested more than ${MAX_NESTING} deep; a plan never needs that`, nesting.line));
    return;
  }
  const tooLarge = markdownLimit({ text, starts, pieces, pointAt: plan.pointAt });
  if (tooLarge) {
    plan.diagnostics.push(tooLarge);
    return;
  }
  if (logBounds && logBounds.endIndex - logBounds.headingIndex > MAX_LOG_LINES) {
    const count = logBounds.endIndex - logBounds.headingIndex;
    plan.diagnostics.push(fileError(`the iteration log is ${count} lines long; the limit is ${MAX_LOG_LINES}`, logBounds.headingIndex + 1));
    return;
  }

  const nodes: RootContent[] = [];
  for (const piece of pieces) nodes.push(...parseMarkdown(text, piece.from, piece.to, plan.pointAt));
  // A disable comment shown inside code (a fenced example, inline code) is text, not a comment.
  const disabled = readDisableComments(text, bodyStart, plan.pointAt, (offset) => inCode(text, nodes, offset));
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
    plan.log = readLog(text, starts, logBounds, lines);
  }
  plan.sections = sections.map(({ nodes: _nodes, ...section }) => section);
  readSections(plan, sections);
}

/** Each known section's reader, on the first section of its name. */
function readSections(plan: Plan, sections: RawSection[]): void {
  const { text } = plan;
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
