import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Config } from '../src/config/config.js';
import { ModelError } from '../src/models/errors.js';
import { checkReviewerProvider, resolveRoles } from '../src/models/roles.js';
import { ModelRunner } from '../src/models/runner.js';
import type { Role } from '../src/models/types.js';
import { FakeProviders, type Wire } from './support/fake-providers.js';
import { makeRepo } from './support/fixtures.js';

const KEYS = { anthropic: 'sk-ant-test-0123456789abcdef', openai: 'sk-openai-test-0123456789abcdef', google: 'gemini-test-0123456789abcdef' };
const Answer = z.object({ verdict: z.enum(['APPROVED', 'REVISE']), findings: z.array(z.string()) });
const GOOD = { verdict: 'REVISE', findings: ['P3 has no verify command'] };

// A fresh server per test keeps the queues and counts independent.
let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.close();
});

interface Setup {
  planner: string;
  fallback?: string;
  api?: 'responses' | 'chat';
  limits?: Config['limits'];
  prices?: Config['prices'];
  maxCostUsd?: number;
  signal?: AbortSignal;
}

function runner(setup: Setup) {
  const root = makeRepo();
  const notices: string[] = [];
  const config: Config = {
    models: { planner: setup.planner, reviewer: 'openai/gpt-test', executor: setup.planner, fallback: setup.fallback ?? 'offline/engine' },
    limits: { timeout_ms: 2_000, max_attempts: 3, retry_base_ms: 5, ...setup.limits },
    ...(setup.api ? { providers: { openai: { api: setup.api } } } : {}),
    ...(setup.prices ? { prices: setup.prices } : {}),
  };
  const models = new ModelRunner({
    config,
    root,
    env: fake.env(KEYS),
    notice: (line) => notices.push(line),
    ...(setup.maxCostUsd !== undefined ? { maxCostUsd: setup.maxCostUsd } : {}),
    ...(setup.signal ? { signal: setup.signal } : {}),
  });
  return { models, notices, root };
}

const ask = (models: ModelRunner, role: Role = 'planner') =>
  models.generateObject(role, { name: 'review', schema: Answer, system: 'You review plans.', prompt: 'Review this plan.', maxTokens: 500 });

const PROVIDERS: Array<{ name: string; planner: string; wire: Wire; api?: 'responses' | 'chat' }> = [
  { name: 'Anthropic Messages', planner: 'anthropic/claude-test', wire: 'anthropic' },
  { name: 'OpenAI Responses', planner: 'openai/gpt-test', wire: 'openai-responses' },
  { name: 'OpenAI-compatible Chat Completions', planner: 'openai/llama-test', wire: 'openai-chat', api: 'chat' },
  { name: 'Google Gemini', planner: 'google/gemini-test', wire: 'google' },
];

describe.each(PROVIDERS)('$name through the official SDK', ({ planner, wire, api }) => {
  const setup = (extra: Partial<Setup> = {}) => runner({ planner, ...(api ? { api } : {}), ...extra });

  it('sends a structured request and returns the validated object with usage, cost and a ledger line', async () => {
    fake.queue(wire, { kind: 'answer', object: GOOD, inputTokens: 1200, outputTokens: 80 });
    const { models } = setup({ prices: { [planner]: { input: 2, output: 10 } } });
    const answer = await ask(models);
    expect(answer.object).toEqual(GOOD);
    expect(answer.model).toBe(planner);
    expect(answer.usage).toEqual({ inputTokens: 1200, outputTokens: 80 });
    expect(answer.costUsd).toBeCloseTo((1200 * 2 + 80 * 10) / 1e6, 10);
    expect(fake.count(wire)).toBe(1);
    expect(fake.requests[0]!.structured).toBe(true);
    const ledger = readFileSync(models.ledger.path!, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(ledger).toEqual([expect.objectContaining({ role: 'planner', model: planner, ok: true, inputTokens: 1200, outputTokens: 80, attempt: 1 })]);
  });

  it('retries a 429, honouring retry-after, then succeeds', async () => {
    fake.queue(wire, { kind: 'status', status: 429, headers: { 'retry-after': '0.3' } }, { kind: 'answer', object: GOOD });
    const { models } = setup();
    const started = performance.now();
    const answer = await ask(models);
    expect(answer.object).toEqual(GOOD);
    expect(fake.count(wire)).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('retries a cut-off response body, then succeeds', async () => {
    fake.queue(wire, { kind: 'truncate' }, { kind: 'answer', object: GOOD });
    const { models } = setup();
    expect((await ask(models)).object).toEqual(GOOD);
    expect(fake.count(wire)).toBe(2);
  });

  it('retries a response body that is not JSON at all, then succeeds', async () => {
    fake.queue(wire, { kind: 'malformed-body' }, { kind: 'answer', object: GOOD });
    const { models } = setup();
    expect((await ask(models)).object).toEqual(GOOD);
    expect(fake.count(wire)).toBe(2);
  });

  it('gives up on a timeout after the configured attempts with one line naming role, model and what to do', async () => {
    fake.always(wire, { kind: 'hang' });
    const { models } = setup({ limits: { timeout_ms: 200, max_attempts: 2, retry_base_ms: 5 } });
    const error = await ask(models).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).kind).toBe('timeout');
    expect((error as Error).message).toBe(
      `planner (${planner}): no answer within 200 ms after 2 attempts; retry later, or raise timeout_ms in deepplan.config.yaml`,
    );
    expect(fake.count(wire)).toBe(2);
  });

  it('repairs an answer that is not JSON by asking once more with the problem', async () => {
    fake.queue(wire, { kind: 'answer', text: '{"verdict": "REVISE", "findings": [' }, { kind: 'answer', object: GOOD });
    const { models } = setup();
    expect((await ask(models)).object).toEqual(GOOD);
    expect(fake.count(wire)).toBe(2);
    expect(JSON.stringify(fake.requests[1]!.body)).toMatch(/not usable: the answer is not valid JSON/);
  });

  it('stops with a clear error when the answer fails the schema twice', async () => {
    fake.always(wire, { kind: 'answer', object: { verdict: 'MAYBE', findings: 'none' } });
    const { models } = setup();
    const error = (await ask(models).catch((caught: unknown) => caught)) as ModelError;
    expect(error.kind).toBe('invalid-output');
    expect(error.message).toMatch(
      new RegExp(`^planner \\(${planner.replace('/', '\\/')}\\): the answer did not match the "review" schema twice: verdict: .*; findings: `),
    );
    expect(error.message).not.toContain('\n');
    expect(fake.count(wire)).toBe(2);
  });

  it('reports a refusal without retrying', async () => {
    fake.queue(wire, { kind: 'refusal', text: 'I cannot help with that.' });
    const { models } = setup();
    const error = (await ask(models).catch((caught: unknown) => caught)) as ModelError;
    expect(error.kind).toBe('refusal');
    expect(error.message).toMatch(/^planner \(.*\): the model refused/);
    expect(fake.count(wire)).toBe(1);
  });
});

describe('faults across providers', () => {
  it('moves to the fallback role after the primary keeps answering 500', async () => {
    fake.always('anthropic', { kind: 'status', status: 500 }).queue('google', { kind: 'answer', object: GOOD });
    const { models, notices } = runner({ planner: 'anthropic/claude-test', fallback: 'google/gemini-test' });
    const answer = await ask(models);
    expect(answer.object).toEqual(GOOD);
    expect(answer.model).toBe('google/gemini-test');
    expect(fake.count('anthropic')).toBe(3);
    expect(fake.count('google')).toBe(1);
    expect(notices).toEqual(['deepplan: planner (anthropic/claude-test): HTTP 500 after 3 attempts; trying the fallback model google/gemini-test']);
  });

  it('does not retry or fall back on a 400', async () => {
    fake.always('anthropic', { kind: 'status', status: 400 });
    const { models } = runner({ planner: 'anthropic/claude-test', fallback: 'google/gemini-test' });
    const error = (await ask(models).catch((caught: unknown) => caught)) as ModelError;
    expect(error.message).toBe('planner (anthropic/claude-test): HTTP 400; check the request settings');
    expect(fake.count()).toBe(1);
  });

  it('aborts a call in flight when the run is interrupted', async () => {
    fake.always('anthropic', { kind: 'hang' });
    const controller = new AbortController();
    const { models } = runner({ planner: 'anthropic/claude-test', signal: controller.signal, limits: { timeout_ms: 30_000 } });
    const started = performance.now();
    setTimeout(() => controller.abort(), 100);
    const error = (await ask(models).catch((caught: unknown) => caught)) as ModelError;
    expect(error.kind).toBe('aborted');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(fake.count('anthropic')).toBe(1);
  });

  it('refuses a call that would pass --max-cost before sending it', async () => {
    const { models } = runner({ planner: 'anthropic/claude-test', prices: { 'anthropic/claude-test': { input: 3, output: 15 } }, maxCostUsd: 0.001 });
    const error = (await ask(models).catch((caught: unknown) => caught)) as ModelError;
    expect(error.kind).toBe('cost');
    expect(error.message).toMatch(/^planner \(anthropic\/claude-test\): this call could bring the run to \$0\.00\d+, over --max-cost \$0\.00/);
    expect(fake.count()).toBe(0);
  });

  it('refuses to enforce --max-cost for a model without a price', async () => {
    const { models } = runner({ planner: 'anthropic/claude-unpriced', maxCostUsd: 5 });
    await expect(ask(models)).rejects.toThrow(/its price is unknown, so --max-cost cannot be kept/);
    expect(fake.count()).toBe(0);
  });

  it('keeps the sum of calls under the cap and stops the call that would pass it', async () => {
    fake.always('anthropic', { kind: 'answer', object: GOOD, inputTokens: 1000, outputTokens: 100 });
    // 1,000 in + 100 out at $1/$1 per million = $0.0011 a call; a call is estimated before sending at about $0.0006
    // (its prompt plus all 500 tokens it may answer). After three calls ($0.0033) the fourth could pass $0.0038.
    const { models } = runner({ planner: 'anthropic/claude-test', prices: { 'anthropic/claude-test': { input: 1, output: 1 } }, maxCostUsd: 0.0038 });
    await ask(models);
    await ask(models);
    await ask(models);
    await expect(ask(models)).rejects.toThrow(/over --max-cost/);
    expect(fake.count()).toBe(3);
    expect(models.ledger.spentUsd).toBeCloseTo(0.0033, 6);
  });
});

describe('roles', () => {
  it('runs a role offline without its key and says why', () => {
    const roles = resolveRoles({ models: { planner: 'anthropic/claude-test', reviewer: 'openai/gpt-test' } }, { OPENAI_API_KEY: 'sk-x-0123456789' });
    expect(roles.planner).toMatchObject({ provider: 'offline', keyPresent: false, offlineReason: 'no ANTHROPIC_API_KEY set' });
    expect(roles.reviewer).toMatchObject({ provider: 'openai', keyPresent: true, baseUrlSource: 'default' });
    expect(roles.fallback.offlineReason).toBe('no GEMINI_API_KEY or GOOGLE_API_KEY set');
    expect(resolveRoles({}, { GOOGLE_API_KEY: 'g-0123456789' }).fallback).toMatchObject({ provider: 'google', keyVariable: 'GOOGLE_API_KEY' });
  });

  it('runs every role offline when DEEPPLAN_OFFLINE=1, keys or not', () => {
    const roles = resolveRoles({}, { ANTHROPIC_API_KEY: 'k-0123456789', OPENAI_API_KEY: 'k-0123456789', DEEPPLAN_OFFLINE: '1' });
    expect(Object.values(roles).map((role) => [role.provider, role.offlineReason])).toEqual(Array(4).fill(['offline', 'DEEPPLAN_OFFLINE=1 is set']));
  });

  it('takes base URLs from the config before the environment', () => {
    const env = { ANTHROPIC_API_KEY: 'k-0123456789', ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' };
    expect(resolveRoles({}, env).planner).toMatchObject({ baseUrl: 'http://127.0.0.1:1', baseUrlSource: 'environment' });
    expect(resolveRoles({ providers: { anthropic: { base_url: 'http://127.0.0.1:2' } } }, env).planner).toMatchObject({
      baseUrl: 'http://127.0.0.1:2',
      baseUrlSource: 'config',
    });
  });

  it('says which structured requests a role can answer: a real provider all, the offline engine only its handlers', () => {
    const config: Config = { models: { planner: 'anthropic/claude-test', reviewer: 'offline/engine', executor: 'replay/cassette.json' } };
    const models = new ModelRunner({ config, root: null, env: { ANTHROPIC_API_KEY: 'k-0123456789' } });
    expect(models.answers('planner', 'unheard_of')).toBe(true);
    expect(models.answers('executor', 'unheard_of')).toBe(true);
    expect(models.answers('reviewer', 'ping')).toBe(true);
    expect(models.answers('reviewer', 'unheard_of')).toBe(false);
    expect(models.answers('fallback', 'unheard_of')).toBe(false);
  });

  it("refuses a reviewer from the planner's provider unless allowed, and then warns", () => {
    const env = { OPENAI_API_KEY: 'sk-0123456789' };
    const config: Config = { models: { planner: 'openai/gpt-a', reviewer: 'openai/gpt-b' } };
    expect(checkReviewerProvider(resolveRoles(config, env), config).error).toMatch(/both openai models; configure a reviewer from another provider/);
    const allowed = { ...config, allow_same_provider: true };
    expect(checkReviewerProvider(resolveRoles(allowed, env), allowed)).toEqual({ error: null, warning: expect.stringMatching(/^WARNING: .*not cross-model/) });
    expect(checkReviewerProvider(resolveRoles(config, {}), config)).toEqual({ error: null, warning: null });
  });
});

describe('replay cassettes', () => {
  it('records real answers and replays them by request hash without the network', async () => {
    fake.queue('anthropic', { kind: 'answer', object: GOOD });
    const root = makeRepo();
    const cassette = join(root, 'cassette.json');
    const recording = new ModelRunner({
      config: { models: { planner: 'anthropic/claude-test' }, limits: { retry_base_ms: 5 } },
      root,
      env: { ...fake.env(KEYS), DEEPPLAN_RECORD: cassette },
    });
    expect((await ask(recording)).object).toEqual(GOOD);
    expect(fake.count()).toBe(1);
    const replaying = new ModelRunner({ config: { models: { planner: `replay/${cassette}` } }, root, env: {} });
    expect((await ask(replaying)).object).toEqual(GOOD);
    expect(fake.count()).toBe(1);
    const other = replaying.generateObject('planner', { name: 'review', schema: Answer, prompt: 'Something else.', maxTokens: 500 });
    await expect(other).rejects.toThrow(/no recorded answer for this request \(hash [0-9a-f]{32}\)/);
    expect(readFileSync(cassette, 'utf8')).not.toContain(KEYS.anthropic);
  });
});
