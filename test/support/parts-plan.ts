/**
 * A scripted plan (no model) of parts with many small steps, for the tests that kill runs and workers: phase n's
 * step 1 is its tool skill (fetch-notes, write-summary, publish-page), every other step writes its own file through
 * `node scripts/put.mjs out/p<n>/s<step>.md`. The parts form a chain; no human gate; a budget well above the rule's
 * minimum. The crash tests (test/execute-crash.test.ts) and the durable runner's (test/runner-dbos.test.ts) share it.
 */
export const PARTS_SKILLS = ['fetch-notes', 'write-summary', 'publish-page'];

export interface PartsPlanSpec {
  id: string;
  title: string;
  request: string;
  /** Steps per part. */
  steps: number[];
  maxIterations: number;
}

function partText(count: number, index: number): string {
  const id = `P${index + 1}`;
  const dir = `out/p${index + 1}`;
  const lines: string[] = [];
  for (let step = 1; step <= count; step++) {
    const skill = PARTS_SKILLS[index];
    if (step === 1 && skill) lines.push(`${step}. /${skill} "${id} step ${step}"`);
    else lines.push(`${step}. run: \`node scripts/put.mjs ${dir}/s${step}.md "${id} step ${step}"\``);
  }
  return `### ${id}. Part ${index + 1}
- Inputs: notes/accounts.md
- Outputs: ${dir}/*.md
- Context: direct
- Depends on: ${index === 0 ? 'none' : `P${index}`}
- Done when: the last file of the part is written. verify: \`test -s ${dir}/s${count}.md\`
- Status: pending

${lines.join('\n')}
`;
}

export function partsPlan(spec: PartsPlanSpec): string {
  const { steps } = spec;
  const files = steps.reduce((sum, count) => sum + count, 0) - Math.min(PARTS_SKILLS.length, steps.length);
  return `---
deepplan: 1
id: ${spec.id}
title: ${spec.title}
status: approved
created: 2026-11-20
workstream: content
deliverable: content
quality_bar: structural
owner: Ana, account lead
budget:
  max_iterations: ${spec.maxIterations}
  basis: formula
scope:
  write: [notes/**, out/**]
  commands: [node scripts/]
state:
  phase: P1
  iteration: 0
  revision: 0
  next_action: Write the first part
  blockers: []
  updated: 2026-11-20T10:00:00Z
---

# ${spec.title}

## Request

${spec.request}

## Success criteria

- [ ] SC1: The first part is written. verify: \`test -s out/p1/s${steps[0]}.md\`
- [ ] SC2: The last part is written. verify: \`test -s out/p${steps.length}/s${steps[steps.length - 1]}.md\`
- [ ] SC3: Every step wrote its file. verify: \`test "$(ls out/*/s*.md | wc -l)" -ge ${files}\`

## Constraints

- Only files under out/ and notes/.

## Stakeholders

- Ana — account lead, reads the files

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |
| fetch-notes | P1 | Notes live in the CRM |
| write-summary | P2 | House style for summaries |
| publish-page | P3 | The team reads the wiki |

### Excluded

| Skill | Reason |
| --- | --- |
| hubspot-sync | HubSpot is deprecated |
| newsletter-builder | Not a newsletter |

## Phases

${steps.map(partText).join('\n')}
## Running learnings

## Iteration log

| # | When | Phase | Action | Result | Signal | Notes |
| --- | --- | --- | --- | --- | --- | --- |
`;
}
