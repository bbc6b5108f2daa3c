import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { DEFAULT_MODELS } from '../src/models/roles.js';
import { parsePlan } from '../src/plan/parse.js';
import { FakeProviders } from './support/fake-providers.js';
import { makeRepo, runCli } from './support/fixtures.js';
import { accountAnswer, accountRepository, ACCOUNT_REQUEST, ACCOUNTS, dealAnswer, dealRepository, DEAL_REQUEST, DEALS } from './support/plan-workloads.js';

// The default models, so the ledger prices the calls with data/prices.yaml as a user without a configuration pays.
const PLANNER = DEFAULT_MODELS.planner;
const REVIEWER = DEFAULT_MODELS.reviewer;
const CONFIG = `models:\n  planner: ${PLANNER}\n  reviewer: ${REVIEWER}\nlimits:\n  timeout_ms: 5000\n  max_attempts: 1\n`;
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const KEYS = { anthropic: 'sk-ant-test-0123456789', openai: 'sk-openai-test-0123456789' };
const consulting = (reason: string) => ({ kind: 'answer' as const, object: { workstream: 'consulting', confidence: 0.9, reason } });

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.close();
});

const lastLine = (text: string) => text.trim().split('\n').pop();
const errorsOf = (root: string, file: string) =>
  lintText(readFileSync(join(root, file), 'utf8'), join(root, file))
    .filter((finding) => finding.severity === 'error')
    .map((finding) => `${finding.ruleId}: line ${finding.line}: ${finding.message}`);
/** The user message of the planner's n-th plan request (0: the first prompt). */
const plannerMessage = (index: number) => {
  const requests = fake.requests.filter((request) => request.wire === 'anthropic' && JSON.stringify(request.body).includes('plan_draft'));
  const messages = requests[index]!.body['messages'] as Array<{ role: string; content: string | Array<{ text?: string }> }>;
  const last = messages.at(-1)!;
  return typeof last.content === 'string' ? last.content : last.content.map((part) => part.text ?? '').join('');
};

/** The user messages of the planner's n-th revision request, joined. */
const plannerRevision = (index: number) => {
  const requests = fake.requests.filter((request) => request.wire === 'anthropic' && JSON.stringify(request.body).includes('"revision"'));
  const messages = requests[index]!.body['messages'] as Array<{ role: string; content: string | Array<{ text?: string }> }>;
  return messages
    .filter((message) => message.role === 'user')
    .map((message) => (typeof message.content === 'string' ? message.content : message.content.map((part) => part.text ?? '').join('')))
    .join('\n');
};

/** Runs the plan through the gates to the end: run --loop, approve each human gate, until TASK_COMPLETE. */
async function runToCompletion(root: string, plan: string): Promise<{ signals: string[]; approved: string[] }> {
  const signals: string[] = [];
  const approved: string[] = [];
  for (let turn = 0; turn < 6; turn++) {
    const result = await runCli(['run', plan, '--loop'], root);
    const signal = lastLine(result.stdout)!;
    signals.push(signal);
    if (signal === 'TASK_COMPLETE') break;
    expect(signal, result.stderr).toBe('BLOCKED_NEED_HUMAN');
    const waiting = /(P\d+[a-z]?) gate: waiting for approval/.exec(`${result.stderr}\n${result.stdout}`);
    expect(waiting, `${result.stdout}\n${result.stderr}`).not.toBeNull();
    const approve = await runCli(['approve', plan, waiting![1]!, '--note', 'approved by the owner'], root);
    expect(approve.code, approve.stderr).toBe(0);
    approved.push(waiting![1]!);
  }
  return { signals, approved };
}

describe("the planner's plan goes back to it with the lint findings", () => {
  it('a 40-deal Stage-3 review: two repair turns (an out-of-prefix command, a forgotten skill, a vague criterion, then a wrong output), lints clean, runs to TASK_COMPLETE', async () => {
    fake.queue(
      'anthropic',
      consulting('A Stage-3 pipeline review and rep coaching for the sales team.'),
      { kind: 'answer', object: dealAnswer({ prefix: true, forgottenSkill: true, vagueCriterion: true }) },
      { kind: 'answer', object: dealAnswer({ wrongOutput: true }) },
      { kind: 'answer', object: dealAnswer() },
    );
    const root = makeRepo({ ...dealRepository(), 'deepplan.config.yaml': CONFIG });
    const result = await runCli(['plan', '--request', DEAL_REQUEST, '--out', 'plans/deal-review.md', '--no-review', '--yes'], root, fake.env(KEYS));
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code, result.stderr).toBe(0);
    expect(fake.count('anthropic')).toBe(4);

    // Turn 1 names the command outside the prefixes, the forgotten skill and the vague criterion, each on one line.
    const first = plannerMessage(1);
    expect(first).toMatch(
      /^- \[scope\] line \d+: P1\.1 runs `python3 scripts\/review_scope\.py crm\/deals\/stage-3`, which starts with no prefix in scope\.commands.*Fix: start P1\.1/m,
    );
    expect(first).toMatch(
      /^- \[skill-audit\]: the installed skill rep-coaching is neither invoked nor excluded .*Fix: invoke \/rep-coaching in the phase that does its work \(it writes coaching\/reps\.md\)/m,
    );
    expect(first).toMatch(/^- \[success-criteria-verifiable, warning\] line \d+: .*SC2/m);
    expect(first).not.toContain('[skill-contract]');
    // Turn 2: the report phase expects an output the skill never writes.
    const second = plannerMessage(2);
    expect(second).toMatch(
      /^- \[skill-contract\]: your phase 13 \("Write the one-page Stage-3 review for the pipeline call"\) invokes \/stage-report, which writes reports\/stage-3-review\.md, but the phase's outputs are reports\/review\.md/m,
    );
    expect(second).not.toContain('[scope]');
    expect(result.stderr).toMatch(/repair turn 1 of 2: \d+ finding\(s\) back to the planner \(skill-audit, scope\)/);
    expect(result.stderr).toMatch(/repair turn 2 of 2: 1 finding\(s\) back to the planner \(skill-contract\)/);
    expect(result.stderr).toMatch(new RegExp(`generation\\s+15 phases from the planner \\(${escaped(PLANNER)}\\) after repair turn 2`));

    const text = readFileSync(join(root, 'plans/deal-review.md'), 'utf8');
    expect(errorsOf(root, 'plans/deal-review.md')).toEqual([]);
    const plan = parsePlan(text);
    expect(plan.meta.scope?.commands).toEqual(['node scripts/']);
    expect(plan.skills?.mapped?.map((skill) => skill.name).sort()).toEqual(['deal-scoring', 'rep-coaching', 'stage-report']);
    expect(plan.skills?.excluded?.find((skill) => skill.name === 'forecast-sync')?.reason).toBe('The review is read-only: nothing is written to Salesforce.');
    for (const deal of DEALS) expect(text).toMatch(new RegExp(`/deal-scoring \`?crm/deals/stage-3/${deal.slug}\\.yaml`));

    // One review round: the reviewer (another provider) quotes a passage loosely; the planner's first revision adds a
    // lint error and goes back once; the second round approves.
    const p13 = text.split('\n').findIndex((line) => line.startsWith('- Done when: the review has a table row for each deal')) + 1;
    const loose = 'Done when:  the review has a table row for EACH deal';
    fake.queue(
      'openai-responses',
      {
        kind: 'answer',
        object: {
          verdict: 'REVISE',
          findings: [
            {
              severity: 'high',
              line: p13,
              section: 'P13',
              quote: loose,
              issue:
                'The verify counts rows that start with a lower-case letter; a deal whose slug starts with a digit is missed and the check fails on a complete review.',
              fix: 'Count rows that start with a letter or a digit.',
            },
          ],
        },
      },
      { kind: 'answer', object: { verdict: 'APPROVED', findings: [] } },
    );
    const exact = text.split('\n')[p13 - 1]!;
    const revised = (count: number) => ({
      edits: [
        {
          finding: 1,
          find: exact,
          replace: `- Done when: the review has a table row for each of the 40 deals. verify: \`test "$(grep -c '^| [a-z0-9]' reports/stage-3-review.md)" -eq ${count}\``,
        },
      ],
    });
    fake.queue('anthropic', { kind: 'answer', object: revised(41) }, { kind: 'answer', object: revised(40) });
    const review = await runCli(['review', 'plans/deal-review.md'], root, fake.env(KEYS));
    expect(review.code, review.stderr).toBe(0);
    expect(review.stderr).toMatch(/repair turn 1 of 2: the revised plan has 1 lint error\(s\) \(context-facts\); back to the planner/);
    const reviewPrompt = JSON.stringify(fake.requests.filter((request) => request.wire === 'openai-responses')[0]!.body);
    expect(reviewPrompt).toContain('The plan (plans/deal-review.md)');
    expect(reviewPrompt).not.toContain(root);
    expect(reviewPrompt).toContain('without the line numbers');
    expect(reviewPrompt).toContain('- writes: scores/<deal>.json, scores/index.csv');
    const revisePrompt = plannerRevision(0);
    expect(revisePrompt).toContain(`   > ${exact}`);
    expect(revisePrompt).not.toContain(loose);
    expect(revisePrompt).not.toContain('PLAN_FORMAT.md');
    expect(plannerRevision(1)).toMatch(
      /deepplan applied those edits to a copy and linted it: 1 error\(s\) remain[\s\S]*\[context-facts\] line \d+: P13 Done when's verify expects 41/,
    );
    const reviewed = readFileSync(join(root, 'plans/deal-review.md'), 'utf8');
    expect(reviewed).toContain('-eq 40`');
    expect(parsePlan(reviewed).meta.review).toMatchObject({ verdict: 'APPROVED', rounds: 2 });
    expect(errorsOf(root, 'plans/deal-review.md')).toEqual([]);

    const approve = await runCli(['approve', 'plans/deal-review.md'], root);
    expect(approve.code, approve.stderr).toBe(0);
    const run = await runToCompletion(root, 'plans/deal-review.md');
    expect(run.signals.at(-1)).toBe('TASK_COMPLETE');
    expect(run.approved).toEqual(['P14']);
    expect(readdirSync(join(root, 'scores')).filter((name) => name.endsWith('.json'))).toHaveLength(40);
    expect(readdirSync(join(root, 'handoff/reps'))).toHaveLength(5);
    const done = parsePlan(readFileSync(join(root, 'plans/deal-review.md'), 'utf8'));
    expect(done.meta.status).toBe('complete');
    expect(done.criteria?.every((criterion) => criterion.checked)).toBe(true);
  }, 120_000);

  it('a 50-account enrichment: one phase for all accounts and an npm command come back once, then lint clean and run to TASK_COMPLETE', async () => {
    fake.queue(
      'anthropic',
      consulting('Account enrichment for the sales team.'),
      { kind: 'answer', object: accountAnswer({ onePhase: true, prefix: true }) },
      { kind: 'answer', object: accountAnswer() },
    );
    const root = makeRepo({ ...accountRepository(), 'deepplan.config.yaml': CONFIG });
    const result = await runCli(['plan', '--request', ACCOUNT_REQUEST, '--out', 'plans/enrichment.md', '--no-review', '--yes'], root, fake.env(KEYS));
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code, result.stderr).toBe(0);
    expect(fake.count('anthropic')).toBe(3);
    const repair = plannerMessage(1);
    expect(repair).toMatch(/^- \[scope\] line \d+: P1\.1 runs `npm run check-source`/m);
    // The phase over every account is over the file-operation limit, whichever way it is reported.
    // The phase over all 50 accounts is over the file-operation limit: sizing splits it by entity, or it goes back.
    expect(`${result.stderr}\n${repair}`).toMatch(/P2 touches \d+ files: split by entity|\[(phase-file-ops|sizing)\]/);
    expect(errorsOf(root, 'plans/enrichment.md')).toEqual([]);
    const plan = parsePlan(readFileSync(join(root, 'plans/enrichment.md'), 'utf8'));
    expect(plan.phases).toHaveLength(17);

    // One review round that approves, with a low finding.
    const gaps =
      readFileSync(join(root, 'plans/enrichment.md'), 'utf8')
        .split('\n')
        .findIndex((line) => line.startsWith('- Done when: the gap list names each account')) + 1;
    fake.queue('openai-responses', {
      kind: 'answer',
      object: {
        verdict: 'APPROVED',
        findings: [
          {
            severity: 'low',
            line: gaps,
            section: 'P16',
            quote: 'the gap list names each account without a decision maker',
            issue: 'The verify passes with one bullet.',
            fix: 'Compare the bullet count with the index rows whose decision_maker is none.',
          },
        ],
      },
    });
    const review = await runCli(['review', 'plans/enrichment.md'], root, fake.env(KEYS));
    expect(review.code, review.stderr).toBe(0);
    expect((await runCli(['approve', 'plans/enrichment.md'], root)).code).toBe(0);
    const run = await runToCompletion(root, 'plans/enrichment.md');
    expect(run.signals.at(-1)).toBe('TASK_COMPLETE');
    expect(readdirSync(join(root, 'enriched')).filter((name) => name.endsWith('.yaml'))).toHaveLength(ACCOUNTS.length);
    expect(readFileSync(join(root, 'handoff/sdr-gaps.md'), 'utf8')).toContain('- northwind-traders');
  }, 120_000);

  it('fails after two repair turns with every remaining finding on its own line, exit 1, and writes no plan', async () => {
    const stubborn = dealAnswer({ prefix: true });
    fake.queue(
      'anthropic',
      consulting('A Stage-3 pipeline review.'),
      { kind: 'answer', object: stubborn },
      { kind: 'answer', object: stubborn },
      { kind: 'answer', object: stubborn },
    );
    const root = makeRepo({ ...dealRepository(), 'deepplan.config.yaml': CONFIG });
    const result = await runCli(['plan', '--request', DEAL_REQUEST, '--out', 'plans/deal-review.md', '--no-review', '--yes'], root, fake.env(KEYS));
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(fake.count('anthropic')).toBe(4);
    const tail = result.stderr.slice(result.stderr.indexOf("deepplan: the planner's plan still has"));
    expect(tail.split('\n')[0]).toBe("deepplan: the planner's plan still has 1 problem(s) after 2 repair turn(s):");
    expect(tail.split('\n')[1]).toMatch(
      /^ {2}- \[scope\] line \d+: P1\.1 runs `python3 scripts\/review_scope\.py crm\/deals\/stage-3`, which starts with no prefix in scope\.commands \(the line: ".*"\)\. Fix: /,
    );
    expect(() => readFileSync(join(root, 'plans/deal-review.md'))).toThrow();
  }, 60_000);
});

describe('what planning and a review round cost with the default models', () => {
  /** Plans the deal review and reviews it (round 1 REVISE with a revision, round 2 APPROVED); `usage` sets each answer's tokens in order. */
  async function planAndReview(usage: Array<{ inputTokens: number; outputTokens: number }> | null) {
    const answers: Array<{ wire: 'anthropic' | 'openai-responses'; object: unknown }> = [];
    const root = makeRepo({ ...dealRepository(), 'deepplan.config.yaml': CONFIG });
    const queue = (wire: 'anthropic' | 'openai-responses', object: unknown) => {
      const tokens = usage?.[answers.length];
      answers.push({ wire, object });
      fake.queue(wire, { kind: 'answer', object, ...(tokens ?? {}) });
    };
    queue('anthropic', consulting('A Stage-3 pipeline review and rep coaching for the sales team.').object);
    queue('anthropic', dealAnswer({ prefix: true, forgottenSkill: true, vagueCriterion: true }));
    queue('anthropic', dealAnswer({ wrongOutput: true }));
    queue('anthropic', dealAnswer());
    const planned = await runCli(['plan', '--request', DEAL_REQUEST, '--out', 'plans/deal-review.md', '--no-review', '--yes'], root, fake.env(KEYS));
    expect(planned.code, planned.stderr).toBe(0);
    const text = readFileSync(join(root, 'plans/deal-review.md'), 'utf8');
    const line = text.split('\n').findIndex((candidate) => candidate.startsWith('- Done when: the review has a table row for each deal')) + 1;
    const exact = text.split('\n')[line - 1]!;
    queue('openai-responses', {
      verdict: 'REVISE',
      findings: [
        {
          severity: 'high',
          line,
          section: 'P13',
          quote: 'the review has a table row for each deal',
          issue: 'A deal whose slug starts with a digit is not counted.',
          fix: 'Count rows that start with a letter or a digit.',
        },
        {
          severity: 'low',
          line: 1,
          section: 'P1',
          quote: 'Write the review scope from the Stage-3 exit criteria',
          issue: 'The scope could name the rubric version.',
          fix: 'Add the playbook date to work/scope.md.',
        },
      ],
    });
    queue('anthropic', {
      edits: [
        {
          finding: 1,
          find: exact,
          replace:
            '- Done when: the review has a table row for each of the 40 deals. verify: `test "$(grep -c \'^| [a-z0-9]\' reports/stage-3-review.md)" -eq 40`',
        },
      ],
    });
    queue('openai-responses', { verdict: 'APPROVED', findings: [] });
    const reviewed = await runCli(['review', 'plans/deal-review.md'], root, fake.env(KEYS));
    expect(reviewed.code, reviewed.stderr).toBe(0);
    return { root, answers };
  }

  it('stays within $0.50 a plan and $0.20 a review round (ledger figures, tokens measured on the exact requests)', async () => {
    // First pass: the exact requests deepplan sends, measured at about 4 characters a token (the cost cap's estimate).
    const first = await planAndReview(null);
    const measured = fake.requests.map((request, index) => ({
      inputTokens: Math.ceil(JSON.stringify(request.body).length / 4),
      outputTokens: Math.ceil(JSON.stringify(first.answers[index]!.object).length / 4),
    }));
    expect(measured).toHaveLength(7);
    await fake.close();
    fake = await new FakeProviders().start();
    // Second pass: the same requests, answered with those token counts, so the ledger prices them.
    const { root } = await planAndReview(measured);
    const runs = readdirSync(join(root, '.deepplan/runs'))
      .sort()
      .map((file) =>
        readFileSync(join(root, '.deepplan/runs', file), 'utf8')
          .trim()
          .split('\n')
          .map(
            (entry) =>
              JSON.parse(entry) as { role: string; model: string; inputTokens: number; outputTokens: number; costUsd: number; pack?: Record<string, number> },
          ),
      );
    expect(runs).toHaveLength(2);
    const [plan, review] = runs as [(typeof runs)[number], (typeof runs)[number]];
    const sum = (entries: typeof plan) => entries.reduce((total, entry) => total + entry.costUsd, 0);
    const roundOne = review.slice(0, 2);
    const figures = {
      plan: {
        calls: plan.length,
        inputTokens: plan.reduce((t, e) => t + e.inputTokens, 0),
        outputTokens: plan.reduce((t, e) => t + e.outputTokens, 0),
        usd: Number(sum(plan).toFixed(4)),
        pack: plan[1]!.pack,
      },
      reviewRound1: { calls: roundOne.length, usd: Number(sum(roundOne).toFixed(4)), models: roundOne.map((entry) => entry.model) },
      reviewRound2: { calls: review.length - 2, usd: Number(sum(review.slice(2)).toFixed(4)) },
    };
    process.stdout.write(`cost figures: ${JSON.stringify(figures)}\n`);
    expect(plan.map((entry) => entry.model)).toEqual(Array(4).fill(PLANNER));
    expect(roundOne.map((entry) => entry.model)).toEqual([REVIEWER, PLANNER]);
    // Every call is priced (data/prices.yaml has the default models).
    expect([...plan, ...review].every((entry) => typeof entry.costUsd === 'number' && entry.costUsd > 0)).toBe(true);
    expect(sum(plan)).toBeLessThanOrEqual(0.5);
    expect(sum(roundOne)).toBeLessThanOrEqual(0.2);
    expect(sum(review.slice(2))).toBeLessThanOrEqual(0.2);
  }, 120_000);
});
