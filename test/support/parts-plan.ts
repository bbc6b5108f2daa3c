import { type PhaseSpec, planText, SMALL_SKILL_AUDIT } from './plan-text.js';

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

function part(count: number, index: number): PhaseSpec {
  const id = `P${index + 1}`;
  const dir = `out/p${index + 1}`;
  const skill = PARTS_SKILLS[index];
  return {
    id,
    title: `Part ${index + 1}`,
    inputs: ['notes/accounts.md'],
    outputs: [`${dir}/*.md`],
    dependsOn: index === 0 ? [] : [`P${index}`],
    doneWhen: 'the last file of the part is written.',
    verify: `test -s ${dir}/s${count}.md`,
    steps: Array.from({ length: count }, (_, offset) =>
      offset === 0 && skill ? `/${skill} "${id} step 1"` : `run: \`node scripts/put.mjs ${dir}/s${offset + 1}.md "${id} step ${offset + 1}"\``,
    ),
  };
}

export function partsPlan(spec: PartsPlanSpec): string {
  const { steps } = spec;
  const files = steps.reduce((sum, count) => sum + count, 0) - Math.min(PARTS_SKILLS.length, steps.length);
  return planText({
    front: {
      id: spec.id,
      title: spec.title,
      owner: 'Ana, account lead',
      maxIterations: spec.maxIterations,
      write: ['notes/**', 'out/**'],
      nextAction: 'Write the first part',
    },
    request: spec.request,
    criteria: [
      { text: 'The first part is written.', verify: `test -s out/p1/s${steps[0]}.md` },
      { text: 'The last part is written.', verify: `test -s out/p${steps.length}/s${steps[steps.length - 1]}.md` },
      { text: 'Every step wrote its file.', verify: `test "$(ls out/*/s*.md | wc -l)" -ge ${files}` },
    ],
    constraints: ['Only files under out/ and notes/.'],
    stakeholders: ['Ana — account lead, reads the files'],
    ...SMALL_SKILL_AUDIT,
    phases: steps.map(part),
  });
}
