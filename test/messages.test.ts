import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Config } from '../src/config/config.js';
import { ModelError } from '../src/models/errors.js';
import { ModelRunner } from '../src/models/runner.js';
import { FakeProviders, type Wire } from './support/fake-providers.js';
import { runCli } from './support/fixtures.js';
import { iterate, KEYS, modelRepo, readPlan } from './support/model-plan.js';

/**
 * The messages of failed model calls, through the official SDKs against local servers: an HTTP 200 whose body is not
 * the provider's format is not a cut connection, a failed fallback does not ask for a fallback, and an off-format
 * answer never surfaces a JavaScript TypeError.
 */

const Answer = z.object({ verdict: z.enum(['APPROVED', 'REVISE']), notes: z.string() });
const ALL_KEYS = { anthropic: 'sk-ant-test-0123456789', openai: 'sk-openai-test-0123456789', google: 'g-test-0123456789' };
const INTERNALS = /Cannot read properties|Cannot use 'in' operator|is not a function|is not iterable|undefined \(reading/;

const PROVIDERS: Array<{ name: string; model: string; wire: Wire; api?: 'responses' | 'chat'; format: string }> = [
  { name: 'Anthropic Messages', model: 'anthropic/claude-test', wire: 'anthropic', format: 'the Anthropic Messages API' },
  { name: 'OpenAI Responses', model: 'openai/gpt-test', wire: 'openai-responses', api: 'responses', format: 'the OpenAI API' },
  { name: 'OpenAI Chat Completions', model: 'openai/gpt-test', wire: 'openai-chat', api: 'chat', format: 'the OpenAI API' },
  { name: 'Gemini', model: 'google/gemini-test', wire: 'google', format: 'the Gemini API' },
];

/** Answers every request with HTTP 200 and a fixed body: a proxy's page, or JSON of someone else's API. */
async function startRawServer(body: string, contentType: string): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      count++;
      response.writeHead(200, { 'content-type': contentType }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests: () => count,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function runnerFor(model: string, url: string, options: { api?: 'responses' | 'chat'; fallback?: string; attempts?: number } = {}): ModelRunner {
  const config: Config = {
    models: { planner: model, reviewer: 'openai/gpt-test', executor: model, fallback: options.fallback ?? 'offline/engine' },
    limits: { timeout_ms: 3_000, max_attempts: options.attempts ?? 2, retry_base_ms: 5 },
    ...(options.api ? { providers: { openai: { api: options.api } } } : {}),
  };
  const env = {
    ANTHROPIC_BASE_URL: url,
    OPENAI_BASE_URL: `${url}/v1`,
    GOOGLE_GEMINI_BASE_URL: url,
    ANTHROPIC_API_KEY: ALL_KEYS.anthropic,
    OPENAI_API_KEY: ALL_KEYS.openai,
    GEMINI_API_KEY: ALL_KEYS.google,
  };
  return new ModelRunner({ config, root: null, env, notice: () => {} });
}

async function failure(promise: Promise<unknown>): Promise<ModelError> {
  const caught = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(caught).toBeInstanceOf(ModelError);
  return caught as ModelError;
}

describe("an HTTP 200 whose body is not the provider's format", () => {
  const bodies: Array<[string, string, string, RegExp]> = [
    ["a proxy's HTML page", '<html><body>Gateway: network maintenance</body></html>', 'text/html', /not (valid JSON|a JSON object|in the API's format)/],
    [
      'JSON of another API',
      '{"status": "ok", "data": {"network": "up"}}',
      'application/json',
      /has no (content|output|choices) list|neither candidates nor promptFeedback/,
    ],
    ['JSON cut short (the whole body arrived)', '{"id": "msg_1", "content": [', 'application/json', /its body is not valid JSON/],
    ['an empty body', '', 'application/json', /not (valid JSON|a JSON object|in the API's format)/],
  ];
  for (const provider of PROVIDERS) {
    for (const [what, body, type, detail] of bodies) {
      it(`${provider.name}, ${what}: one line saying so, retried, never "the connection failed"`, async () => {
        const server = await startRawServer(body, type);
        try {
          const models = runnerFor(provider.model, server.url, { ...(provider.api ? { api: provider.api } : {}) });
          for (const ask of [
            () => models.generateObject('planner', { name: 'review', schema: Answer, prompt: 'Review the Q3 deal notes.' }),
            () => models.generateText('planner', { prompt: 'Summarise the Q3 deal notes.' }),
          ]) {
            const before = server.requests();
            const error = await failure(ask());
            expect(error.kind).toBe('malformed');
            expect(error.message).not.toContain('\n');
            expect(error.message).not.toMatch(/connection failed|cut off/);
            expect(error.message).not.toMatch(INTERNALS);
            expect(error.message).toMatch(new RegExp(`^planner \\(${provider.model}\\): the server answered, but not in the format of ${provider.format}: `));
            expect(error.message).toMatch(detail);
            expect(error.message).toMatch(/after 2 attempts; check that the base URL is the provider's API/);
            // Worth another try (a proxy's hiccup), like a cut connection.
            expect(server.requests() - before).toBe(2);
          }
        } finally {
          await server.close();
        }
      });
    }
  }

  it('a body really cut off mid-way is still a cut connection', async () => {
    const fake = await new FakeProviders().start();
    try {
      fake.always('anthropic', { kind: 'truncate' });
      const models = runnerFor('anthropic/claude-test', fake.url);
      const error = await failure(models.generateObject('planner', { name: 'review', schema: Answer, prompt: 'Review it.' }));
      expect(error.kind).toBe('connection');
      expect(error.message).toBe('planner (anthropic/claude-test): the connection failed or was cut off after 2 attempts; check the network and the base URL');
    } finally {
      await fake.close();
    }
  });
});

describe('a fallback that failed too', () => {
  let fake: FakeProviders;
  beforeEach(async () => {
    fake = await new FakeProviders().start();
  });
  afterEach(async () => {
    await fake.close();
  });

  function runner(primary: string, fallback: string): ModelRunner {
    const config: Config = {
      models: { planner: primary, reviewer: 'openai/gpt-test', executor: primary, fallback },
      limits: { timeout_ms: 2_000, max_attempts: 2, retry_base_ms: 5 },
    };
    return new ModelRunner({ config, root: null, env: fake.env(ALL_KEYS), notice: () => {} });
  }

  it('both answering 5xx: one line with both failures, and no advice to configure a fallback', async () => {
    fake.always('anthropic', { kind: 'status', status: 500 }).always('google', { kind: 'status', status: 500 });
    const error = await failure(
      runner('anthropic/claude-test', 'google/gemini-test').generateObject('planner', { name: 'review', schema: Answer, prompt: 'Review it.' }),
    );
    expect(fake.count('anthropic')).toBe(2);
    expect(fake.count('google')).toBe(2);
    expect(error.message).toBe(
      'planner (anthropic/claude-test): HTTP 500 after 2 attempts; the fallback model google/gemini-test failed too: HTTP 500 after 2 attempts; both providers are failing; retry later',
    );
    expect(error.message).not.toMatch(/configure a fallback/);
  });

  it('the fallback failing otherwise: its own advice, never a fallback', async () => {
    fake.always('openai-responses', { kind: 'status', status: 503 }).always('google', { kind: 'status', status: 401 });
    const error = await failure(runner('openai/gpt-test', 'google/gemini-test').generateText('planner', { prompt: 'Summarise it.' }));
    expect(error.message).toBe(
      'planner (openai/gpt-test): HTTP 503 after 2 attempts; the fallback model google/gemini-test failed too: HTTP 401; check the API key',
    );
    const garbled = await startRawServer('<html>maintenance</html>', 'text/html');
    try {
      fake.always('anthropic', { kind: 'status', status: 502 });
      const config: Config = {
        models: { planner: 'anthropic/claude-test', fallback: 'google/gemini-test' },
        limits: { timeout_ms: 2_000, max_attempts: 1, retry_base_ms: 5 },
      };
      const env = { ...fake.env(ALL_KEYS), GOOGLE_GEMINI_BASE_URL: garbled.url };
      const models = new ModelRunner({ config, root: null, env, notice: () => {} });
      const mixed = await failure(models.generateObject('planner', { name: 'review', schema: Answer, prompt: 'Review it.' }));
      expect(mixed.message).toMatch(
        /^planner \(anthropic\/claude-test\): HTTP 502 after 1 attempt; the fallback model google\/gemini-test failed too: the server answered, but not in the format of the Gemini API: its body is not valid JSON after 1 attempt; check that the base URL/,
      );
      expect(mixed.message).not.toMatch(/configure a fallback|connection failed/);
    } finally {
      await garbled.close();
    }
  });

  it('the fallback role asked on its own (deepplan doctor) does not ask for a fallback either', async () => {
    fake.always('google', { kind: 'status', status: 503 });
    const error = await failure(
      runner('anthropic/claude-test', 'google/gemini-test').generateObject(
        'fallback',
        { name: 'ping', schema: z.object({ ok: z.boolean() }), prompt: 'ping' },
        { fallback: false },
      ),
    );
    expect(error.message).toBe('fallback (google/gemini-test): HTTP 503 after 2 attempts; the provider is failing; retry later');
  });

  it('without a usable fallback the advice still suggests one', async () => {
    fake.always('anthropic', { kind: 'status', status: 500 });
    const error = await failure(
      runner('anthropic/claude-test', 'offline/engine').generateObject('planner', { name: 'review', schema: Answer, prompt: 'Review it.' }),
    );
    expect(error.message).toBe(
      'planner (anthropic/claude-test): HTTP 500 after 2 attempts; the provider is failing; retry later or configure a fallback model',
    );
  });
});

describe('an off-format answer where a structured one was asked for, in the commands', () => {
  let fake: FakeProviders;
  const roots: string[] = [];
  beforeEach(async () => {
    fake = await new FakeProviders().start();
  });
  afterEach(async () => {
    await fake.close();
  });
  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it("run: the executor model's off-format answer is a failed row with a readable reason", async () => {
    const root = modelRepo();
    roots.push(root);
    // An Anthropic-compatible gateway that answers with its own JSON instead of a message.
    fake.always('anthropic', { kind: 'status', status: 200, body: { result: { text: 'Acme renewed' } } });
    const report = await iterate(root, fake);
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0]).toMatchObject({ result: 'failed', signal: 'CONTINUE' });
    expect(report.rows[0]!.notes).toBe(
      "the executor model failed: executor (anthropic/claude-test): the server answered, but not in the format of the Anthropic Messages API: the JSON has no content list after 1 attempt; check that the base URL is the provider's API (deepplan doctor shows it); a proxy or another server may have answered",
    );
    expect(readPlan(root).log!.rows[0]!.notes).not.toMatch(INTERNALS);
  });

  it("review: the reviewer's off-format answer ends the command with one readable line", async () => {
    const root = modelRepo();
    roots.push(root);
    fake.always('openai-responses', { kind: 'status', status: 200, body: { id: 'resp_1', object: 'response', status: 'completed' } });
    const result = await runCli(['review', 'plans/p.md'], root, fake.env(KEYS));
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(
      /^deepplan: reviewer \(openai\/gpt-test\): the server answered, but not in the format of the OpenAI API: its body is not in the API's format after 1 attempt; check that the base URL is the provider's API/,
    );
    expect(result.stderr).not.toMatch(INTERNALS);
    expect(result.stderr).not.toMatch(/connection failed/);
  });
});
