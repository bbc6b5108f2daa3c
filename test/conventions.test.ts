import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { knownKeys, loadConfig, unknownKeyMessage } from '../src/config/config.js';
import { FakeProviders } from './support/fake-providers.js';
import { cliEnvironment, edit, makeRepo, PROJECT_ROOT, runCli, SMALL_PLAN, SMALL_PLAN_SKILLS } from './support/fixtures.js';
import { dealAnswer, dealRepository, DEAL_REQUEST } from './support/plan-workloads.js';

/**
 * The conventions every command shares: a configuration with a misspelled key is refused with the nearest known key,
 * machine output is --format json (with --json the same), a missing file or a folder as the plan exits 2 everywhere,
 * every --help ends with its exit codes, and a command that calls models prints their cost and writes one ledger.
 */

const configError = async (config: string) => {
  const root = makeRepo({ 'deepplan.config.yaml': config, ...SMALL_PLAN_SKILLS, 'plans/summary.md': SMALL_PLAN });
  return runCli(['lint'], root);
};

describe('unknown configuration keys', () => {
  it('names the nearest known key of the same section, one line, exit 2', async () => {
    for (const [config, message] of [
      ['modles:\n  planner: offline/rules\n', 'unknown key modles; did you mean models?'],
      ['execute:\n  timout_ms: 5000\n', 'unknown key execute.timout_ms; did you mean timeout_ms?'],
      ['execute:\n  limits: {memroy_mb: 512}\n', 'unknown key execute.limits.memroy_mb; did you mean memory_mb?'],
      ['providers:\n  openia: {base_url: "http://127.0.0.1:1/v1"}\n', 'unknown key providers.openia; did you mean openai?'],
      ['prices:\n  openai/gpt-6.2-sol: {input: 2, output: 10, soruce: vendor}\n', 'unknown key prices.openai/gpt-6.2-sol.soruce; did you mean source?'],
    ] as const) {
      const result = await configError(config);
      expect(result.code, config).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(new RegExp(`^deepplan: \\S+deepplan\\.config\\.yaml: ${message.replace(/[.?$/]/g, '\\$&')}\\n$`));
    }
  });

  it("lists the section's keys when nothing known is close, and reports a misspelling before other problems", async () => {
    const far = await configError('limits:\n  budget_dollars: 5\n');
    expect(far.code).toBe(2);
    expect(far.stderr).toMatch(/unknown key limits\.budget_dollars; the keys of limits are timeout_ms, max_attempts, retry_base_ms, max_cost\n$/);
    const both = await configError('limits:\n  timeout_ms: 5\n  max_atempts: 2\n');
    expect(both.stderr).toMatch(/unknown key limits\.max_atempts; did you mean max_attempts\?/);
    // Rule ids are names, checked by the linter against the catalog.
    const rule = await configError('rules:\n  budgte: off\n');
    expect(rule.code).toBe(2);
    expect(rule.stderr).toMatch(/budgte/);
  });

  it('reports a broken configuration even with nothing to lint yet', async () => {
    const root = makeRepo({ 'deepplan.config.yaml': 'contxt:\n  paths: [docs]\n' });
    const result = await runCli(['lint'], root);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown key contxt; did you mean context\?/);
  });

  it('knows the keys of each section and accepts a configuration that uses only them', () => {
    expect(knownKeys([])).toEqual(expect.arrayContaining(['models', 'execute', 'limits', 'prices', 'providers']));
    expect(knownKeys(['execute', 'agent'])).toEqual(['command', 'network', 'writable', 'env']);
    expect(knownKeys(['prices', 'anthropic/claude-sonnet-5-5'])).toEqual(['input', 'output', 'date', 'source']);
    expect(knownKeys(['rules'])).toEqual([]);
    expect(unknownKeyMessage(['models'], 'planer')).toBe('unknown key models.planer; did you mean planner?');
    const root = makeRepo({
      'deepplan.config.yaml': 'models: {planner: offline/rules}\nexecute: {timeout_ms: 5000, limits: {memory_mb: 512}}\nlimits: {max_cost: 2}\n',
    });
    expect(loadConfig(root).execute?.limits?.memory_mb).toBe(512);
  });
});

describe('--format json, with --json the same', () => {
  it('status, calibrate, doctor, lint and audit print the same JSON either way', async () => {
    const root = makeRepo({
      ...SMALL_PLAN_SKILLS,
      'plans/summary.md': SMALL_PLAN,
      'deepplan.config.yaml': 'models: {planner: offline/rules, reviewer: offline/rules, executor: offline/rules, fallback: offline/rules}\n',
    });
    for (const args of [['status', 'plans/summary.md'], ['calibrate', '--dry-run'], ['doctor'], ['lint'], ['audit', 'plans/summary.md', '--no-sandbox']]) {
      const long = await runCli([...args, '--format', 'json'], root);
      const short = await runCli([...args, '--json'], root);
      expect(long.stdout, args.join(' ')).toBe(short.stdout);
      expect(long.code, args.join(' ')).toBe(short.code);
      expect(() => JSON.parse(long.stdout), `${args.join(' ')}: ${long.stdout}`).not.toThrow();
    }
    const text = await runCli(['status', 'plans/summary.md'], root);
    expect(() => JSON.parse(text.stdout)).toThrow();
    // An explicit --format wins over the alias.
    expect((await runCli(['status', 'plans/summary.md', '--format', 'text', '--json'], root)).stdout).toBe(text.stdout);
  });

  it('plan and run print JSON lines with --format json as with --json', async () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/summary.md': SMALL_PLAN, 'notes/accounts.md': '# Accounts\n' });
    const run = await runCli(['run', 'plans/summary.md', '--once', '--format', 'json', '--no-sandbox'], root);
    const lines = run.stdout.trim().split('\n');
    expect(JSON.parse(lines.at(-2)!)).toMatchObject({ type: 'result', plan: 'plans/summary.md' });
    expect(['CONTINUE', 'BLOCKED_NEED_HUMAN']).toContain(lines.at(-1));
    const plan = await runCli(['plan', '--request', 'Summarise the week', '--format', 'json'], root);
    expect(plan.code).toBe(3);
    expect(JSON.parse(plan.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'needs-answers' });
    const alias = await runCli(['plan', '--request', 'Summarise the week', '--json'], root);
    expect(alias.stdout).toBe(plan.stdout);
  });

  it('refuses a format a command does not have (exit 2)', async () => {
    const root = makeRepo({ 'plans/summary.md': SMALL_PLAN });
    const result = await runCli(['status', 'plans/summary.md', '--format', 'xml'], root);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Allowed choices are text, json/);
  });
});

describe('exit codes', () => {
  it('a missing file or a folder as the plan is a usage error (exit 2) for every command that takes a plan', async () => {
    const root = makeRepo({ 'plans/summary.md': SMALL_PLAN });
    mkdirSync(join(root, 'plans', 'folder'));
    const commands = [['status'], ['graph'], ['audit'], ['approve'], ['approve', '@', 'P1'], ['run', '@', '--once'], ['review']];
    for (const shape of commands) {
      for (const [target, reason] of [
        ['plans/missing.md', /plans\/missing\.md: no such file/],
        ['plans/folder', /plans\/folder is a directory/],
      ] as const) {
        const args = shape.includes('@') ? shape.map((part) => (part === '@' ? target : part)) : [...shape, target];
        const result = await runCli(args, root);
        expect(result.code, args.join(' ')).toBe(2);
        expect(result.stderr, args.join(' ')).toMatch(reason);
        expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      }
    }
  });

  it('run on a draft plan says to approve it with deepplan approve (exit 1)', async () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/summary.md': edit(SMALL_PLAN, 'status: approved', 'status: draft') });
    const result = await runCli(['run', 'plans/summary.md', '--once'], root);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('deepplan: plans/summary.md is draft, not approved; approve it for execution with deepplan approve plans/summary.md\n');
    const inReview = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/summary.md': edit(SMALL_PLAN, 'status: approved', 'status: in_review') });
    expect((await runCli(['run', 'plans/summary.md', '--loop'], inReview)).stderr).toMatch(
      /is in_review, not approved; finish its review \(deepplan review plans\/summary\.md\), then approve it for execution with deepplan approve plans\/summary\.md\n$/,
    );
  });

  it("every --help ends with the command's exit codes, and the overview gives the table", async () => {
    const root = makeRepo();
    const commands = [
      'lint',
      'plan',
      'new',
      'review',
      'run',
      'approve',
      'audit',
      'status',
      'calibrate',
      'doctor',
      'graph',
      'init',
      'hook',
      'hook start',
      'hook stop',
      'hook cancel',
    ];
    for (const command of commands) {
      const help = await runCli([...command.split(' '), '--help'], root);
      expect(help.code, command).toBe(0);
      const paragraphs = help.stdout.trim().split(/\n\s*\n/);
      expect(paragraphs.at(-1), command).toMatch(/^Exit status: .*\b0\b/m);
      expect(paragraphs.at(-1)!.split('\n').at(-1), command).not.toMatch(/^\s*$/);
    }
    const overview = await runCli(['--help'], root);
    for (const code of ['0', '1', '2', '3', '130']) expect(overview.stdout).toMatch(new RegExp(`^  ${code}\\s{2,}\\S`, 'm'));
    expect(overview.stdout).toMatch(/--format json \(--json is the same\)/);
    const review = await runCli(['review', '--help'], root);
    expect(review.stdout).not.toMatch(/one round;/);
    expect(review.stdout).toMatch(/up to 3 rounds/);
  });
});

describe('cost and ledger of a command', () => {
  let fake: FakeProviders;
  beforeEach(async () => {
    fake = await new FakeProviders().start();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('deepplan plan that reviews its plan prints the cost of both and writes one ledger', async () => {
    const config =
      'models:\n  planner: anthropic/claude-test\n  reviewer: openai/gpt-test\nlimits:\n  timeout_ms: 5000\n  max_attempts: 1\nprices:\n  anthropic/claude-test: {input: 2, output: 10, date: "2026-12-01", source: test}\n  openai/gpt-test: {input: 8, output: 40, date: "2026-12-01", source: test}\n';
    const root = makeRepo({ ...dealRepository(), 'deepplan.config.yaml': config });
    fake.queue('anthropic', {
      kind: 'answer',
      object: { workstream: 'consulting', confidence: 0.9, reason: 'A deal review for the sales team.' },
      inputTokens: 900,
      outputTokens: 40,
    });
    fake.queue('anthropic', { kind: 'answer', object: dealAnswer(), inputTokens: 12000, outputTokens: 3000 });
    fake.queue('openai-responses', { kind: 'answer', object: { verdict: 'APPROVED', findings: [] }, inputTokens: 7000, outputTokens: 200 });
    const result = await runCli(
      ['plan', '--request', DEAL_REQUEST, '--out', 'plans/deal-review.md', '--yes'],
      root,
      fake.env({ anthropic: 'sk-ant-test-0123456789', openai: 'sk-openai-test-0123456789' }),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/reviewing before approval/);
    const files = readdirSync(join(root, '.deepplan', 'runs'));
    expect(files).toHaveLength(1);
    const entries = readFileSync(join(root, '.deepplan', 'runs', files[0]!), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { run: string; role: string; model: string; costUsd: number });
    expect(new Set(entries.map((entry) => entry.run)).size).toBe(1);
    expect(entries.map((entry) => entry.model)).toEqual(expect.arrayContaining(['anthropic/claude-test', 'openai/gpt-test']));
    const total = entries.reduce((sum, entry) => sum + entry.costUsd, 0);
    expect(total).toBeGreaterThan(0.05);
    expect(result.stderr.trim().split('\n').at(-1)).toBe(`model cost: $${total.toFixed(4)} (${entries.length} calls); ledger: .deepplan/runs/${files[0]}`);
  });

  it("a deepplan process the command starts writes the command's ledger (DEEPPLAN_RUN_ID is handed down)", async () => {
    const script = `import { Ledger } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/models/ledger.js'))};
const first = Ledger.newRunId();
process.stdout.write(JSON.stringify({ first, again: Ledger.newRunId(), env: process.env.DEEPPLAN_RUN_ID }));`;
    const child = (env: NodeJS.ProcessEnv) =>
      new Promise<{ first: string; again: string; env: string }>((resolve, reject) =>
        execFile(process.execPath, ['--input-type=module', '-e', script], { env }, (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout)))),
      );
    const own = await child(cliEnvironment());
    expect(own.first).toMatch(/^\d{4}-\d{2}-\d{2}T[\d-]+Z-[a-z0-9]+$/);
    expect([own.again, own.env]).toEqual([own.first, own.first]);
    const handed = await child(cliEnvironment({ DEEPPLAN_RUN_ID: own.first }));
    expect(handed.first).toBe(own.first);
    // Anything that is not a run id is not used as a file name.
    expect((await child(cliEnvironment({ DEEPPLAN_RUN_ID: '../../etc/x' }))).first).not.toContain('/');
  });

  it('deepplan review prints its cost and names a model of unknown price', async () => {
    const root = makeRepo({
      ...SMALL_PLAN_SKILLS,
      'plans/summary.md': SMALL_PLAN,
      'deepplan.config.yaml': 'models:\n  planner: anthropic/claude-test\n  reviewer: openai/gpt-unpriced\nlimits:\n  max_attempts: 1\n',
    });
    fake.queue('openai-responses', { kind: 'answer', object: { verdict: 'APPROVED', findings: [] }, inputTokens: 3000, outputTokens: 100 });
    const result = await runCli(
      ['review', 'plans/summary.md', '--no-revise'],
      root,
      fake.env({ anthropic: 'sk-ant-test-0123456789', openai: 'sk-openai-test-0123456789' }),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(
      /^model cost: \$0\.0000 \(1 call, plus calls to openai\/gpt-unpriced of unknown price\); ledger: \.deepplan\/runs\/\S+\.jsonl$/,
    );
  });
});
