import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePlan } from '../src/plan/parse.js';
import { skillContract } from '../src/pipeline/context.js';
import { contractFindings, toDraft } from '../src/pipeline/generate.js';
import { applyRevision, locatedPassage } from '../src/review/revise.js';
import { discoverSkills, skillDirectories } from '../src/skills/discover.js';
import { dealAnswer, dealRepository } from './support/plan-workloads.js';
import { FakeProviders } from './support/fake-providers.js';
import { edit, makeRepo, runCli, SMALL_PLAN, SMALL_PLAN_SKILLS } from './support/fixtures.js';

const P4 = `### P4. Announce the page
- Inputs: out/published.txt
- Outputs: out/announcement.md
- Context: direct
- Depends on: P3
- Done when: the announcement names the page. verify: \`grep -q 'summary' out/announcement.md\`
- Status: pending

1. run: \`node scripts/announce.mjs out/published.txt\`

## Running learnings`;

const addPhase = {
  edits: [
    {
      finding: 1,
      find: '2. run: `node scripts/record-url.mjs out/published.txt`\n\n## Running learnings',
      replace: `2. run: \`node scripts/record-url.mjs out/published.txt\`\n\n${P4}`,
    },
  ],
};

describe("the skills' contracts against a planner's plan", () => {
  const root = makeRepo(dealRepository());
  const contracts = new Map([...discoverSkills(skillDirectories(root, [], '')).skills.values()].map((skill) => [skill.name, skillContract(skill)]));

  it('finds nothing in the plan that keeps to them', () => {
    expect(contractFindings(toDraft(dealAnswer()), contracts)).toEqual([]);
  });

  it('names a phase that does not list what its skill writes (once per phase and skill), and a skill neither used nor excluded', () => {
    const answer = dealAnswer({ wrongOutput: true, forgottenSkill: true });
    // The scoring phases forget the index the skill appends to.
    answer.phases[1]!.outputs = answer.phases[1]!.outputs.filter((output) => output !== 'scores/index.csv');
    const findings = contractFindings(toDraft(answer), contracts);
    expect(findings.map((finding) => `${finding.rule}: ${finding.message}`)).toEqual([
      'skill-contract: your phase 2 ("Score Stage-3 deals northwind-traders to delta-freight (group 1 of 10)") invokes /deal-scoring, which writes scores/index.csv, but the phase\'s outputs are scores/northwind-traders.json, scores/bluefin-logistics.json, scores/cobalt-labs.json, scores/delta-freight.json',
      'skill-contract: your phase 13 ("Write the one-page Stage-3 review for the pipeline call") invokes /stage-report, which writes reports/stage-3-review.md, but the phase\'s outputs are reports/review.md',
      'skill-audit: the installed skill rep-coaching is neither invoked nor excluded (Writes coaching notes for each rep from the deal scores: their three weakest deals and what to fix.)',
    ]);
    expect(findings.map((finding) => Boolean(finding.advisory))).toEqual([false, false, true]);
  });

  it('does not hold a skill to a write that names no file ("crm (Salesforce)")', () => {
    const answer = dealAnswer();
    answer.phases[14]!.steps.push({ kind: 'skill', text: '/forecast-sync scores/index.csv' });
    answer.skills_excluded = answer.skills_excluded.filter((skill) => skill.name !== 'forecast-sync');
    expect(contractFindings(toDraft(answer), contracts)).toEqual([]);
  });
});

describe("a revision's budget", () => {
  it('is recomputed when the edits add a phase and the plan had the computed budget', () => {
    const computed = edit(SMALL_PLAN, 'max_iterations: 15', 'max_iterations: 14');
    const revised = applyRevision('plans/p.md', computed, addPhase, { root: makeRepo() });
    expect(revised.applied).toEqual([1]);
    expect(parsePlan(revised.text).phases).toHaveLength(4);
    // ceil((2 × 4 + 3 / 3 + 5) × 1.15) = 17
    expect(parsePlan(revised.text).meta.budget).toMatchObject({ max_iterations: 17, basis: 'formula' });
    expect(revised.budget).toBe('ceil((2 × 4 + 3 / 3 + 5) × 1.15) = 17');
    expect(revised.diff).toContain('+  max_iterations: 17');
  });

  it('keeps a budget a person raised above the computed one, and is left alone without a root', () => {
    const raised = edit(SMALL_PLAN, 'max_iterations: 15', 'max_iterations: 40');
    const revised = applyRevision('plans/p.md', raised, addPhase, { root: makeRepo() });
    expect(parsePlan(revised.text).meta.budget?.max_iterations).toBe(40);
    expect(revised.budget).toBeNull();
    const computed = edit(SMALL_PLAN, 'max_iterations: 15', 'max_iterations: 14');
    expect(parsePlan(applyRevision('plans/p.md', computed, addPhase).text).meta.budget?.max_iterations).toBe(14);
  });
});

describe('the passage a revision is asked about', () => {
  it("is the plan's own text where the reviewer's quote differs in case, spacing or escapes", () => {
    const line = SMALL_PLAN.split('\n').findIndex((candidate) => candidate.startsWith('- Done when: one line per account')) + 1;
    expect(locatedPassage(SMALL_PLAN, { quote: 'Done when:   ONE line per account.', line })).toBe(
      '- Done when: one line per account. verify: `test -s out/summary.md`',
    );
    const request = SMALL_PLAN.split('\n').indexOf('## Request') + 3;
    expect(locatedPassage(SMALL_PLAN, { quote: "this week's account notes", line: request })).toBe(
      "Summarise this week's account notes into one page for the team.",
    );
    // A quote over two lines gives both.
    const fields = SMALL_PLAN.split('\n').indexOf('- Inputs: notes/week.md') + 1;
    expect(locatedPassage(SMALL_PLAN, { quote: 'notes/week.md - Outputs: out/summary.md', line: fields })).toBe(
      '- Inputs: notes/week.md\n- Outputs: out/summary.md',
    );
  });
});

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.close();
});

describe('deepplan review with a planner that revises', () => {
  it('refuses a revision that keeps adding lint errors after 2 repair turns: the plan is unchanged, the errors listed, exit 1', async () => {
    const plan = edit(SMALL_PLAN, 'status: approved', 'status: in_review');
    const root = makeRepo({
      ...SMALL_PLAN_SKILLS,
      'plans/p.md': plan,
      'notes/accounts.md': '- Acme\n',
      'deepplan.config.yaml': 'models:\n  planner: anthropic/claude-test\n  reviewer: openai/gpt-test\nlimits:\n  max_attempts: 1\n',
    });
    const line = plan.split('\n').findIndex((candidate) => candidate.startsWith('- Done when: one line per account')) + 1;
    fake.queue('openai-responses', {
      kind: 'answer',
      object: {
        verdict: 'REVISE',
        findings: [
          {
            severity: 'high',
            line,
            section: 'P2',
            quote: 'one line per account. verify:',
            issue: 'The verify passes with an empty line.',
            fix: 'Count the lines.',
          },
        ],
      },
    });
    // Each answer points P2 at a phase that does not exist.
    const broken = {
      edits: [{ finding: 1, find: '- Depends on: P1\n- Done when: one line per account.', replace: '- Depends on: P9\n- Done when: one line per account.' }],
    };
    fake.always('anthropic', { kind: 'answer', object: broken });
    const result = await runCli(['review', 'plans/p.md'], root, fake.env({ anthropic: 'sk-ant-test-0123456789', openai: 'sk-openai-test-0123456789' }));
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(fake.count('anthropic')).toBe(3);
    const lines = result.stderr.trim().split('\n');
    const at = lines.findIndex((candidate) => candidate.startsWith("deepplan: the planner's revision still leaves"));
    expect(lines[at]).toBe("deepplan: the planner's revision still leaves 1 lint error(s) after 2 repair turn(s); the plan is unchanged:");
    expect(lines[at + 1]).toMatch(/^ {2}- \[phase-dependencies\] line \d+: .*P9/);
    expect(result.stderr).toMatch(/repair turn 1 of 2: the revised plan has 1 lint error\(s\) \(phase-dependencies\); back to the planner/);
    expect(readFileSync(join(root, 'plans/p.md'), 'utf8')).not.toContain('P9');
    // The revise prompt quotes the plan's own passage and names no document the model does not have.
    const revise = JSON.stringify(fake.requests.find((request) => request.wire === 'anthropic')!.body);
    expect(revise).toContain('> - Done when: one line per account. verify: `test -s out/summary.md`');
    expect(revise).not.toContain('PLAN_FORMAT');
  }, 30_000);
});
