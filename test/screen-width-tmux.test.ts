import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, PROJECT_ROOT } from './support/fixtures.js';
import { edit } from './support/plan-text.js';
import { SCRIPTED_PLAN, scriptedRepo } from './support/scripted.js';
import { closeTerminals, hasTmux, openTerminal, sleep, type Terminal } from './support/tmux.js';

/**
 * The real binary in real terminals of 60, 80, 100 and 160 columns (tmux): the run dashboard and `deepplan new` lay
 * out for the terminal's width, no line is cut short or wider than the terminal, no line appears twice, and after a
 * resize mid-screen (tmux resize-window) the same holds at the new width.
 */
if (!hasTmux) process.stderr.write('screen-width-tmux.test.ts: tmux is not installed, so the terminal test is skipped (apt-get install tmux)\n');

const start = (width: number, command: string): Terminal => openTerminal(command, width, 40);
const waitFor = (terminal: Terminal, text: string, timeoutMs = 30_000) =>
  // Ink throttles frames: read the screen once it has settled.
  terminal.waitFor(text, { timeoutMs, settleMs: 300 });

async function resize(terminal: Terminal, width: number): Promise<string> {
  terminal.resize(width, 40);
  await sleep(800);
  return terminal.screen();
}

/** The screen's lines read as prose: a wrapped sentence reads whole again. */
const prose = (shown: string) =>
  shown
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');

/** No line wider than the terminal, and no line twice (a redraw that erased too few lines leaves copies behind). */
function expectClean(shown: string, width: number) {
  const lines = shown.split('\n').map((line) => line.trimEnd());
  for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(width);
  const seen = new Set<string>();
  const twice = lines.filter((line) => line.trim() !== '' && (seen.has(line) || !seen.add(line)));
  expect(twice, `lines shown twice at ${width} columns:\n${shown}`).toEqual([]);
  // The old layout cut text with an ellipsis at column 80.
  if (width > 80) expect(lines.filter((line) => [...line].length === 80 && line.endsWith('…'))).toEqual([]);
}

afterEach(closeTerminals);

const TITLE = 'Weekly account summary of the renewal pipeline for the forty enterprise accounts of the northern region';

describe.skipIf(!hasTmux)('the run dashboard at any width', () => {
  it.each([
    [60, 100],
    [80, 160],
    [100, 60],
    [160, 80],
  ])('at %i columns, then resized to %i: wrapped, nothing cut, no line twice', async (width, resized) => {
    const root = scriptedRepo(edit(SCRIPTED_PLAN, 'title: Weekly account summary', `title: ${TITLE}`));
    const terminal = start(width, `cd ${root} && env -u CI NO_COLOR=1 ${process.execPath} ${CLI} run plans/p.md --loop; echo EXIT=$?; sleep 60`);
    const gate = await waitFor(terminal, 'q quit');
    const shown = await waitFor(terminal, 'a approve P3');
    expect(gate.length).toBeGreaterThan(0);
    expectClean(shown, width);
    expect(prose(shown)).toContain(`${TITLE} (plans/p.md)`);
    expect(prose(shown)).toMatch(
      /blocked: P3 gate: waiting for approval by Ana, account lead; check the outputs \(out\/published\.txt\), then deepplan approve plans\/p\.md P3/,
    );
    expect(prose(shown)).toContain('p pause · s stop · a approve P3 · q quit');
    // Every row of the run is on the screen once.
    for (const number of [1, 2, 3, 4]) expect(shown.match(new RegExp(`^ +${number} (ok|failed|no-change) `, 'gm')) ?? [], `row ${number}`).toHaveLength(1);

    const after = await resize(terminal, resized);
    expectClean(after, resized);
    expect(prose(after)).toContain(`${TITLE} (plans/p.md)`);
    expect(prose(after)).toContain('p pause · s stop · a approve P3 · q quit');
    terminal.keys('q');
    await waitFor(terminal, 'EXIT=');
  });
});

const PROMPTS = ['Enter accept', 'Enter confirm', 'or continue'];

describe.skipIf(!hasTmux)('deepplan new at any width', () => {
  it.each([
    [60, 100],
    [100, 60],
    [160, 80],
  ])('at %i columns, resized to %i at the interview: the question, the tables and the plan path whole, no line twice', async (width, resized) => {
    const root = mkdtempSync(join(tmpdir(), 'deepplan-new-width-'));
    cpSync(join(PROJECT_ROOT, 'examples', 'outreach'), root, { recursive: true });
    mkdirSync(join(root, '.git'));
    const unset = ['CI', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY'].map((name) => `-u ${name}`).join(' ');
    const terminal = start(width, `cd ${root} && env ${unset} NO_COLOR=1 ${process.execPath} ${CLI} new 'Do an outreach for Mod Op'; echo EXIT=$?; sleep 60`);
    let current = width;
    let resizedOnce = false;
    const seen: Array<{ width: number; shown: string }> = [];
    const deadline = Date.now() + 60_000;
    let last = '';
    for (;;) {
      if (Date.now() > deadline) throw new Error(`deepplan new did not finish; the screen shows:\n${terminal.screen()}`);
      await sleep(150);
      const shown = terminal.screen();
      if (shown.includes('EXIT=')) break;
      if (shown === last || !PROMPTS.some((prompt) => shown.includes(prompt))) continue;
      await sleep(300);
      let settled = terminal.screen();
      seen.push({ width: current, shown: settled });
      if (!resizedOnce && settled.includes('Enter accept')) {
        // Mid-screen: the interview is waiting for an answer.
        resizedOnce = true;
        current = resized;
        settled = await resize(terminal, resized);
        seen.push({ width: current, shown: settled });
      }
      last = settled;
      terminal.keys('Enter');
    }
    expect(terminal.screen()).toMatch(/EXIT=0/);
    expect(resizedOnce).toBe(true);
    for (const { width: at, shown } of seen) expectClean(shown, at);
    const questions = seen.filter(({ shown }) => shown.includes('Enter accept'));
    expect(questions.length).toBeGreaterThanOrEqual(2);
    for (const { shown } of questions) expect(prose(shown)).toMatch(/\? [A-Z][^?]+\? \(question \d, [a-z ]+\)/);
    const final = seen.find(({ shown }) => shown.includes('later (default)'))!;
    expect(prose(final.shown)).toMatch(/Plan: plans\/outreach-for-mod\.md \(\d+ phases, in_review, review APPROVED\)/);
    expect(prose(final.shown)).toContain(
      'Running approves it first (deepplan approve), which needs a plan that lints clean as approved (a reviewed one: verdict APPROVED).',
    );
  });
});
