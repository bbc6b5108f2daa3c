import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changedFiles, snapshot, type Scope } from '../src/execute/scope.js';
import { offlineGateFindings } from '../src/execute/gate.js';
import { ScriptedModel } from '../src/models/scripted.js';
import type { Model } from '../src/models/types.js';
import { parsePlan } from '../src/plan/parse.js';
import { FakeProviders } from './support/fake-providers.js';
import { makeRepo } from './support/fixtures.js';
import { iterate, modelPlan, modelRepo, promptOf, readPlan, stateErrors, toolCall } from './support/model-plan.js';
import { PUT_SCRIPT } from './support/scripted.js';

/**
 * The loop's own integrity: progress is what the files' content says (not their modification time), only an action
 * that made progress leaves a learning, and the quality gate judges the files and the plan's criteria rather than
 * the executor's report of its work.
 */

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.close();
});

describe('progress is measured by content', () => {
  const scope = (root: string): Scope => ({ root, write: ['enriched/**'], commands: null, planFile: 'plans/p.md' });
  /** 120 account records of an enrichment run. */
  const accounts = Object.fromEntries(
    Array.from({ length: 120 }, (_, i) => [
      `enriched/account-${String(i).padStart(3, '0')}.json`,
      `{"id":${i},"domain":"acct${i}.example","employees":${100 + i}}\n`,
    ]),
  );

  it('a file rewritten with the same bytes is no change; a change that keeps the size and the time is one', () => {
    const root = makeRepo(accounts);
    const before = snapshot(scope(root));
    expect(before.size).toBe(120);
    const file = join(root, 'enriched/account-007.json');
    const text = readFileSync(file, 'utf8');
    const { atime, mtime } = statSync(file);
    // Same content, a new modification time.
    writeFileSync(file, text);
    utimesSync(file, atime, new Date(mtime.getTime() + 5_000));
    expect(changedFiles(before, snapshot(scope(root)))).toEqual([]);
    // Other content of the same size, the old modification time put back: still a change.
    writeFileSync(file, text.replace('"employees":107', '"employees":701'));
    utimesSync(file, atime, mtime);
    expect(statSync(file).size).toBe(text.length);
    expect(changedFiles(before, snapshot(scope(root)))).toEqual(['enriched/account-007.json']);
    // Added and removed files are changes too.
    writeFileSync(join(root, 'enriched/account-900.json'), '{}\n');
    expect(changedFiles(before, snapshot(scope(root)))).toEqual(['enriched/account-007.json', 'enriched/account-900.json']);
  });

  it('the executor writing a file with the content it already has is a no-change row, not progress', async () => {
    const root = modelRepo(modelPlan(), { 'notes/week.md': '- Acme: renewed\n' });
    fake.queue(
      'anthropic',
      toolCall({ tool: 'write_file', path: 'notes/week.md', content: '- Acme: renewed\n', step_done: false, summary: 'the same notes again' }),
    );
    const report = await iterate(root, fake);
    expect(report.rows[0]).toMatchObject({ action: 'P1.1 write_file notes/week.md', result: 'no-change' });
    expect(report.rows[0]!.notes).toMatch(/^wrote notes\/week\.md \(unchanged\)/);
  });

  it('a command that rewrites a file with identical content is a no-change row', async () => {
    // Two steps, so the phase is not done after the first (a phase done is progress of its own).
    const plan = modelPlan({ steps: ['run: `node scripts/put.mjs notes/week.md "- Acme: renewed"`', 'Check notes/week.md.'] });
    const root = modelRepo(plan, { 'notes/week.md': '- Acme: renewed\n', 'scripts/put.mjs': PUT_SCRIPT });
    const before = statSync(join(root, 'notes/week.md')).mtimeMs;
    const report = await iterate(root, null);
    expect(statSync(join(root, 'notes/week.md')).mtimeMs).not.toBe(before);
    expect(report.rows[0]).toMatchObject({ action: 'P1.1 run node scripts/put.mjs notes/week.md "- Acme: renewed"', result: 'no-change' });
    expect(report.rows[0]!.notes).toMatch(/^step done; nothing changed/);
  });
});

describe('a learning is kept only from an action that made progress', () => {
  it('a claim that comes with no change is dropped; one that comes with a change is kept', async () => {
    const root = modelRepo(modelPlan({ steps: ['Read notes/accounts.md.', 'Write notes/week.md with one line per account.'] }));
    fake.queue(
      'anthropic',
      toolCall({ tool: 'read_file', path: 'notes/accounts.md', step_done: true, learning: 'all phases are complete' }),
      toolCall({
        tool: 'write_file',
        path: 'notes/week.md',
        content: '- Acme\n- Globex\n- Initech\n',
        step_done: true,
        learning: 'the accounts list has three entries',
      }),
    );
    const read = await iterate(root, fake);
    expect(read.rows[0]).toMatchObject({ result: 'no-change' });
    expect(readPlan(root).learnings?.map((entry) => entry.text)).toEqual([]);
    const write = await iterate(root, fake);
    expect(write.rows[0]).toMatchObject({ result: 'ok' });
    expect(readPlan(root).learnings?.map((entry) => entry.text)).toEqual(['P1.2: the accounts list has three entries']);
    // The false claim never reached a prompt.
    const second = promptOf(fake.requests.filter((request) => request.wire === 'anthropic')[1]!);
    expect(second).not.toContain('all phases are complete');
    expect(stateErrors(root)).toEqual([]);
  });

  it("a failed action keeps no claim, while what the engine itself measured (a skill's tools) stays", async () => {
    const root = modelRepo(modelPlan({ p1Done: true }), { 'notes/week.md': '- Acme\n' });
    fake.queue(
      'anthropic',
      toolCall({ tool: 'write_file', path: '../elsewhere.md', content: 'x\n', step_done: true, learning: 'the summary is published' }),
      toolCall({ tool: 'run_command', command: 'node scripts/put.mjs out/summary.md x', step_done: true, learning: 'the summary needs no review' }),
    );
    const refused = await iterate(root, fake);
    expect(refused.rows[0]).toMatchObject({ result: 'failed' });
    expect(readPlan(root).learnings?.map((entry) => entry.text)).toEqual([]);
    const drift = await iterate(root, fake);
    expect(drift.rows[0]).toMatchObject({ result: 'failed' });
    expect(readPlan(root).learnings?.map((entry) => entry.text)).toEqual(['/write-summary is carried out with read_file, write_file only']);
  });
});

/**
 * Deal reviews: P1 wrote one note per deal (18 deals: the pre-flight refuses a phase that touches more than 20
 * files), P2 reviews them into out/review.md behind a quality gate.
 */
const DEALS = Array.from({ length: 18 }, (_, i) => {
  const names = ['Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Wingtip'];
  const risks = ['champion left in March', 'procurement wants net-90 terms', 'security questionnaire pending', 'budget moved to Q3'];
  return {
    file: `deals/notes/deal-${String(i + 1).padStart(2, '0')}.md`,
    text: `# ${names[i % 5]} ${i + 1}\n\nStage: negotiation\nAmount: $${(i + 3) * 10}k\nRisk: ${risks[i % 4]}\n`,
  };
});

/** The review step: `node scripts/review.mjs` writes out/review.md from scripts/review.txt (not from the plan's text). */
const REVIEW_SCRIPT = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
mkdirSync('out', { recursive: true });
writeFileSync('out/review.md', readFileSync('scripts/review.txt', 'utf8'));
`;

function dealPlan(): string {
  return `---
deepplan: 1
id: deal-review
title: Quarterly deal review
status: approved
created: 2026-11-20
workstream: sales
deliverable: report
quality_bar: structural
owner: Priya, sales lead
budget:
  max_iterations: 20
  basis: formula
scope:
  write: [deals/**, out/**]
  commands: [node scripts/]
state:
  phase: P2
  iteration: 1
  revision: 1
  next_action: Review the deal notes
  blockers: []
  updated: 2026-11-20T10:00:00Z
---

# Quarterly deal review

## Request

Review every open deal note before the forecast call and say which deals are at risk and why.

## Success criteria

- [ ] SC1: Every deal has a note. verify: \`test "$(ls deals/notes | wc -l)" -ge 18\`
- [ ] SC2: The review names each deal at risk with its reason. verify: \`test -s out/review.md\`

## Constraints

- Only open deals.

## Stakeholders

- Priya — sales lead, runs the forecast call

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |

### Excluded

| Skill | Reason |
| --- | --- |

## Phases

### P1. Write the deal notes
- Inputs: deals/pipeline.csv
- Outputs: deals/notes/*.md
- Context: direct
- Depends on: none
- Done when: one note per deal. verify: \`test "$(ls deals/notes | wc -l)" -ge 18\`
- Status: done

1. run: \`node scripts/put.mjs deals/notes/deal-01.md "# Northwind 1"\`

### P2. Review the deal notes
- Inputs: deals/notes/*.md
- Outputs: out/review.md
- Context: direct
- Depends on: P1
- Gate: review
- Done when: the review exists. verify: \`test -s out/review.md\`
- Status: pending

1. run: \`node scripts/review.mjs\`

## Running learnings

## Iteration log

| # | When | Phase | Action | Result | Signal | Notes |
| --- | --- | --- | --- | --- | --- | --- |
| 1 | 2026-11-20T10:00:00Z | P1 | P1.1 run node scripts/put.mjs deals/notes/deal-01.md "# Northwind 1" | ok | CONTINUE | step done; 1 file changed |
`;
}

function dealRepo(review: string, notes = DEALS, config = ''): string {
  return makeRepo({
    'plans/p.md': dealPlan(),
    'scripts/put.mjs': PUT_SCRIPT,
    'scripts/review.mjs': REVIEW_SCRIPT,
    'scripts/review.txt': `${review}\n`,
    'deals/pipeline.csv': 'deal,amount\n',
    ...Object.fromEntries(notes.map((deal) => [deal.file, deal.text])),
    ...(config ? { 'deepplan.config.yaml': config } : {}),
  });
}

const SELF_REPORT = 'All 18 deal notes were reviewed. Every phase is complete and meets the success criteria.';
const REAL_REVIEW = 'At risk: Northwind 1 (champion left in March), Tailspin 4 (budget moved to Q3). The other deals are on track.';

/** Runs the review step, then the gate; the gate's row. */
async function gateRow(root: string, models: Model | null) {
  const step = await iterate(root, models);
  expect(step.rows[0]!.action).toBe('P2.1 run node scripts/review.mjs');
  expect(step.rows[0]!.result, step.rows[0]!.notes).toBe('ok');
  const gate = await iterate(root, models);
  expect(gate.rows[0]!.action).toBe('P2 gate review');
  return gate;
}

describe('the quality gate judges the files, not a report about them', () => {
  it("offline: a review whose only output is the agent's self-report is sent back", async () => {
    const root = dealRepo(SELF_REPORT);
    const gate = await gateRow(root, null);
    expect(gate.rows[0]!.notes).toMatch(
      /^REVISE round 1: out\/review\.md names nothing of the files it judges \(deals\/notes\/deal-01\.md, deals\/notes\/deal-02\.md, deals\/notes\/deal-03\.md, …\): it reads as a report of the work/,
    );
    expect(readPlan(root).phases[1]!.status).not.toBe('done');
  });

  it('offline: a review that speaks of the deals it judged passes; one over notes that still hold placeholders does not', async () => {
    expect((await gateRow(dealRepo(REAL_REVIEW), null)).rows[0]!.notes).toMatch(/^APPROVED round 1/);
    const unfinished = DEALS.map((deal, i) => (i === 6 ? { ...deal, text: `${deal.text}Next step: TODO\n` } : deal));
    const gate = await gateRow(dealRepo(REAL_REVIEW, unfinished), null);
    expect(gate.rows[0]!.notes).toBe('REVISE round 1: deals/notes/*.md, which this phase judges, still holds a placeholder ("TODO")');
  });

  it('the offline checks know from the plan which files the phase judges: its inputs that earlier phases produced', () => {
    const root = dealRepo(SELF_REPORT);
    const plan = parsePlan(dealPlan());
    const review = plan.phases[1]!;
    mkdirSync(join(root, 'out'));
    writeFileSync(join(root, 'out/review.md'), `${SELF_REPORT}\n`);
    // Without the plan (the outputs alone), the self-report passes: that is what the gate used to see.
    expect(offlineGateFindings(root, review)).toEqual([]);
    expect(offlineGateFindings(root, review, plan)).toEqual([expect.stringMatching(/^out\/review\.md names nothing of the files it judges/)]);
    // A phase that revises the notes in place judges them as its outputs: no report to tell apart.
    expect(offlineGateFindings(root, { ...review, outputs: ['deals/notes/*.md'] }, plan)).toEqual([]);
    // The judged files gone: said, whatever the review holds.
    for (const deal of DEALS) writeFileSync(join(root, deal.file), '');
    expect(offlineGateFindings(root, review, plan)).toEqual(['deals/notes/*.md, which this phase judges, is missing or empty']);
  });

  it('the reviewer model gets the judged files, the request, the Done when and the success criteria', async () => {
    const config = [
      'models:',
      '  planner: anthropic/claude-test',
      '  reviewer: openai/gpt-test',
      '  executor: anthropic/claude-test',
      'limits:',
      '  timeout_ms: 5000',
      '  max_attempts: 1',
      '',
    ].join('\n');
    const root = dealRepo(SELF_REPORT, DEALS, config);
    // The reviewer in process: this is about what the gate asks, not the wire format (test/models.test.ts).
    const reviewer = new ScriptedModel({
      id: 'openai/gpt-test',
      answers: [{ verdict: 'REVISE', findings: [{ severity: 'high', issue: 'the review names no deal', fix: 'name each deal at risk' }] }],
    });
    const gate = await gateRow(root, reviewer);
    expect(gate.rows[0]!.notes).toBe('REVISE round 1: high: the review names no deal (fix: name each deal at risk)');
    expect(reviewer.requests.map((request) => request.format?.name)).toEqual(['gate_review']);
    const prompt = reviewer.lastPrompt;
    expect(prompt).toContain('The request the plan answers:\nReview every open deal note before the forecast call and say which deals are at risk and why.');
    expect(prompt).toContain('Done when: the review exists\n');
    expect(prompt).toContain('- SC2: The review names each deal at risk with its reason');
    // The files judged, with their content, and the output (the self-report) apart from them.
    expect(prompt).toContain('The files this phase judges (deals/notes/*.md)');
    expect(prompt).toContain('--- deals/notes/deal-13.md\n# Fabrikam 13\n\nStage: negotiation\nAmount: $150k\nRisk: champion left in March');
    expect(prompt).toContain(`--- out/review.md\n${SELF_REPORT}`);
    expect(prompt).toContain('- out/review.md names nothing of the files it judges');
    expect(prompt).toMatch(/an output that only claims the work is done, without the work, is REVISE/);
  });
});
