/**
 * Plan text for tests, built instead of typed: front matter, the body sections, phases in the PLAN_FORMAT layout,
 * iteration-log rows, and SKILL.md files. `edit`, `edits` and `editAll` change a plan and throw when the text they
 * change is not there, so a test cannot go on with a plan that silently stayed as it was after the format drifted.
 */

// ---------------------------------------------------------------------------------------------------------------
// Edits that fail loudly

/**
 * Replaces exactly one occurrence of the string `from`, taking `to` as it is; or the matches of the regular
 * expression `from` (all of them with the `g` flag), where `to` may name groups (`$1`). Throws when the string is not
 * there exactly once or the expression does not match, so a test never goes on with an unchanged plan.
 */
export function edit(text: string, from: string | RegExp, to: string): string {
  if (typeof from === 'string') {
    const first = text.indexOf(from);
    if (first === -1 || text.indexOf(from, first + 1) !== -1) throw new Error(`expected exactly one "${from}" in the plan`);
    return text.slice(0, first) + to + text.slice(first + from.length);
  }
  if (!from.test(text)) throw new Error(`expected ${from} in the plan`);
  from.lastIndex = 0;
  return text.replace(from, to);
}

/** Applies edit() for each [from, to] in order: a chain of edits, each of which must find its text. */
export function edits(text: string, changes: Array<[string | RegExp, string]>): string {
  return changes.reduce((changed, [from, to]) => edit(changed, from, to), text);
}

/**
 * Replaces every occurrence of `from` (a string, or a regular expression, which gets the `g` flag), with `to` or
 * what `to` returns for each match; throws when there is none.
 */
export function editAll(text: string, from: string | RegExp, to: string | ((match: string, ...groups: string[]) => string)): string {
  const pattern =
    typeof from === 'string'
      ? new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g')
      : new RegExp(from.source, from.flags.includes('g') ? from.flags : `${from.flags}g`);
  if (!pattern.test(text)) throw new Error(`expected ${typeof from === 'string' ? `"${from}"` : from} in the plan`);
  pattern.lastIndex = 0;
  // A string `to` is taken as it is (no `$&` patterns), like edit's.
  return text.replace(pattern, typeof to === 'string' ? () => to : (match, ...rest) => to(match, ...(rest.slice(0, -2) as string[])));
}

// ---------------------------------------------------------------------------------------------------------------
// Front matter

export interface FrontMatterSpec {
  id: string;
  title: string;
  owner: string;
  maxIterations: number;
  /** scope.write, as the list's items; `null` leaves the scope out (the whole repository is writable). */
  write: string[] | null;
  commands?: string[];
  status?: string;
  created?: string;
  workstream?: string;
  deliverable?: string;
  qualityBar?: string;
  basis?: string;
  phase?: string;
  iteration?: number;
  revision?: number;
  nextAction: string;
  blockers?: string[];
  updated?: string;
  /** Lines added after `state.updated` (each starting with a newline), e.g. `\n  spent_usd: 0.09`. */
  extraState?: string;
}

/** The front matter block, `---` to `---` and the newline after it. */
export function frontMatter(spec: FrontMatterSpec): string {
  const scope =
    spec.write === null ? [] : ['scope:', `  write: [${spec.write.join(', ')}]`, `  commands: [${(spec.commands ?? ['node scripts/']).join(', ')}]`];
  return [
    '---',
    'deepplan: 1',
    `id: ${spec.id}`,
    `title: ${spec.title}`,
    `status: ${spec.status ?? 'approved'}`,
    `created: ${spec.created ?? '2026-11-20'}`,
    `workstream: ${spec.workstream ?? 'content'}`,
    `deliverable: ${spec.deliverable ?? 'content'}`,
    `quality_bar: ${spec.qualityBar ?? 'structural'}`,
    `owner: ${spec.owner}`,
    'budget:',
    `  max_iterations: ${spec.maxIterations}`,
    `  basis: ${spec.basis ?? 'formula'}`,
    ...scope,
    'state:',
    `  phase: ${spec.phase ?? 'P1'}`,
    `  iteration: ${spec.iteration ?? 0}`,
    `  revision: ${spec.revision ?? 0}`,
    `  next_action: ${spec.nextAction}`,
    `  blockers: [${(spec.blockers ?? []).join(', ')}]`,
    `  updated: ${spec.updated ?? '2026-11-20T10:00:00Z'}${spec.extraState ?? ''}`,
    '---',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Phases and the body

export interface PhaseSpec {
  /** `P1`, `P3a`. */
  id: string;
  title: string;
  inputs: string[];
  outputs: string[];
  context?: string;
  /** Phase ids; empty or left out is `none`. */
  dependsOn?: string[];
  gate?: 'human' | 'review' | 'none';
  /** The done-when text as written before ` verify:` (with its full stop). */
  doneWhen: string;
  verify?: string;
  status?: string;
  /** The numbered steps' text. */
  steps: string[];
}

/** One phase: its heading, its field list, a blank line and its numbered steps. */
export function phaseText(phase: PhaseSpec): string {
  const fields = [
    `### ${phase.id}. ${phase.title}`,
    `- Inputs: ${phase.inputs.join(', ')}`,
    `- Outputs: ${phase.outputs.join(', ')}`,
    `- Context: ${phase.context ?? 'direct'}`,
    `- Depends on: ${phase.dependsOn?.length ? phase.dependsOn.join(', ') : 'none'}`,
    ...(phase.gate && phase.gate !== 'none' ? [`- Gate: ${phase.gate}`] : []),
    `- Done when: ${phase.doneWhen}${phase.verify === undefined ? '' : ` verify: \`${phase.verify}\``}`,
    `- Status: ${phase.status ?? 'pending'}`,
  ];
  return `${fields.join('\n')}\n\n${phase.steps.map((step, index) => `${index + 1}. ${step}`).join('\n')}\n`;
}

export interface CriterionSpec {
  text: string;
  verify?: string;
  done?: boolean;
}

export interface PlanSpec {
  front: FrontMatterSpec;
  /** The paragraph(s) of `## Request`. */
  request: string;
  criteria: CriterionSpec[];
  constraints: string[];
  stakeholders: string[];
  /** [skill, phases, why] rows of `### Mapped`. */
  mapped: Array<[string, string, string]>;
  /** [skill, reason] rows of `### Excluded`. */
  excluded: Array<[string, string]>;
  phases: PhaseSpec[];
  /** Running learnings, one list item each. */
  learnings?: string[];
  /** Iteration-log rows, as logRows makes them. */
  log?: string;
}

const list = (items: string[]) => items.map((item) => `- ${item}`).join('\n');

/** The header and delimiter row of the iteration-log table, with the newline after them. */
export const LOG_TABLE = '| # | When | Phase | Action | Result | Signal | Notes |\n| --- | --- | --- | --- | --- | --- | --- |\n';

/** `## Running learnings` and `## Iteration log` with its table, the end of every plan. */
export function planEnd(learnings: string[] = [], rows = ''): string {
  return `## Running learnings\n\n${learnings.length ? `${list(learnings)}\n\n` : ''}## Iteration log\n\n${LOG_TABLE}${rows ? `${rows}\n` : ''}`;
}

/** A whole plan in the PLAN_FORMAT layout. */
export function planText(plan: PlanSpec): string {
  const criteria = plan.criteria.map(
    (criterion, index) =>
      `- [${criterion.done ? 'x' : ' '}] SC${index + 1}: ${criterion.text}${criterion.verify === undefined ? '' : ` verify: \`${criterion.verify}\``}`,
  );
  return [
    frontMatter(plan.front),
    `# ${plan.front.title}\n`,
    `## Request\n\n${plan.request}\n`,
    `## Success criteria\n\n${criteria.join('\n')}\n`,
    `## Constraints\n\n${list(plan.constraints)}\n`,
    `## Stakeholders\n\n${list(plan.stakeholders)}\n`,
    '## Skills\n',
    `### Mapped\n\n| Skill | Phases | Why |\n| --- | --- | --- |\n${plan.mapped.map((row) => `| ${row.join(' | ')} |`).join('\n')}\n`,
    `### Excluded\n\n| Skill | Reason |\n| --- | --- |\n${plan.excluded.map((row) => `| ${row.join(' | ')} |`).join('\n')}\n`,
    '## Phases\n',
    ...plan.phases.map(phaseText),
    planEnd(plan.learnings, plan.log),
  ].join('\n');
}

/**
 * The small plan of test/support/fixtures.ts (SMALL_PLAN) as a spec: `planText(SMALL_PLAN_SPEC)` is SMALL_PLAN, byte
 * for byte (test/plan-text.test.ts). Spread it to build a variant by structure rather than by editing text.
 */
/** The skill audit of the small plan's three skills (and two left out), shared by the plans built on its skills. */
export const SMALL_SKILL_AUDIT: Pick<PlanSpec, 'mapped' | 'excluded'> = {
  mapped: [
    ['fetch-notes', 'P1', 'Notes live in the CRM'],
    ['write-summary', 'P2', 'House style for summaries'],
    ['publish-page', 'P3', 'The team reads the wiki'],
  ],
  excluded: [
    ['hubspot-sync', 'HubSpot is deprecated'],
    ['newsletter-builder', 'Not a newsletter'],
  ],
};

export const SMALL_PLAN_SPEC: PlanSpec = {
  front: {
    id: 'weekly-summary',
    title: 'Weekly account summary',
    owner: 'Ana, account lead',
    maxIterations: 15,
    write: ['notes/**', 'out/**'],
    nextAction: 'Fetch the notes',
  },
  request: "Summarise this week's account notes into one page for the team.",
  criteria: [
    { text: 'The notes of this week are fetched.', verify: 'test -s notes/week.md' },
    { text: 'The summary has one line per account.', verify: `test "$(grep -c '^- ' out/summary.md)" -ge 3` },
    { text: 'The page is published.', verify: 'test -s out/published.txt' },
  ],
  constraints: ["Only this week's notes."],
  stakeholders: ['Ana — account lead, reads the summary'],
  ...SMALL_SKILL_AUDIT,
  phases: [
    {
      id: 'P1',
      title: 'Fetch the notes',
      inputs: ['notes/accounts.md'],
      outputs: ['notes/week.md'],
      doneWhen: 'the notes are fetched.',
      verify: 'test -s notes/week.md',
      steps: ['/fetch-notes --week current --out notes/week.md'],
    },
    {
      id: 'P2',
      title: 'Write the summary',
      inputs: ['notes/week.md'],
      outputs: ['out/summary.md'],
      dependsOn: ['P1'],
      doneWhen: 'one line per account.',
      verify: 'test -s out/summary.md',
      steps: ['/write-summary notes/week.md --out out/summary.md'],
    },
    {
      id: 'P3',
      title: 'Publish the page',
      inputs: ['out/summary.md'],
      outputs: ['out/published.txt'],
      dependsOn: ['P2'],
      gate: 'human',
      doneWhen: 'the page is published.',
      verify: 'test -s out/published.txt',
      steps: ['/publish-page out/summary.md', 'run: `node scripts/record-url.mjs out/published.txt`'],
    },
  ],
};

/** Log rows in the table format: [when, phase, action, result, signal, notes?], numbered from `start`. */
export function logRows(rows: Array<[string, string, string, string, string, string?]>, start = 1): string {
  return rows
    .map(
      ([when, phase, action, result, signal, notes], index) => `| ${start + index} | ${when} | ${phase} | ${action} | ${result} | ${signal} | ${notes ?? ''} |`,
    )
    .join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Skills

export type MetadataValue = string | string[] | boolean;

export interface SkillSpec {
  name: string;
  description: string;
  /** Front-matter lines after the description, as written (each ending with a newline). */
  extra?: string;
  /** `metadata:` entries; a string is written as it is (its lines indented by the caller). */
  metadata?: Record<string, MetadataValue> | string;
  /** How a metadata value is written; JSON strings and lists by default. */
  value?: (value: MetadataValue) => string;
  /** The body after the `# name` heading; none leaves the file at the heading. */
  body?: string;
}

const jsonValue = (value: MetadataValue) =>
  Array.isArray(value) ? `[${value.map((item) => JSON.stringify(item)).join(', ')}]` : typeof value === 'string' ? JSON.stringify(value) : String(value);

/** A SKILL.md: front matter (name, description as a JSON string, extra lines, metadata), the heading, the body. */
export function skillMd(spec: SkillSpec): string {
  const value = spec.value ?? jsonValue;
  const entries =
    typeof spec.metadata === 'string'
      ? spec.metadata
      : Object.entries(spec.metadata ?? {})
          .map(([key, item]) => `  ${key}: ${value(item)}\n`)
          .join('');
  const metadata = entries ? `metadata:\n${entries}` : '';
  return `---\nname: ${spec.name}\ndescription: ${JSON.stringify(spec.description)}\n${spec.extra ?? ''}${metadata}---\n\n# ${spec.name}\n${spec.body === undefined ? '' : `\n${spec.body}\n`}`;
}

/** The repository path of a skill's SKILL.md. */
export const skillPath = (name: string) => `.claude/skills/${name}/SKILL.md`;
