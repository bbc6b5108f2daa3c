import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { budgetArithmetic, budgetFor, FORMULA } from '../src/calibration/calibration.js';
import { contextFor, lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import type { DraftPhase, PlanDraft } from '../src/pipeline/draft.js';
import { sizePhases } from '../src/pipeline/sizing.js';
import { renderPlan } from '../src/pipeline/write.js';
import { SMALL_PLAN_SKILLS, makeRepo } from './support/fixtures.js';

function phase(id: string, title: string, changes: Partial<DraftPhase>): DraftPhase {
  return { id, title, inputs: [], outputs: [], context: 'direct', dependsOn: [], gate: 'none', doneWhen: { text: 'done' }, steps: [], ...changes };
}

function draft(phases: DraftPhase[]): PlanDraft {
  return {
    meta: { id: 'source-review', title: 'Review three sources', workstream: 'consulting', deliverable: 'research', quality_bar: 'structural' },
    request: 'Review src/small.ts, src/medium.ts and src/large.ts and write one findings page.',
    criteria: [
      { id: 'SC1', text: 'One findings page exists', verify: 'test -s out/findings.md' },
      { id: 'SC2', text: 'Every source is cited', verify: "grep -c 'src/' out/findings.md" },
      { id: 'SC3', text: 'The page is under 800 words', verify: 'test "$(wc -w < out/findings.md)" -lt 800' },
    ],
    constraints: ['Read-only: no source file changes.'],
    stakeholders: ['Ana — account lead, reads the page'],
    clarifications: [{ question: 'Who reads the page?', answer: 'Ana, the account lead' }],
    skills: {
      mapped: [
        { name: 'fetch-notes', phases: ['P1'], why: 'Notes live in the CRM' },
        { name: 'write-summary', phases: ['P4'], why: 'House style | for pages' },
        { name: 'publish-page', phases: ['P5'], why: 'The team reads the wiki' },
      ],
      excluded: [
        { name: 'hubspot-sync', reason: 'HubSpot is deprecated' },
        { name: 'newsletter-builder', reason: 'Not a newsletter' },
      ],
    },
    phases: [
      phase('P1', 'Fetch the notes', {
        outputs: ['notes/week.md'],
        steps: [{ kind: 'skill', skill: 'fetch-notes', args: '--week current --out notes/week.md' }],
        doneWhen: { text: 'fetched', verify: 'test -s notes/week.md' },
      }),
      phase('P2', 'Read the medium source', {
        inputs: ['src/small.ts', 'src/medium.ts'],
        outputs: ['notes/medium.md'],
        dependsOn: ['P1'],
        steps: [{ kind: 'model', text: 'Note the findings of src/medium.ts in notes/medium.md.' }],
        doneWhen: { text: 'the notes exist', verify: 'test -s notes/medium.md' },
      }),
      phase('P3', 'Read the large source', {
        inputs: ['src/large.ts'],
        outputs: ['notes/large.md'],
        dependsOn: ['P2'],
        steps: [{ kind: 'model', text: 'Note the findings of src/large.ts in notes/large.md.' }],
        doneWhen: { text: 'the notes exist', verify: 'test -s notes/large.md' },
      }),
      phase('P4', 'Write the findings page', {
        inputs: ['notes/*.md'],
        outputs: ['out/findings.md'],
        dependsOn: ['P3'],
        steps: [{ kind: 'skill', skill: 'write-summary', args: 'notes --out out/findings.md' }],
        doneWhen: { text: 'the page exists', verify: 'test -s out/findings.md' },
      }),
      phase('P5', 'Publish the page', {
        inputs: ['out/findings.md'],
        outputs: ['out/published.txt'],
        dependsOn: ['P4'],
        gate: 'human',
        steps: [
          { kind: 'skill', skill: 'publish-page', args: 'out/findings.md' },
          { kind: 'run', command: 'node scripts/record-url.mjs out/published.txt' },
        ],
        doneWhen: { text: 'the page address is recorded', verify: 'test -s out/published.txt' },
      }),
    ],
    learnings: ['The CRM export is a day behind on Mondays.'],
  };
}

const lines = (count: number) => 'const x = 1;\n'.repeat(count);

describe('writing a new plan', () => {
  it('renders a sized draft that parses back and lints with no errors', () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'src/small.ts': lines(412), 'src/medium.ts': lines(3_500 - 412), 'src/large.ts': lines(7_000) });
    const { draft: sized, changes } = sizePhases(draft(draft([]).phases), contextFor(join(root, 'plans', 'x.md')));
    expect(changes).toHaveLength(2);
    const budget = budgetFor(FORMULA, sized.phases.length, sized.criteria.length);
    const text = renderPlan(sized, {
      status: 'draft',
      created: '2026-11-22',
      budget: { max_iterations: budget, basis: 'formula', arithmetic: budgetArithmetic(FORMULA, sized.phases.length, sized.criteria.length) },
      scope: { write: ['notes/**', 'out/**'], commands: ['node scripts/'] },
      updated: '2026-11-22T10:00:00Z',
    });
    const findings = lintText(text, join(root, 'plans', 'source-review.md'));
    expect(findings.filter((finding) => finding.severity === 'error')).toEqual([]);
    expect(findings).toEqual([]);

    const plan = parsePlan(text);
    expect(plan.phases.map((p) => [p.id, p.context])).toEqual([
      ['P1', 'direct'],
      ['P2a', 'extract_then_assemble'],
      ['P2', 'direct'],
      ['P3a', 'map_reduce'],
      ['P3', 'direct'],
      ['P4', 'direct'],
      ['P5', 'direct'],
    ]);
    expect(plan.phases[1]!.inputs).toEqual(['src/small.ts', 'src/medium.ts']);
    expect(plan.phases[3]!.inputs).toEqual(['src/large.ts']);
    expect(plan.phases[6]!.steps.map((step) => [step.kind, step.skill ?? step.command])).toEqual([
      ['skill', 'publish-page'],
      ['run', 'node scripts/record-url.mjs out/published.txt'],
    ]);
    expect(plan.meta.budget).toMatchObject({ max_iterations: budget, basis: 'formula' });
    expect(plan.frontMatter?.data?.['budget']).toMatchObject({ arithmetic: 'ceil((2 × 7 + 3 / 3 + 5) × 1.15) = 23' });
    expect(plan.skills?.mapped?.[1]!.why).toBe('House style | for pages');
    expect(plan.criteria?.map((criterion) => criterion.verify)).toEqual(draft([]).criteria.map((criterion) => criterion.verify));
    expect(text).toContain('## Clarifications\n\n- Q: Who reads the page? → A: Ana, the account lead\n');
  });
});
