import type { Heading, List, ListItem, RootContent } from 'mdast';
import { toString } from 'mdast-util-to-string';
import { endOffset, pointOf, startOffset } from './markdown.js';
import { itemText, type RawSection } from './sections.js';
import { endOfLine, normaliseKey, splitList, splitVerify, startOfLine } from './text.js';
import type { Phase, PhaseField, Plan, Step } from './types.js';

// The `## Phases` section: each `### P<n>. Title`, its field list and its ordered steps.

const PHASE_HEADING = /^P(\d+)([a-z]?)\.\s+(\S.*)$/;
const FIELD = /^([A-Za-z][A-Za-z ]{0,30}?)[ \t]*:[ \t]*/;

export function readPhases(plan: Plan, section: RawSection): Phase[] {
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
  phase.dependsOn = splitList(value('depends on') ?? '')
    .flatMap((part) => part.split(/\s+/))
    .filter(Boolean);
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
