import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CLI, cliEnvironment, PROJECT_ROOT, writeFile } from './support/fixtures.js';
import { edit } from './support/plan-text.js';
import { modelPlan, modelRepo, planText, readPlan, SANDBOX, stateErrors } from './support/model-plan.js';

/**
 * deepplan hook start | stop | cancel: the automated loop in a Claude Code session, driven through the real CLI with
 * Stop-hook JSON on standard input and a transcript file like Claude Code's. The session's work is simulated by
 * writing files and an assistant message whose last line is the status block.
 */

const sandboxFlag = SANDBOX ? [] : ['--no-sandbox'];
/** No session id from the environment the tests run in (they may run inside Claude Code). */
const NO_SESSION_ENV = { CLAUDE_CODE_SESSION_ID: '', CLAUDE_SESSION_ID: '' };

function runHook(args: string[], cwd: string, input?: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'hook', ...args], { cwd, env: cliEnvironment({ CLAUDECODE: '', ...NO_SESSION_ENV, ...env }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    // A hook that has nothing to do may exit before it reads its input.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** A Claude Code transcript (JSON lines): the user's message, a tool call, then the assistant's final text. */
function transcript(userText: string, answer: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'deepplan-transcript-'));
  const path = join(dir, 'session.jsonl');
  const lines = [
    { type: 'user', message: { role: 'user', content: userText } },
    { type: 'assistant', message: { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Write', input: {} }] } },
    { type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] } },
    { type: 'assistant', message: { role: 'assistant', content: [{ type: 'text', text: answer }] } },
  ];
  writeFileSync(path, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
  return path;
}

const status = (stepDone: boolean, summary: string) => `I did the step.\n${JSON.stringify({ step_done: stepDone, summary, learning: null })}`;

/** The Stop hook input Claude Code sends (recorded: test/fixtures/hosts/claude-code/stop-input.json), for this session. */
const RECORDED_STOP_INPUT = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/fixtures/hosts/claude-code/stop-input.json'), 'utf8')) as Record<string, unknown>;

function stopInput(root: string, session: string, transcriptPath: string, stopHookActive: boolean): string {
  // No last_assistant_message: the hook reads the answer from the transcript (the tests write the answer there).
  const { last_assistant_message: _recorded, ...fields } = RECORDED_STOP_INPUT;
  return JSON.stringify({ ...fields, session_id: session, transcript_path: transcriptPath, cwd: root, stop_hook_active: stopHookActive });
}

interface HookOutput {
  hookSpecificOutput?: { hookEventName: string; additionalContext: string };
  decision?: string;
  systemMessage?: string;
}

const ENDED = 'The deepplan loop has ended.';
/** The step a hook output hands to the session (undefined for an allowed stop or the loop's end). */
const nextStep = (output: HookOutput | null) => {
  const text = output?.hookSpecificOutput?.additionalContext;
  return text === undefined || text.startsWith(ENDED) ? undefined : text;
};
/** The line the session is told to end with when the loop has ended (undefined otherwise). */
const endingLine = (output: HookOutput | null) => {
  const text = output?.hookSpecificOutput?.additionalContext;
  return text?.startsWith(ENDED) ? text.split('\n').at(-1) : undefined;
};

/** The Stop hook for `session`, whose last message is `answer`; its JSON output (null when it printed nothing). */
async function stop(root: string, session: string, answer: string, options: { active?: boolean; user?: string } = {}) {
  const result = await runHook(['stop', ...sandboxFlag], root, stopInput(root, session, transcript(options.user ?? 'go on', answer), options.active ?? true));
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  const text = result.stdout.trim();
  const output = text === '' ? null : (JSON.parse(text) as HookOutput);
  // Claude Code shows a block's reason as "Stop hook error": the hook never blocks, it hands out additional context.
  expect(output?.decision).toBeUndefined();
  if (output?.hookSpecificOutput) expect(output.hookSpecificOutput.hookEventName).toBe('Stop');
  return { output, next: nextStep(output), ending: endingLine(output), stdout: result.stdout };
}

/** P1: a run: step the engine runs itself, then a model step; P2: the /write-summary skill step (a model's). */
function loopPlan(options: { gate?: 'human'; maxIterations?: number } = {}) {
  return modelPlan({
    steps: ['run: `node scripts/put.mjs notes/raw.md raw`', 'Write notes/week.md with one line per account of notes/accounts.md.'],
    ...(options.gate ? { gate: options.gate } : {}),
    ...(options.maxIterations ? { maxIterations: options.maxIterations } : {}),
  });
}

const loopRecord = (root: string) =>
  JSON.parse(readFileSync(join(root, '.deepplan/loop.json'), 'utf8')) as Record<string, unknown> & {
    pending: { action: string } | null;
    active: boolean;
    session_id: string | null;
    token: string;
  };
/** The loop has ended: .deepplan/loop.json is gone (the plugin's hook command then starts no Node), its record kept aside. */
const endedRecord = (root: string) => {
  expect(existsSync(join(root, '.deepplan/loop.json'))).toBe(false);
  return JSON.parse(readFileSync(join(root, '.deepplan/loop-ended.json'), 'utf8')) as Record<string, unknown>;
};
/** deepplan's own tool names: a hand-out to Claude Code names Claude Code's (Read, Write, Edit, Glob, Grep, Bash). */
const OWN_TOOLS = /\b(read_file|write_file|list_files|search_text|run_command)\b/;

async function start(root: string, ...args: string[]) {
  const result = await runHook(['start', 'plans/p.md', ...sandboxFlag, ...args], root);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return result;
}

describe('deepplan hook start and stop: the loop in a Claude Code session', () => {
  it("CONTINUE hands the next iteration's prompt over after the engine recorded the session's answer; TASK_COMPLETE ends the loop with a line to say", async () => {
    const root = modelRepo(loopPlan());
    const started = await start(root, '--session', 'S1');
    expect(started.code, started.stderr).toBe(0);
    // The engine ran the command step itself and handed the model step over.
    expect(readPlan(root).log!.rows.map((row) => [row.action, row.result])).toEqual([['P1.1 run node scripts/put.mjs notes/raw.md raw', 'ok']]);
    expect(started.stdout).toMatch(/## Your step: P1\.2\nWrite notes\/week\.md/);
    expect(started.stdout).toContain('"step_done"');
    expect(started.stdout).not.toMatch(OWN_TOOLS);
    expect(started.stdout).toContain('- Tools this step allows: Read, Write, Edit, Glob, Grep, Bash');
    expect(loopRecord(root)).toMatchObject({
      session_id: 'S1',
      active: true,
      pending: { action: 'P1.2 agent Write notes/week.md with one line per account of notes/accounts.md.', via: 'command' },
    });

    // The session writes the notes and ends its turn with the status block.
    writeFile(root, 'notes/week.md', '- Acme\n- Globex\n- Initech\n');
    const first = await stop(root, 'S1', status(true, 'wrote the notes'), { active: false, user: started.stdout });
    expect(first.next).toMatch(/## Your step: P2\.1\n\/write-summary notes\/week\.md --out out\/summary\.md/);
    expect(first.next).toContain('WRITE-SUMMARY HOUSE STYLE');
    // The skill allows read_file and write_file: the session is told Read, Write and Edit.
    expect(first.next).toContain('- Tools this step allows: Read, Write, Edit\n');
    expect(first.next).not.toMatch(OWN_TOOLS);
    expect(first.output?.systemMessage).toMatch(/^deepplan: #2 P1\.2 ok\. P2\.1 handed to this session \(plan iteration 2 of 30\)$/);
    const afterFirst = readPlan(root);
    expect(afterFirst.log!.rows[1]).toMatchObject({
      action: 'P1.2 agent Write notes/week.md with one line per account of notes/accounts.md.',
      result: 'ok',
      signal: 'CONTINUE',
    });
    expect(afterFirst.log!.rows[1]!.notes).toMatch(/^step done; 1 file\(s\) changed: wrote the notes; Done when passes/);
    expect(afterFirst.phases[0]!.status).toBe('done');
    expect(loopRecord(root).pending).toMatchObject({ action: 'P2.1 /write-summary agent notes/week.md --out out/summary.md', via: 'hook' });

    // The next turn: the summary; the last phase is done and every criterion verifies.
    writeFile(root, 'out/summary.md', '- Acme: renewed\n');
    const last = await stop(root, 'S1', status(true, 'wrote the summary'));
    expect(last.next).toBeUndefined();
    expect(last.output?.systemMessage).toMatch(
      /^deepplan: #3 P2\.1 ok\. plans\/p\.md is TASK_COMPLETE: every phase done and every success criterion verified \(3 iterations\); the loop has ended$/,
    );
    // The session is told to say the same line last: in print mode (claude -p) that is what stdout shows.
    expect(last.ending).toBe(last.output?.systemMessage);
    const plan = readPlan(root);
    expect(plan.meta.status).toBe('complete');
    expect(plan.log!.rows.at(-1)).toMatchObject({ signal: 'TASK_COMPLETE' });
    expect(stateErrors(root)).toEqual([]);
    expect(endedRecord(root)).toMatchObject({ active: false, ended: 'TASK_COMPLETE', pending: null });
    // The loop has ended: a later stop of the session goes through silently and writes nothing.
    const bytes = planText(root);
    expect((await stop(root, 'S1', 'thanks')).output).toBeNull();
    expect(planText(root)).toBe(bytes);
  });

  it('BLOCKED_NEED_HUMAN ends the loop and says who must act', async () => {
    const root = modelRepo(loopPlan({ gate: 'human' }));
    expect((await start(root, '--session', 'S1')).code).toBe(0);
    writeFile(root, 'notes/week.md', '- Acme\n');
    const result = await stop(root, 'S1', status(true, 'wrote the notes'), { active: false });
    expect(result.next).toBeUndefined();
    expect(result.ending).toMatch(
      /^deepplan: #2 P1\.2 ok\. plans\/p\.md is BLOCKED_NEED_HUMAN: P1 gate: waiting for approval by Ana, account lead; .*deepplan approve plans\/p\.md P1/,
    );
    expect(readPlan(root).meta.status).toBe('blocked');
    expect(endedRecord(root)).toMatchObject({ active: false, ended: 'BLOCKED_NEED_HUMAN' });
    // The session's answer to the ending (the line) stops the turn: no loop runs, nothing is printed or written.
    expect((await stop(root, 'S1', result.ending!)).output).toBeNull();
  });

  it('ignores a foreign session: no output, the plan and the loop record unchanged; binds the session whose transcript shows the loop token', async () => {
    const root = modelRepo(loopPlan());
    const started = await start(root);
    expect(started.code, started.stderr).toBe(0);
    const { token } = loopRecord(root);
    expect(loopRecord(root).session_id).toBeNull();
    expect(started.stdout).toContain(token);
    writeFile(root, 'notes/week.md', '- Acme\n');
    const planBefore = planText(root);
    const loopBefore = readFileSync(join(root, '.deepplan/loop.json'), 'utf8');

    // Another session in the same repository ends its turn, with a perfectly good status block: not this loop's.
    const foreign = await runHook(
      ['stop', ...sandboxFlag],
      root,
      stopInput(root, 'OTHER', transcript('fix the login bug', status(true, 'fixed the bug')), false),
    );
    expect(foreign).toMatchObject({ code: 0, stdout: '' });
    expect(planText(root)).toBe(planBefore);
    expect(readFileSync(join(root, '.deepplan/loop.json'), 'utf8')).toBe(loopBefore);

    // The session that ran the start command (its transcript holds its output) is the loop's.
    const own = await stop(root, 'MINE', status(true, 'wrote the notes'), { active: false, user: started.stdout });
    expect(own.next).toMatch(/## Your step: P2\.1/);
    expect(loopRecord(root).session_id).toBe('MINE');
    // From now on the loop is bound: the other session stays ignored even with the token in its transcript.
    const bound = await runHook(['stop', ...sandboxFlag], root, stopInput(root, 'OTHER', transcript(started.stdout, status(true, 'x')), true));
    expect(bound).toMatchObject({ code: 0, stdout: '' });
    expect(readPlan(root).log!.rows).toHaveLength(2);
  });

  it('a corrupt plan, bad JSON on standard input and a broken loop record allow the stop with a one-line message', async () => {
    const root = modelRepo(loopPlan());
    expect((await start(root, '--session', 'S1')).code).toBe(0);
    writeFile(root, 'plans/p.md', '---\ndeepplan: 1\nid: [unclosed\n---\n# Broken\n');
    const corrupt = await stop(root, 'S1', status(true, 'wrote the notes'), { active: false });
    expect(corrupt.output?.hookSpecificOutput).toBeUndefined();
    expect(corrupt.output?.systemMessage).toMatch(/^deepplan: .*plans\/p\.md: .*; the stop is allowed$/);
    expect(corrupt.output?.systemMessage).not.toContain('\n');
    expect(planText(root)).toBe('---\ndeepplan: 1\nid: [unclosed\n---\n# Broken\n');

    const badJson = await runHook(['stop'], root, '{"session_id": "S1", ');
    expect(badJson.code).toBe(0);
    expect(JSON.parse(badJson.stdout)).toEqual({
      systemMessage: expect.stringMatching(/^deepplan hook stop: standard input is not a Stop hook's JSON \(.+\); the stop is allowed$/),
    });
    const noSession = await runHook(['stop'], root, '{"hook_event_name": "Stop"}');
    expect(JSON.parse(noSession.stdout).systemMessage).toMatch(/session_id/);

    writeFile(root, '.deepplan/loop.json', '{"plan": 3}');
    const badLoop = await stop(root, 'S1', status(true, 'x'));
    expect(badLoop.output?.systemMessage).toMatch(
      /^deepplan: \.deepplan\/loop\.json is not a loop record \(plan: .+\); run deepplan hook start again .*; the stop is allowed$/,
    );
  });

  it('with no loop running the hook prints nothing, and deepplan hook cancel ends a loop without touching the plan', async () => {
    const root = modelRepo(loopPlan());
    expect(await runHook(['stop'], root, stopInput(root, 'S1', transcript('hi', 'hello'), false))).toMatchObject({ code: 0, stdout: '' });
    expect((await start(root, '--session', 'S1')).code).toBe(0);
    const before = planText(root);
    const cancelled = await runHook(['cancel'], root);
    expect(cancelled.stdout).toMatch(/^deepplan: the loop for plans\/p\.md is cancelled/);
    expect(existsSync(join(root, '.deepplan/loop.json'))).toBe(false);
    expect((await stop(root, 'S1', status(true, 'x'))).output).toBeNull();
    expect(planText(root)).toBe(before);
  });
});

describe('deepplan hook start from Claude Code (CLAUDECODE=1) and the ended loop', () => {
  it('exits 0 and prints the reason where Claude Code runs it; from a shell it keeps its exit codes', async () => {
    const draft = modelRepo(edit(loopPlan(), 'status: approved', 'status: draft'));
    const fromShell = await runHook(['start', 'plans/p.md', ...sandboxFlag, '--session', 'S1'], draft);
    expect(fromShell.code).toBe(1);
    const fromClaude = await runHook(['start', 'plans/p.md', ...sandboxFlag, '--session', 'S1'], draft, undefined, { CLAUDECODE: '1' });
    expect(fromClaude.code, fromClaude.stderr).toBe(0);
    expect(fromClaude.stdout).toMatch(/^deepplan: the loop cannot start: .*draft.*\n$/);
    expect(existsSync(join(draft, '.deepplan/loop.json'))).toBe(false);

    const missing = await runHook(['start', 'plans/nope.md'], draft, undefined, { CLAUDECODE: '1' });
    expect(missing).toMatchObject({ code: 0, stdout: expect.stringMatching(/^deepplan: the loop cannot start: .*plans\/nope\.md/) });
    // From a shell, a missing file or a folder as the plan is a usage error (exit 2, one line), as for every command.
    const missingFromShell = await runHook(['start', 'plans/nope.md'], draft);
    expect(missingFromShell).toMatchObject({ code: 2, stdout: '', stderr: 'deepplan: plans/nope.md: no such file\n' });
    const folderFromShell = await runHook(['start', 'plans'], draft);
    expect(folderFromShell.code).toBe(2);
    expect(folderFromShell.stderr).toMatch(/^deepplan: plans is a directory[^\n]*\n$/);
    const folderFromClaude = await runHook(['start', 'plans'], draft, undefined, { CLAUDECODE: '1' });
    expect(folderFromClaude).toMatchObject({ code: 0, stdout: expect.stringMatching(/^deepplan: the loop cannot start: plans is a directory[^\n]*\n$/) });
    expect(existsSync(join(draft, '.deepplan/loop.json'))).toBe(false);

    // A plan that stops at a person's gate before any model step: the ending line, exit 0 (3 from a shell).
    const gated = modelRepo(
      edit(
        loopPlan({ gate: 'human' }),
        'Write notes/week.md with one line per account of notes/accounts.md.',
        'run: `node scripts/put.mjs notes/week.md done`',
      ),
    );
    const blocked = await runHook(['start', 'plans/p.md', ...sandboxFlag], gated, undefined, { CLAUDECODE: '1' });
    expect(blocked.code, blocked.stderr).toBe(0);
    expect(blocked.stdout).toMatch(/^deepplan: plans\/p\.md is BLOCKED_NEED_HUMAN: P1 gate: waiting for approval/);
    expect(existsSync(join(gated, '.deepplan/loop.json'))).toBe(false);
    const blockedFromShell = await runHook(['start', 'plans/p.md', ...sandboxFlag], gated);
    expect(blockedFromShell.code).toBe(3);
  });

  it('hook stop --plan does not start a loop that has ended again; hook cancel clears it; an old inactive loop.json is moved aside', async () => {
    const root = modelRepo(loopPlan({ gate: 'human' }));
    // The first stop of a session starts the loop (--plan), the engine runs P1.1 and hands P1.2 out.
    const first = await runHook(['stop', '--plan', 'plans/p.md', ...sandboxFlag], root, stopInput(root, 'S1', transcript('hi', 'hello'), false));
    expect(JSON.parse(first.stdout).hookSpecificOutput.additionalContext).toMatch(/## Your step: P1\.2/);
    writeFile(root, 'notes/week.md', '- Acme\n');
    const ended = await runHook(
      ['stop', '--plan', 'plans/p.md', ...sandboxFlag],
      root,
      stopInput(root, 'S1', transcript('go on', status(true, 'wrote the notes')), true),
    );
    expect(JSON.parse(ended.stdout).systemMessage).toMatch(/BLOCKED_NEED_HUMAN/);
    expect(endedRecord(root)).toMatchObject({ ended: 'BLOCKED_NEED_HUMAN' });
    const rows = readPlan(root).log!.rows.length;
    // The session's next stops, and another session's: nothing starts again.
    expect((await runHook(['stop', '--plan', 'plans/p.md', ...sandboxFlag], root, stopInput(root, 'S1', transcript('ok', 'deepplan: ...'), true))).stdout).toBe(
      '',
    );
    expect((await runHook(['stop', '--plan', 'plans/p.md', ...sandboxFlag], root, stopInput(root, 'S2', transcript('hi', 'hello'), false))).stdout).toBe('');
    expect(readPlan(root).log!.rows).toHaveLength(rows);
    const cancelled = await runHook(['cancel'], root);
    expect(cancelled.stdout).toMatch(/no loop runs .*the loop for plans\/p\.md had ended: BLOCKED_NEED_HUMAN/);
    expect(existsSync(join(root, '.deepplan/loop-ended.json'))).toBe(false);

    // A loop.json an older deepplan left inactive: the next stop moves it aside and prints nothing.
    writeFile(
      root,
      '.deepplan/loop.json',
      JSON.stringify({
        plan: 'plans/p.md',
        session_id: 'S1',
        token: 'old-token-123',
        started: '2026-11-20T10:00:00Z',
        start_rows: 0,
        max_iterations: null,
        sandbox: true,
        active: false,
        ended: 'TASK_COMPLETE',
        handed_out: 0,
        pending: null,
      }),
    );
    expect((await stop(root, 'S1', 'thanks')).output).toBeNull();
    expect(endedRecord(root)).toMatchObject({ token: 'old-token-123', ended: 'TASK_COMPLETE' });
  });
});

describe('deepplan hook stop: strict status parsing and the budget', () => {
  it('a malformed status line is no signal: the row is failed, the step stays open and is handed out again', async () => {
    const root = modelRepo(loopPlan());
    expect((await start(root, '--session', 'S1')).code).toBe(0);
    writeFile(root, 'notes/week.md', '- Acme\n');
    for (const [index, answer] of [
      `Done.\n{"step_done": "yes", "summary": "wrote the notes"}`,
      `${JSON.stringify({ step_done: true, summary: 'wrote the notes', learning: null })}\nAll done, see above.`,
      'STEP_DONE: true',
    ].entries()) {
      const result = await stop(root, 'S1', answer, { active: index > 0 });
      expect(result.next).toMatch(/## Your step: P1\.2\n/);
      const row = readPlan(root).log!.rows.at(-1)!;
      expect(row).toMatchObject({ action: 'P1.2 agent Write notes/week.md with one line per account of notes/accounts.md.', result: 'failed' });
      // The row keeps what the session said (folded to one line), so the log shows why it failed.
      expect(row.notes).toBe(`the agent printed no valid status block on its last line; it printed: ${answer.replace(/\s+/g, ' ')}`);
    }
    expect(readPlan(root).phases[0]!.status).toBe('active');
    expect(stateErrors(root)).toEqual([]);
  });

  it('a block that was not followed (stop_hook_active false) records nothing and hands the same step out again', async () => {
    const root = modelRepo(loopPlan());
    expect((await start(root, '--session', 'S1')).code).toBe(0);
    await stop(root, 'S1', 'not a status', { active: false });
    const rows = readPlan(root).log!.rows.length;
    // Claude Code ended the turn without following the block (its cap on consecutive blocks); the person says "go on".
    const again = await stop(root, 'S1', 'Sure, what next?', { active: false });
    expect(again.next).toMatch(/## Your step: P1\.2\n/);
    expect(again.output?.systemMessage).toMatch(/P1\.2 was not answered; it is handed out again/);
    expect(readPlan(root).log!.rows).toHaveLength(rows);
  });

  it("--max-iterations ends the loop with the plan still CONTINUE; the plan's own budget ends it BLOCKED_NEED_HUMAN", async () => {
    const loopBudget = modelRepo(loopPlan());
    expect((await start(loopBudget, '--session', 'S1', '--max-iterations', '2')).code).toBe(0);
    const ended = await stop(loopBudget, 'S1', status(false, 'started the notes'), { active: false });
    expect(ended.next).toBeUndefined();
    expect(ended.ending).toMatch(/the loop reached its --max-iterations 2 \(2 iterations\); the plan says CONTINUE/);
    expect(endedRecord(loopBudget)).toMatchObject({ ended: 'loop-budget' });
    expect(readPlan(loopBudget).log!.rows).toHaveLength(2);
    expect(readPlan(loopBudget).meta.status).toBe('executing');

    const planBudget = modelRepo(loopPlan({ maxIterations: 3 }));
    expect((await start(planBudget, '--session', 'S1')).code).toBe(0);
    expect((await stop(planBudget, 'S1', 'no status', { active: false })).next).toMatch(/## Your step: P1\.2/);
    const spent = await stop(planBudget, 'S1', 'still no status');
    expect(spent.next).toBeUndefined();
    expect(spent.ending).toMatch(/BLOCKED_NEED_HUMAN: Budget spent: 3 of 3 iterations used/);
    expect(readPlan(planBudget).log!.rows).toHaveLength(3);
  });
});

describe('the Claude Code plugin in integrations/claude-code', () => {
  const plugin = join(PROJECT_ROOT, 'integrations', 'claude-code');
  const hooks = JSON.parse(readFileSync(join(plugin, 'hooks/hooks.json'), 'utf8')) as {
    hooks: { Stop: Array<{ hooks: Array<{ type: string; command: string; timeout: number }> }> };
  };

  it('has a manifest, a Stop hook and the loop and cancel commands', () => {
    const manifest = JSON.parse(readFileSync(join(plugin, '.claude-plugin/plugin.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: 'deepplan' });
    // hooks/hooks.json is loaded by convention; naming it in the manifest as well loads it twice ("Duplicate hooks
    // file detected", and the plugin fails to load in Claude Code versions that refuse the duplicate).
    expect(manifest).not.toHaveProperty('hooks');
    const [stopHook] = hooks.hooks.Stop[0]!.hooks;
    expect(stopHook).toMatchObject({ type: 'command', command: expect.stringContaining('npx --no deepplan hook stop') });
    // Longer than the hook's own default time limit for command steps (300 s), so Claude Code never kills it first.
    expect(stopHook!.timeout).toBeGreaterThan(300);
    for (const [file, command] of [
      ['loop.md', 'hook start $ARGUMENTS'],
      ['cancel.md', 'hook cancel'],
    ] as const) {
      const text = readFileSync(join(plugin, 'commands', file), 'utf8');
      const front = parseYaml(text.split('---\n')[1]!) as { description: string; 'allowed-tools': string[] };
      expect(front.description.length).toBeGreaterThan(20);
      expect(text).toContain(`!\`npx --no deepplan ${command}\``);
      // The command's Bash call is allowed by its own allowed-tools.
      expect(front['allowed-tools'].some((tool) => `npx --no deepplan ${command}`.startsWith(tool.replace(/^Bash\(/, '').replace(/(:\*)?\)$/, '')))).toBe(true);
    }
  });

  it('its Stop hook command runs deepplan hook stop in the project, and exits at once in a project with no loop', async () => {
    const root = modelRepo(loopPlan());
    // npx, as the project's own deepplan: `npx --no deepplan <args>` runs the built CLI.
    const bin = mkdtempSync(join(tmpdir(), 'deepplan-npx-'));
    writeFileSync(join(bin, 'npx'), `#!/bin/sh\n[ "$1" = "--no" ] && [ "$2" = "deepplan" ] || exit 97\nshift 2\nexec "${process.execPath}" "${CLI}" "$@"\n`, {
      mode: 0o755,
    });
    const runHookCommand = (input: string) =>
      new Promise<{ code: number; stdout: string }>((resolve) => {
        const child = spawn('sh', ['-c', hooks.hooks.Stop[0]!.hooks[0]!.command], {
          cwd: tmpdir(),
          env: cliEnvironment({ ...NO_SESSION_ENV, CLAUDE_PROJECT_DIR: root, PATH: `${bin}:${process.env['PATH']}` }),
        });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
        // With no loop the command exits before it reads its input: the pipe may be closed under the write.
        child.stdin.on('error', () => {});
        child.stdin.end(input);
      });
    expect(await runHookCommand(stopInput(root, 'S1', transcript('hi', 'hello'), false))).toEqual({ code: 0, stdout: '' });
    expect((await start(root, '--session', 'S1')).code).toBe(0);
    writeFile(root, 'notes/week.md', '- Acme\n');
    const result = await runHookCommand(stopInput(root, 'S1', transcript('go on', status(true, 'wrote the notes')), false));
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      hookSpecificOutput: { hookEventName: 'Stop', additionalContext: expect.stringContaining('## Your step: P2.1') },
    });
  });
});
