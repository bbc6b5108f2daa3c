import type { BlockContent, List, ListItem, PhrasingContent, Root, RootContent, Table, TableRow } from 'mdast';
import remarkGfm from 'remark-gfm';
import remarkStringify from 'remark-stringify';
import { unified } from 'unified';
import { Document } from 'yaml';
import { LOG_HEADER } from '../plan/parse.js';
import type { PlanMeta } from '../plan/schema.js';
import type { DraftPhase, DraftStep, PlanDraft } from './draft.js';

/**
 * Writes a new plan document in the PLAN_FORMAT layout: the front matter with `yaml`, the body as an mdast tree
 * through remark-stringify (new documents only; existing plans are edited surgically). Paths and commands are code
 * spans, so the writer never has to escape a glob's `*` or a command's `_`.
 */

const text = (value: string): PhrasingContent => ({ type: 'text', value });
const code = (value: string): PhrasingContent => ({ type: 'inlineCode', value });
const paragraph = (children: PhrasingContent[]): BlockContent => ({ type: 'paragraph', children });
const heading = (depth: 1 | 2 | 3, value: string): RootContent => ({ type: 'heading', depth, children: [text(value)] });

function item(children: PhrasingContent[], checked?: boolean): ListItem {
  return { type: 'listItem', spread: false, ...(checked === undefined ? {} : { checked }), children: [paragraph(children)] };
}

function bulletList(items: ListItem[]): List {
  return { type: 'list', ordered: false, spread: false, children: items };
}

function codeList(paths: string[]): PhrasingContent[] {
  if (paths.length === 0) return [text('none')];
  return paths.flatMap((path, index) => (index === 0 ? [code(path)] : [text(', '), code(path)]));
}

function withVerify(description: string, verify: string | undefined): PhrasingContent[] {
  return verify ? [text(`${description}. verify: `), code(verify)] : [text(description)];
}

function table(header: string[], rows: string[][]): Table {
  const row = (cells: string[]): TableRow => ({ type: 'tableRow', children: cells.map((cell) => ({ type: 'tableCell', children: cell ? [text(cell)] : [] })) });
  return { type: 'table', align: header.map(() => null), children: [row(header), ...rows.map(row)] };
}

function stepContent(step: DraftStep): PhrasingContent[] {
  if (step.kind === 'run') return [text('run: '), code(step.command)];
  if (step.kind === 'skill') return step.args ? [text(`/${step.skill} `), code(step.args)] : [text(`/${step.skill}`)];
  return [text(step.text)];
}

function phaseNodes(phase: DraftPhase): RootContent[] {
  const fields: ListItem[] = [
    item([text('Inputs: '), ...codeList(phase.inputs)]),
    item([text('Outputs: '), ...codeList(phase.outputs)]),
    item([text(`Context: ${phase.context}`)]),
    item([text(`Depends on: ${phase.dependsOn.length > 0 ? phase.dependsOn.join(', ') : 'none'}`)]),
    ...(phase.gate !== 'none' ? [item([text(`Gate: ${phase.gate}`)])] : []),
    item([text('Done when: '), ...withVerify(phase.doneWhen.text, phase.doneWhen.verify)]),
    item([text('Status: pending')]),
  ];
  const steps: List = { type: 'list', ordered: true, start: 1, spread: false, children: phase.steps.map((step) => item(stepContent(step))) };
  return [heading(3, `${phase.id}. ${phase.title}`), bulletList(fields), steps];
}

export interface FrontMatterFields {
  status: PlanMeta['status'];
  created: string;
  budget: { max_iterations: number; basis: 'formula' | 'calibrated'; arithmetic?: string };
  owner?: string;
  scope?: PlanMeta['scope'];
  updated: string;
  /** What planning it cost, in US dollars: the plan's state.spent_usd starts there. */
  spentUsd?: number;
}

export function renderPlan(draft: PlanDraft, fields: FrontMatterFields): string {
  const front = new Document({
    deepplan: 1,
    id: draft.meta.id,
    title: draft.meta.title,
    status: fields.status,
    created: fields.created,
    workstream: draft.meta.workstream,
    deliverable: draft.meta.deliverable,
    quality_bar: draft.meta.quality_bar,
    ...((fields.owner ?? draft.meta.owner) ? { owner: fields.owner ?? draft.meta.owner } : {}),
    budget: fields.budget,
    ...(fields.scope ? { scope: fields.scope } : {}),
    state: {
      phase: draft.phases[0]?.id ?? null,
      iteration: 0,
      revision: 0,
      next_action: draft.phases[0] ? `Start ${draft.phases[0].id}: ${draft.phases[0].title}` : null,
      blockers: [],
      updated: fields.updated,
      ...(fields.spentUsd !== undefined && fields.spentUsd > 0 ? { spent_usd: Math.round(fields.spentUsd * 1e6) / 1e6 } : {}),
    },
  });
  for (const key of ['scope', 'state'] as const) {
    const node = front.getIn(key === 'scope' ? ['scope', 'write'] : ['state', 'blockers'], true) as { flow?: boolean } | undefined;
    if (node) node.flow = true;
  }
  const commands = front.getIn(['scope', 'commands'], true) as { flow?: boolean } | undefined;
  if (commands) commands.flow = true;

  const children: RootContent[] = [
    heading(1, draft.meta.title),
    heading(2, 'Request'),
    paragraph([text(draft.request)]),
    heading(2, 'Success criteria'),
    bulletList(draft.criteria.map((criterion) => item([text(`${criterion.id}: `), ...withVerify(criterion.text, criterion.verify)], false))),
  ];
  if (draft.constraints.length > 0) children.push(heading(2, 'Constraints'), bulletList(draft.constraints.map((entry) => item([text(entry)]))));
  if (draft.stakeholders.length > 0) children.push(heading(2, 'Stakeholders'), bulletList(draft.stakeholders.map((entry) => item([text(entry)]))));
  if (draft.clarifications.length > 0) {
    children.push(heading(2, 'Clarifications'), bulletList(draft.clarifications.map((entry) => item([text(`Q: ${entry.question} → A: ${entry.answer}`)]))));
  }
  children.push(
    heading(2, 'Skills'),
    heading(3, 'Mapped'),
    table(
      ['Skill', 'Phases', 'Why'],
      draft.skills.mapped.map((skill) => [skill.name, skill.phases.join(', '), skill.why]),
    ),
    heading(3, 'Excluded'),
    table(
      ['Skill', 'Reason'],
      draft.skills.excluded.map((skill) => [skill.name, skill.reason]),
    ),
    heading(2, 'Phases'),
    ...draft.phases.flatMap(phaseNodes),
    heading(2, 'Running learnings'),
  );
  if (draft.learnings.length > 0) children.push(bulletList(draft.learnings.map((entry) => item([text(entry)]))));
  children.push(heading(2, 'Iteration log'), table([...LOG_HEADER], []));

  const body = unified()
    .use(remarkGfm)
    .use(remarkStringify, { bullet: '-', listItemIndent: 'one', fences: true, rule: '-', emphasis: '_' })
    .stringify({ type: 'root', children } satisfies Root);
  return `---\n${front.toString({ lineWidth: 0, flowCollectionPadding: false })}---\n\n${body}`;
}
