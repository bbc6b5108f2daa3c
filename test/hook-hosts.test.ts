import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentOutcome, parseAgentStatus } from '../src/execute/iteration.js';
import { endingLine, forClaudeCode, handOut, stopHook } from '../src/hook/session-loop.js';
import { lastAssistantText, readTranscript } from '../src/hook/transcript.js';
import type { Phase, Step } from '../src/plan/types.js';
import { CLI, cliEnvironment, PROJECT_ROOT } from './support/fixtures.js';
import { claudeApi, codexApi } from './support/host-servers.js';
import { MODEL_CONFIG, modelPlan, modelRepo, readPlan, SANDBOX } from './support/model-plan.js';

/**
 * deepplan against the formats the real hosts speak. test/fixtures/hosts/ holds what Claude Code 2.1.332 and
 * codex-cli 0.171.0 produced when they ran deepplan's loop and recipe against local stand-ins of their model APIs
 * (test/support/host-servers.ts): Claude Code's Stop hook input, its session transcript (hand-outs as additional
 * context, and as decision blocks for comparison), `claude -p --output-format stream-json`, and `codex exec --json`.
 *
 * With the real CLIs at hand the same runs happen here:
 *   DEEPPLAN_CLAUDE_BIN=$(command -v claude) DEEPPLAN_CODEX_BIN=$(command -v codex) npx vitest run test/hook-hosts.test.ts
 */

const HOSTS = join(PROJECT_ROOT, 'test', 'fixtures', 'hosts');
const jsonLines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, any>);
const OWN_TOOLS = /\b(read_file|write_file|list_files|search_text|run_command)\b/;

describe('Claude Code, as recorded (test/fixtures/hosts/claude-code)', () => {
  it('the Stop hook input parses; a project with no loop gets no output; after a hand-out stop_hook_active is true', async () => {
    const input = readFileSync(join(HOSTS, 'claude-code/stop-input.json'), 'utf8');
    const continued = JSON.parse(readFileSync(join(HOSTS, 'claude-code/stop-input-continued.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.parse(input)).toMatchObject({
      hook_event_name: 'Stop',
      stop_hook_active: false,
      session_id: expect.any(String),
      transcript_path: expect.stringMatching(/\.jsonl$/),
      last_assistant_message: expect.any(String),
    });
    expect(continued).toMatchObject({ hook_event_name: 'Stop', stop_hook_active: true });
    const empty = mkdtempSync(join(tmpdir(), 'deepplan-noloop-'));
    mkdirSync(join(empty, '.git'));
    expect(await stopHook(input, { cwd: empty, timeLimitMs: 1000 })).toBeNull();
    // A non-Stop event on the same shape is not the hook's business.
    expect(await stopHook(JSON.stringify({ ...continued, hook_event_name: 'SubagentStop' }), { cwd: empty, timeLimitMs: 1000 })).toBeNull();
  });

  it("the transcript: hand-outs arrive as additional context with Claude Code's tool names, the answer is the last assistant text, the loop token is there", () => {
    const path = join(HOSTS, 'claude-code/transcript.jsonl');
    const entries = jsonLines(path);
    const text = readTranscript(path);
    // The session guard: the token hook start printed is in the conversation (the slash command's output).
    const token = /deepplan loop (\S+) started for plans\/p\.md/.exec(text)![1]!;
    expect(text.split(token).length - 1).toBeGreaterThanOrEqual(1);
    // Hand-outs: additional context, each the prompt for Claude Code's tools; the hook summaries record no error.
    const contexts = entries.filter((entry) => entry['type'] === 'attachment' && entry['attachment']?.type === 'hook_additional_context');
    expect(contexts.length).toBeGreaterThanOrEqual(2);
    for (const entry of contexts) {
      const content = (entry['attachment'].content as string[]).join('\n');
      expect(content).toMatch(/^deepplan loop for plans\/p\.md: carry out exactly this one step|^The deepplan loop has ended\./);
      expect(content).not.toMatch(OWN_TOOLS);
    }
    const summaries = entries.filter((entry) => entry['type'] === 'system' && entry['subtype'] === 'stop_hook_summary');
    expect(summaries.length).toBeGreaterThanOrEqual(2);
    for (const summary of summaries) expect(summary['hookErrors']).toEqual([]);
    // The session's answer is its last assistant text: here the ending line the last hand-out asked for.
    const answer = lastAssistantText(text)!;
    expect(answer).toMatch(/^deepplan: #\d+ P2\.1 ok\. plans\/p\.md is TASK_COMPLETE/);
    // Before that, a step's answer ends with the status line the engine parses.
    const statusAnswers = entries
      .filter((entry) => entry['type'] === 'assistant')
      .map((entry) => (entry['message'].content as Array<{ type: string; text?: string }>).find((part) => part.type === 'text')?.text)
      .filter((value): value is string => value !== undefined && parseAgentStatus(value) !== null);
    expect(statusAnswers.length).toBeGreaterThanOrEqual(2);
  });

  it("a decision block is recorded as a hook error; the hook's own output is the other form", () => {
    const blocked = jsonLines(join(HOSTS, 'claude-code/transcript-decision-block.jsonl'));
    expect(blocked.some((entry) => entry['attachment']?.type === 'hook_blocking_error')).toBe(true);
    const summary = blocked.find((entry) => entry['subtype'] === 'stop_hook_summary')!;
    expect(summary['hookErrors']).toHaveLength(1);
    expect(summary['hookErrors'][0]).toMatch(/^deepplan loop for plans\/p\.md/);
    const output = handOut('the next step', 'deepplan: P2.1 handed to this session');
    expect(output).toEqual({
      hookSpecificOutput: { hookEventName: 'Stop', additionalContext: 'the next step' },
      systemMessage: 'deepplan: P2.1 handed to this session',
    });
    expect(output).not.toHaveProperty('decision');
  });

  it('print mode: the result claude -p printed is the ending line the hook handed out, and every hook message is an informational event', () => {
    const events = jsonLines(join(HOSTS, 'claude-code/print-stream.jsonl'));
    const said = events
      .filter((event) => event['type'] === 'system' && event['subtype'] === 'informational')
      .map((event) => String(event['content']).replace(/^Stop says: /, ''));
    expect(said.at(-1)).toMatch(/TASK_COMPLETE/);
    const result = events.find((event) => event['type'] === 'result')!;
    expect(result).toMatchObject({ is_error: false, subtype: 'success' });
    expect(result['result']).toBe(said.at(-1));
    expect(result['result']).toBe(endingLine(said.at(-1)!.replace(/^deepplan: /, '')));
    // No hook error notification in the run.
    expect(events.some((event) => event['subtype'] === 'notification' && event['key'] === 'stop-hook-error')).toBe(false);
  });

  it("the hand-out prompt names Claude Code's tools instead of deepplan's", () => {
    const prompt = [
      'You are the executor of a deepplan plan: a stateless agent that carries out exactly one action per iteration.',
      'Each iteration you answer with exactly one tool call (read_file, write_file, list_files, search_text or run_command) and say whether it finishes the current step.',
      '## What you may do',
      '- Tools this step allows: read_file, list_files, run_command',
      'Answer with the one tool call for this iteration.',
    ].join('\n');
    const host = forClaudeCode(prompt);
    expect(host).not.toMatch(OWN_TOOLS);
    expect(host).toContain('- Tools this step allows: Read, Glob, Bash');
    expect(host).toContain('Carry out the current step with your own tools (Read, Write, Edit, Glob, Grep, Bash)');
    expect(host).not.toContain('exactly one tool call');
  });
});

describe('Codex, as recorded (test/fixtures/hosts/codex)', () => {
  it("codex exec --json: with danger-full-access the command runs and the last agent message carries the status line; workspace-write inside deepplan's sandbox cannot even start it", () => {
    const ok = jsonLines(join(HOSTS, 'codex/exec-json-danger-full-access.jsonl'));
    expect(ok[0]).toMatchObject({ type: 'thread.started' });
    expect(ok.at(-1)).toMatchObject({ type: 'turn.completed', usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) } });
    expect(ok.find((event) => event['type'] === 'item.completed' && event['item'].type === 'command_execution')).toMatchObject({
      item: { exit_code: 0, status: 'completed' },
    });
    const message = ok.filter((event) => event['type'] === 'item.completed' && event['item'].type === 'agent_message').at(-1)!;
    expect(parseAgentStatus(message['item'].text)).toMatchObject({ step_done: true });

    const failed = jsonLines(join(HOSTS, 'codex/exec-json-workspace-write.jsonl'));
    expect(failed.some((event) => event['item']?.type === 'command_execution')).toBe(false);
    const toolOutput = JSON.parse(readFileSync(join(HOSTS, 'codex/tool-output-workspace-write.json'), 'utf8')) as { output: string };
    expect(toolOutput.output).toMatch(/Process exited with code 1[\s\S]*bwrap: Can't mkdir \S+\/\.agents: Read-only file system/);
  });

  it('a failed agent row keeps the last 300 characters it printed, control characters stripped', () => {
    const phase = { id: 'P4' } as Phase;
    const step = { index: 2 } as Step;
    const events = readFileSync(join(HOSTS, 'codex/exec-json-workspace-write.jsonl'), 'utf8');
    const printed = `\u001b[31mERROR\u001b[0m codex: ${events}\u0007Error: the model provider refused the request (401)\n`;
    const outcome = agentOutcome('P4.2 agent enrich the accounts', phase, step, { stdout: printed, code: 1, timedOut: false, changed: [], actionMs: 5 });
    expect(outcome.result).toBe('failed');
    expect(outcome.notes.startsWith('the agent exited 1; it printed: …')).toBe(true);
    const excerpt = outcome.notes.slice('the agent exited 1; it printed: '.length);
    expect([...excerpt].length).toBeLessThanOrEqual(300);
    expect(excerpt.endsWith('Error: the model provider refused the request (401)')).toBe(true);
    expect(outcome.notes).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(outcome.notes).not.toContain('\n');
    // Standard error counts when the runner passes it; an agent that printed nothing says so.
    const quiet = agentOutcome('P4.2 agent x', phase, step, { stdout: '', code: 2, timedOut: true, changed: [], actionMs: 1 });
    expect(quiet.notes).toBe('the agent exited 2 (timed out); it printed nothing');
    const withStderr = agentOutcome(
      'P4.2 agent x',
      phase,
      step,
      Object.assign({ stdout: '', code: 1, timedOut: false, changed: [], actionMs: 1 }, { stderr: 'thread panicked: no auth.json in /home/dev/.codex' }),
    );
    expect(withStderr.notes).toBe('the agent exited 1; it printed: thread panicked: no auth.json in /home/dev/.codex');
  });
});

const CLAUDE_BIN = process.env['DEEPPLAN_CLAUDE_BIN'];
const CODEX_BIN = process.env['DEEPPLAN_CODEX_BIN'];
const sandboxArgument = SANDBOX ? '' : ' --no-sandbox';

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A repository where `npx --no deepplan` is this build (node_modules/.bin/deepplan). */
function repoWithDeepplan(plan: string, config?: string): string {
  const root = config ? modelRepo(plan, {}, config) : modelRepo(plan);
  const bin = join(root, 'node_modules', '.bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'deepplan'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'deepplan'), 0o755);
  return root;
}

const LOOP_PLAN = modelPlan({ steps: ['run: `node scripts/put.mjs notes/raw.md raw`', 'Write notes/week.md with one line per account of notes/accounts.md.'] });

describe.skipIf(!CLAUDE_BIN)('the real Claude Code (DEEPPLAN_CLAUDE_BIN)', () => {
  it('claude -p "/deepplan:loop" runs the plan to TASK_COMPLETE: no hook error, the ending line printed, the loop file gone', async () => {
    const root = repoWithDeepplan(LOOP_PLAN);
    const api = await claudeApi(root);
    try {
      const home = mkdtempSync(join(tmpdir(), 'deepplan-claude-home-'));
      const env = {
        ...cliEnvironment({
          HOME: home,
          ANTHROPIC_API_KEY: 'sk-ant-test-0123456789',
          ANTHROPIC_BASE_URL: api.url,
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          DISABLE_AUTOUPDATER: '1',
        }),
        PATH: `${dirname(process.execPath)}:${process.env['PATH']}`,
      };
      const result = await run(
        CLAUDE_BIN!,
        [
          '-p',
          `/deepplan:loop plans/p.md${sandboxArgument}`,
          '--plugin-dir',
          join(PROJECT_ROOT, 'integrations', 'claude-code'),
          '--permission-mode',
          'acceptEdits',
          '--output-format',
          'stream-json',
          '--verbose',
        ],
        { cwd: root, env },
      );
      expect(result.code, result.stderr).toBe(0);
      const events = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, any>);
      expect(events.find((event) => event['type'] === 'result')!['result']).toMatch(/^deepplan: #3 P2\.1 ok\. plans\/p\.md is TASK_COMPLETE/);
      expect(events.some((event) => event['key'] === 'stop-hook-error')).toBe(false);
      expect(readPlan(root).meta.status).toBe('complete');
      expect(existsSync(join(root, '.deepplan/loop.json'))).toBe(false);
    } finally {
      await api.close();
    }
  }, 180_000);
});

/** The Codex recipe of docs/claude-code.md, pointed at a local Responses API. */
function codexRecipe(url: string, sandboxMode?: string): { command: string; writable: string } {
  const docs = readFileSync(join(PROJECT_ROOT, 'docs', 'claude-code.md'), 'utf8');
  const recipe = /```yaml\n(execute:\n(?:.*\n)*?\s+command: (codex exec .*)\n\s+writable: \[(.*)\]\n)```/.exec(docs)!;
  const provider = [
    'model_provider=local',
    'model_providers.local.name=local',
    `model_providers.local.base_url=${url}/v1`,
    'model_providers.local.env_key=OPENAI_API_KEY',
    'model_providers.local.wire_api=responses',
  ];
  let command = recipe[2]!.replace(/ -$/, ` ${provider.map((setting) => `-c ${setting}`).join(' ')} -m gpt-test -`);
  if (sandboxMode) command = command.replace(/--sandbox \S+/, `--sandbox ${sandboxMode}`);
  return { command, writable: recipe[3]! };
}

describe.skipIf(!CODEX_BIN)('the real Codex CLI (DEEPPLAN_CODEX_BIN)', () => {
  it("the documented recipe runs a plan with scope.write to TASK_COMPLETE inside deepplan's sandbox", async () => {
    const api = await codexApi();
    try {
      const home = mkdtempSync(join(tmpdir(), 'deepplan-codex-home-'));
      const { command, writable } = codexRecipe(api.url);
      expect(writable).toBe('/home/you/.codex');
      const config = `${MODEL_CONFIG}execute:\n  timeout_ms: 120000\n  agent:\n    command: ${command}\n    writable: [${join(home, '.codex')}]\n`;
      const root = repoWithDeepplan(LOOP_PLAN, config);
      const env = {
        ...cliEnvironment({ HOME: home, OPENAI_API_KEY: 'sk-openai-test-0123456789' }),
        PATH: `${dirname(CODEX_BIN!)}:${dirname(process.execPath)}:${process.env['PATH']}`,
      };
      const result = await run(process.execPath, [CLI, 'run', 'plans/p.md', '--loop', '--executor', 'command', ...(SANDBOX ? [] : ['--no-sandbox'])], {
        cwd: root,
        env,
      });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const plan = readPlan(root);
      expect(plan.log!.rows.map((row) => row.result)).toEqual(['ok', 'ok', 'ok']);
      expect(plan.log!.rows.at(-1)!.signal).toBe('TASK_COMPLETE');
      expect(readFileSync(join(root, 'out/summary.md'), 'utf8')).toContain('Acme');
    } finally {
      await api.close();
    }
  }, 180_000);

  it.skipIf(!SANDBOX)(
    "with --sandbox workspace-write (Codex's own sandbox inside deepplan's) every step is no-change",
    async () => {
      const api = await codexApi();
      try {
        const home = mkdtempSync(join(tmpdir(), 'deepplan-codex-home-'));
        const { command } = codexRecipe(api.url, 'workspace-write');
        const config = `${MODEL_CONFIG}execute:\n  timeout_ms: 120000\n  agent:\n    command: ${command}\n    writable: [${join(home, '.codex')}]\n`;
        const root = repoWithDeepplan(LOOP_PLAN, config);
        const env = {
          ...cliEnvironment({ HOME: home, OPENAI_API_KEY: 'sk-openai-test-0123456789' }),
          PATH: `${dirname(CODEX_BIN!)}:${dirname(process.execPath)}:${process.env['PATH']}`,
        };
        for (let i = 0; i < 2; i++) await run(process.execPath, [CLI, 'run', 'plans/p.md', '--once', '--executor', 'command'], { cwd: root, env });
        expect(readPlan(root).log!.rows.map((row) => row.result)).toEqual(['ok', 'no-change']);
        expect(existsSync(join(root, 'notes/week.md'))).toBe(false);
      } finally {
        await api.close();
      }
    },
    180_000,
  );
});
