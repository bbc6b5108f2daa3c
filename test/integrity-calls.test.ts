import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { runIteration } from '../src/execute/iteration.js';
import { ModelRunner } from '../src/models/runner.js';
import { FakeProviders, type RecordedRequest, type Wire } from './support/fake-providers.js';
import { modelPlan, modelRepo, readPlan, SANDBOX, stateErrors, toolCall, type ToolCall } from './support/model-plan.js';

/**
 * One action per iteration, for real: the executor's answer is one tool call, each provider is asked (through its
 * official SDK, against a local server) for exactly one, and an answer that still carries more runs the first and
 * says in the log row which calls were dropped.
 */

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.close();
});

const KEYS = { anthropic: 'sk-ant-test-0123456789', openai: 'sk-openai-test-0123456789', google: 'gm-test-0123456789' };

function config(executor: string, openaiApi: 'responses' | 'chat' = 'responses'): string {
  return [
    'models:',
    '  planner: anthropic/claude-test',
    '  reviewer: openai/gpt-test',
    `  executor: ${executor}`,
    ...(openaiApi === 'chat' ? ['providers:', '  openai:', '    api: chat'] : []),
    'limits:',
    '  timeout_ms: 5000',
    '  max_attempts: 1',
    '  retry_base_ms: 10',
    '',
  ].join('\n');
}

async function iterate(root: string) {
  const loaded = loadConfig(root);
  const models = new ModelRunner({ config: loaded, root, env: fake.env(KEYS), maxCostUsd: null, notice: () => {} });
  return runIteration({ planPath: join(root, 'plans/p.md'), root, config: loaded, models, sandbox: SANDBOX, maxCostUsd: null });
}

const args = (call: ToolCall) => (toolCall(call) as { object: unknown }).object;

/** The flag by which each wire asks for one call, as the SDK sent it. */
function oneCallFlag(request: RecordedRequest): unknown {
  const body = request.body;
  switch (request.wire) {
    case 'anthropic':
      return body['tool_choice'];
    case 'openai-responses':
      return {
        parallel_tool_calls: body['parallel_tool_calls'],
        tool_choice: body['tool_choice'],
        tools: (body['tools'] as Array<{ name?: string }>).map((tool) => tool.name),
      };
    case 'openai-chat':
      return {
        parallel_tool_calls: body['parallel_tool_calls'],
        tool_choice: body['tool_choice'],
        tools: (body['tools'] as Array<{ function: { name: string } }>).map((tool) => tool.function.name),
      };
    case 'google':
      return {
        toolConfig: body['toolConfig'],
        functions: (body['tools'] as Array<{ functionDeclarations: Array<{ name: string }> }>)[0]!.functionDeclarations.map((fn) => fn.name),
      };
  }
}

const EXPECTED_FLAG: Record<Wire, unknown> = {
  anthropic: { type: 'tool', name: 'executor_action', disable_parallel_tool_use: true },
  'openai-responses': { parallel_tool_calls: false, tool_choice: { type: 'function', name: 'executor_action' }, tools: ['executor_action'] },
  'openai-chat': { parallel_tool_calls: false, tool_choice: { type: 'function', function: { name: 'executor_action' } }, tools: ['executor_action'] },
  google: { toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['executor_action'] } }, functions: ['executor_action'] },
};

const PROVIDERS: Array<{ wire: Wire; executor: string; api?: 'chat' }> = [
  { wire: 'anthropic', executor: 'anthropic/claude-test' },
  { wire: 'openai-responses', executor: 'openai/gpt-exec-test' },
  { wire: 'openai-chat', executor: 'openai/gpt-exec-test', api: 'chat' },
  { wire: 'google', executor: 'google/gemini-test' },
];

describe("an executor answer with two tool calls, through each provider's SDK", () => {
  for (const { wire, executor, api } of PROVIDERS) {
    it(`${wire}: asks for one call, runs the first, and logs the second as dropped`, async () => {
      const root = modelRepo(modelPlan(), {}, config(executor, api));
      fake.queue(wire, {
        kind: 'calls',
        objects: [
          args({
            tool: 'write_file',
            path: 'notes/week.md',
            content: '- Acme: renewed\n- Globex: paused\n- Initech: new\n',
            step_done: true,
            summary: 'the notes',
          }),
          args({ tool: 'write_file', path: 'out/summary.md', content: 'All done.\n', step_done: true, summary: 'the summary too' }),
        ],
      });
      const report = await iterate(root);

      const requests = fake.requests.filter((request) => request.wire === wire);
      expect(requests).toHaveLength(1);
      expect(requests[0]!.structured).toBe(true);
      expect(oneCallFlag(requests[0]!)).toEqual(EXPECTED_FLAG[wire]);
      expect(JSON.stringify(requests[0]!.body)).toContain('## Your step: P1.1');

      expect(report.rows).toHaveLength(1);
      expect(report.rows[0]).toMatchObject({ action: 'P1.1 write_file notes/week.md', result: 'ok' });
      expect(report.rows[0]!.notes).toBe('step done; wrote notes/week.md: the notes; dropped 1 extra call(s): write_file out/summary.md; Done when passes');
      // The first call ran; the second did not.
      expect(readFileSync(join(root, 'notes/week.md'), 'utf8')).toBe('- Acme: renewed\n- Globex: paused\n- Initech: new\n');
      expect(existsSync(join(root, 'out/summary.md'))).toBe(false);
      // The note is in the plan's log as written, and the plan stays consistent.
      expect(readPlan(root).log!.rows[0]!.notes).toContain('dropped 1 extra call(s): write_file out/summary.md');
      expect(stateErrors(root)).toEqual([]);
    });
  }

  it('names every dropped call, a command by its command line, and says so even when the first call is refused', async () => {
    const root = modelRepo(modelPlan(), {}, config('anthropic/claude-test'));
    fake.queue('anthropic', {
      kind: 'calls',
      objects: [
        args({ tool: 'write_file', path: '../outside.md', content: 'x\n', step_done: true }),
        args({ tool: 'run_command', command: 'node scripts/put.mjs out/a.md x', step_done: true }),
        args({ tool: 'read_file', path: 'notes/accounts.md' }),
      ],
    });
    const report = await iterate(root);
    expect(report.rows[0]).toMatchObject({ result: 'failed' });
    expect(report.rows[0]!.notes).toMatch(
      /^refused: .*; dropped 2 extra call\(s\): run_command node scripts\/put\.mjs out\/a\.md x, read_file notes\/accounts\.md$/,
    );
    expect(existsSync(join(root, 'out/a.md'))).toBe(false);
  });

  it('an answer of one call has no such note, and the planner and reviewer keep their JSON-schema answers', async () => {
    const root = modelRepo(modelPlan({ gate: 'review' }), {}, config('openai/gpt-exec-test'));
    fake.queue(
      'openai-responses',
      toolCall({ tool: 'write_file', path: 'notes/week.md', content: '- Acme: renewed\n- Globex: paused\n- Initech: new\n', step_done: true }),
    );
    fake.queue('openai-responses', { kind: 'answer', object: { verdict: 'APPROVED', findings: [] } });
    const step = await iterate(root);
    expect(step.rows[0]).toMatchObject({ result: 'ok' });
    expect(step.rows[0]!.notes).not.toContain('dropped');
    const gate = await iterate(root);
    expect(gate.rows[0]!.notes).toMatch(/^APPROVED round 1 by openai\/gpt-test/);
    const review = fake.requests.filter((request) => request.wire === 'openai-responses')[1]!;
    // Only the executor's action is a forced function call; the reviewer's verdict is JSON of its schema.
    expect(review.body['tools']).toBeUndefined();
    expect(review.body['parallel_tool_calls']).toBeUndefined();
    expect((review.body['text'] as { format: { type: string; name: string } }).format).toMatchObject({ type: 'json_schema', name: 'gate_review' });
  });
});
