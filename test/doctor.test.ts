import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { priceWarnings, shippedPrices } from '../src/models/prices.js';
import { DEFAULT_MODELS } from '../src/models/roles.js';
import { FakeProviders } from './support/fake-providers.js';
import { PROJECT_ROOT, makeRepo, runCli } from './support/fixtures.js';

const KEYS = { anthropic: 'sk-ant-secret-9f8e7d6c5b4a3210', openai: 'sk-proj-secret-0a1b2c3d4e5f6789', google: 'AIza-secret-1122334455667788' };

const CONFIG = `models:
  planner: anthropic/claude-test
  reviewer: openai/gpt-test
  executor: anthropic/claude-test
  fallback: google/gemini-test
limits:
  timeout_ms: 2000
  max_attempts: 3
  retry_base_ms: 50
prices:
  anthropic/claude-test: {input: 3, output: 15}
  openai/gpt-test: {input: 1.25, output: 10}
  google/gemini-test: {input: 1.25, output: 10}
`;

const run = runCli;

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.close();
});

function everythingWritten(root: string, output: string): string {
  const ledgers = join(root, '.deepplan', 'runs');
  const files = readdirSync(ledgers).map((name) => readFileSync(join(ledgers, name), 'utf8'));
  return [output, ...files].join('\n');
}

describe('deepplan doctor', () => {
  it('with no keys shows every role offline and exits 0', async () => {
    const root = makeRepo({ 'deepplan.config.yaml': CONFIG });
    const result = await run(['doctor'], root, {});
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^planner\s+anthropic\/claude-test\s+offline\s+ANTHROPIC_API_KEY missing/m);
    expect(result.stderr).toContain('deepplan: no ANTHROPIC_API_KEY set: planner, executor run offline');
    expect(result.stderr.match(/no ANTHROPIC_API_KEY set/g)).toHaveLength(1);
  });

  it('--ping reaches all three providers with structured requests and exits 0; keys appear nowhere', async () => {
    const root = makeRepo({ 'deepplan.config.yaml': CONFIG });
    const result = await run(['doctor', '--ping'], root, fake.env(KEYS));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const wire of ['anthropic', 'openai-responses', 'google'] as const) {
      expect(fake.requests.filter((request) => request.wire === wire && request.structured).length, wire).toBeGreaterThan(0);
    }
    expect(result.stdout).toMatch(
      /^planner\s+anthropic\/claude-test\s+anthropic\s+ANTHROPIC_API_KEY set\s+http:\/\/127\.0\.0\.1:\d+ \(environment\)\s+ok \d+ ms, 100 in \/ 20 out tokens, \$0\.000600$/m,
    );
    expect(result.stdout).toMatch(/^reviewer\s+openai\/gpt-test\s+openai\s+OPENAI_API_KEY set\s+\S+ \(environment\)\s+ok /m);
    expect(result.stdout).toMatch(/^fallback\s+google\/gemini-test\s+google\s+GEMINI_API_KEY set\s+\S+ \(environment\)\s+ok /m);
    // The keys went to the server (the SDKs sent them) and nowhere else.
    expect(JSON.stringify(fake.requests.find((request) => request.wire === 'anthropic')!.headers)).toContain(KEYS.anthropic);
    const written = everythingWritten(root, result.stdout + result.stderr);
    for (const key of Object.values(KEYS)) expect(written).not.toContain(key);
  });

  it('--json reports the same, for scripts', async () => {
    const root = makeRepo({ 'deepplan.config.yaml': CONFIG });
    const result = await run(['doctor', '--ping', '--json'], root, fake.env(KEYS));
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      roles: Array<{ role: string; provider: string; key: { present: boolean }; ping: { ok: boolean } }>;
    };
    expect(report.ok).toBe(true);
    expect(report.roles.map((role) => [role.role, role.provider, role.key.present, role.ping.ok])).toEqual([
      ['planner', 'anthropic', true, true],
      ['reviewer', 'openai', true, true],
      ['executor', 'anthropic', true, true],
      ['fallback', 'google', true, true],
    ]);
  });

  it('exits 1 within a minute with a clear line when a provider always answers 500; the key of the failing call stays secret', async () => {
    fake.always('openai-responses', { kind: 'status', status: 500, body: { error: { message: `bad key ${KEYS.openai}` } } });
    const root = makeRepo({ 'deepplan.config.yaml': CONFIG });
    const started = Date.now();
    const result = await run(['doctor', '--ping'], root, fake.env(KEYS));
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^reviewer\s+openai\/gpt-test .*FAILED: reviewer \(openai\/gpt-test\): HTTP 500 after 3 attempts; the provider is failing; retry later or configure a fallback model$/m,
    );
    expect(result.stdout).toMatch(/^planner .* ok /m);
    expect(fake.count('openai-responses')).toBe(3);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const written = everythingWritten(root, result.stdout + result.stderr);
    for (const key of Object.values(KEYS)) expect(written).not.toContain(key);
  });

  it("flags a reviewer from the planner's provider", async () => {
    const root = makeRepo({ 'deepplan.config.yaml': CONFIG.replace('reviewer: openai/gpt-test', 'reviewer: anthropic/claude-other') });
    const result = await run(['doctor'], root, fake.env(KEYS));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/problem: the reviewer \(anthropic\/claude-other\) and the planner \(anthropic\/claude-test\) are both anthropic models/);
  });
});

describe('deepplan doctor on prices', () => {
  const used = (entries: Array<[string, string[]]>) => new Map(entries);
  const priced = (date?: string) => ({
    prices: { 'openai/gpt-x': { input: 2, output: 10, ...(date ? { date } : {}), source: 'https://vendor.example/pricing' } },
  });

  it('warns about a configured model without a price, and skips the offline engine', () => {
    const warnings = priceWarnings(
      used([
        ['google/gemini-unpriced', ['fallback']],
        ['offline/rules', ['planner', 'executor']],
      ]),
      {},
      new Date('2026-12-05T09:00:00Z'),
    );
    expect(warnings).toEqual([
      'google/gemini-unpriced (fallback) has no price: its cost shows as unknown and --max-cost refuses to call it; add it under prices: in deepplan.config.yaml',
    ]);
  });

  it('warns when a price was read more than 90 days ago: 91 days is old, 90 is not', () => {
    const today = new Date('2026-12-05T23:30:00Z');
    expect(priceWarnings(used([['openai/gpt-x', ['reviewer']]]), priced('2026-09-06'), today)).toEqual([]);
    expect(priceWarnings(used([['openai/gpt-x', ['reviewer']]]), priced('2026-09-05'), today)).toEqual([
      'openai/gpt-x (reviewer): its price in prices: in deepplan.config.yaml was read on 2026-09-05, 91 days ago; check it on https://vendor.example/pricing and update it',
    ]);
    expect(priceWarnings(used([['openai/gpt-x', ['reviewer']]]), priced(), today)[0]).toMatch(/has no date; check it on https:\/\/vendor\.example\/pricing/);
  });

  it('the shipped prices are dated, sourced, and not yet 90 days old for the default models on the day they were read', () => {
    const shipped = shippedPrices();
    for (const [ref, price] of Object.entries(shipped)) {
      expect(price.source, ref).toMatch(/^https:\/\//);
      expect(String(price.date), ref).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(`${price.source}`, ref).not.toMatch(/assum/i);
    }
    const readOn = new Date(`${String(shipped['anthropic/claude-sonnet-5-5']!.date)}T12:00:00Z`);
    const defaults = used(Object.entries(DEFAULT_MODELS).map(([role, ref]) => [ref, [role]]));
    // Every default model is priced; none of the prices was more than 90 days old on the day the table was read.
    expect(priceWarnings(defaults, {}, readOn)).toEqual([]);
    for (const ref of Object.values(DEFAULT_MODELS)) expect(shipped[ref], ref).toMatchObject({ input: expect.any(Number), output: expect.any(Number) });
    expect(shipped['anthropic/claude-sonnet-5']).toMatchObject({ input: 2, output: 10 });
  });

  it('prints the warnings after the table and in --json, and still exits 0', async () => {
    const root = makeRepo({
      'deepplan.config.yaml': `${CONFIG.replace('  google/gemini-test: {input: 1.25, output: 10}\n', '').replace('  openai/gpt-test: {input: 1.25, output: 10}', '  openai/gpt-test: {input: 1.25, output: 10, date: "2020-01-01", source: "https://vendor.example/p"}')}`,
    });
    const result = await run(['doctor'], root, {});
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^warning: google\/gemini-test \(fallback\) has no price: /m);
    expect(result.stdout).toMatch(
      /^warning: openai\/gpt-test \(reviewer\): its price in prices: in deepplan\.config\.yaml was read on 2020-01-01, \d+ days ago; check it on https:\/\/vendor\.example\/p and update it$/m,
    );
    expect(result.stdout).toMatch(/^warning: anthropic\/claude-test \(planner, executor\): its price .* has no date/m);
    const json = JSON.parse((await run(['doctor', '--format', 'json'], root, {})).stdout) as { warnings: string[]; ok: boolean };
    expect(json.ok).toBe(true);
    expect(json.warnings).toHaveLength(3);
  });
});

describe('loading the models layer', () => {
  it('loads only the SDK of the provider in use', async () => {
    const root = makeRepo();
    const script = join(root, 'load.mjs');
    writeFileSync(
      script,
      `import { ModelRunner } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/models/runner.js'))};
const runner = new ModelRunner({ config: { models: { planner: 'anthropic/claude-test' } }, root: null, env: { ANTHROPIC_API_KEY: 'k-0123456789' } });
await runner.modelFor('planner');
`,
    );
    const out = join(root, 'imports.txt');
    await new Promise<void>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', join(PROJECT_ROOT, 'test/support/record-imports.mjs'), script],
        { env: { ...process.env, DEEPPLAN_IMPORTS_OUT: out } },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    const imports = readFileSync(out, 'utf8');
    expect(imports).toMatch(/node_modules\/@anthropic-ai\/sdk\//);
    expect(imports).not.toMatch(/node_modules\/openai\//);
    expect(imports).not.toMatch(/node_modules\/@google\/genai\//);
  });
});
