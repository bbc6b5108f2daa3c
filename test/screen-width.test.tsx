import { stripVTControlCharacters } from 'node:util';
import { render } from 'ink-testing-library';
import { describe, expect, it, vi } from 'vitest';
import type { Question } from '../src/pipeline/sufficiency.js';
import type { ReviewFinding } from '../src/review/findings.js';
import { FindingsBrowser } from '../src/ui/findings-browser.js';
import { NewScreen, NewStore, type NewActions, type Stage } from '../src/ui/new-screen.js';
import { DashboardStore, RunDashboard, type DashboardState } from '../src/ui/run-dashboard.js';
import { layoutWidth } from '../src/ui/style.js';
import { resizeTo, widest } from './support/columns.js';

/**
 * Every screen lays out for the terminal's width: no line wider than the terminal (a wider one wraps in the terminal
 * and Ink then erases too few lines: duplicates), prose wrapped whole at word boundaries rather than cut, and a
 * resize (stdout 'resize') lays it out again. The real binary in tmux is in screen-width-tmux.test.ts.
 */

const settle = () => new Promise((resolve) => setTimeout(resolve, 120));
const words = (text: string) => text.replace(/\s+/g, ' ').trim();
/** The frame's lines joined as prose: a wrapped sentence reads whole again. */
const joined = (frame: string) =>
  words(
    frame
      .split('\n')
      .map((line) => line.trim())
      .join(' '),
  );

const LONG_QUESTION =
  'Which newsletter issues must be rewritten for the renewal campaign of the forty accounts in the enterprise segment, and who signs off each rewritten issue before it is scheduled?';

const QUESTION: Question = {
  id: 'success',
  part: 'success criteria',
  text: LONG_QUESTION,
  options: [
    'Every issue of the last quarter that names a discontinued plan, signed off by the editor of the issue',
    'Only the issues sent to accounts up for renewal this month',
  ],
  recommended: 0,
} as Question;

const actions = (): NewActions => ({
  submitRequest: vi.fn(),
  answer: vi.fn(),
  confirmSkills: vi.fn(),
  continueReview: vi.fn(),
  choose: vi.fn(),
  interrupt: vi.fn(),
});

function newScreen(stage: Stage) {
  const store = new NewStore({ log: [], phases: [], stage });
  return render(<NewScreen store={store} actions={actions()} />);
}

describe('layoutWidth', () => {
  it('is the terminal width from 20 up to 200 columns, 80 when unknown', () => {
    expect(layoutWidth(60)).toBe(60);
    expect(layoutWidth(160)).toBe(160);
    expect(layoutWidth(250)).toBe(200);
    expect(layoutWidth(8)).toBe(20);
    expect(layoutWidth(undefined)).toBe(80);
    expect(layoutWidth(0)).toBe(80);
  });
});

describe.each([60, 80, 100, 160])('at %i columns', (columns) => {
  it('the interview wraps the question and its options whole, within the width', async () => {
    const view = newScreen({ kind: 'question', question: QUESTION, number: 1 });
    resizeTo(view, columns);
    await settle();
    const frame = view.lastFrame()!;
    expect(widest(frame)).toBeLessThanOrEqual(columns);
    expect(joined(frame)).toContain(`? ${LONG_QUESTION} (question 1, success criteria)`);
    expect(joined(frame)).toContain(`1) ${QUESTION.options[0]} (recommended)`);
    expect(frame).not.toContain('…');
    view.unmount();
  });

  it('the final screen shows the whole plan path and the instruction', async () => {
    const plan = 'plans/renewal-newsletter-rewrite-for-the-enterprise-segment-accounts-q3.md';
    const view = newScreen({ kind: 'final', plan, facts: '42 phases, in_review, review APPROVED', message: null, busy: false });
    resizeTo(view, columns);
    await settle();
    const frame = view.lastFrame()!;
    expect(widest(frame)).toBeLessThanOrEqual(columns);
    // A path longer than the line is broken where the line ends (it has no spaces to wrap at), never cut short.
    expect(frame.replace(/\n/g, '')).toContain(plan);
    if (columns >= 100) expect(frame).toContain(plan);
    expect(joined(frame)).toContain(
      'Running approves it first (deepplan approve), which needs a plan that lints clean as approved (a reviewed one: verdict APPROVED).',
    );
    view.unmount();
  });

  it('the run dashboard wraps the title, the action, a blocker and its keys within the width', async () => {
    const state: DashboardState = {
      title: 'Account enrichment for 120 accounts of the mid-market segment (plans/account-enrichment-mid-market.md)',
      phasesDone: 4,
      phasesTotal: 31,
      currentPhase: 'P5',
      iteration: 17,
      budget: 80,
      costUsd: 0.4211,
      action: 'P5.2 agent enrich the accounts 41 to 80 from data/accounts/mid-market.csv with the firmographics of the provider',
      rows: [
        { number: 17, action: 'P5.1 run node scripts/enrich.mjs --from 1 --to 40 --source data/accounts/mid-market.csv', result: 'ok', signal: 'CONTINUE' },
      ],
      signal: 'BLOCKED_NEED_HUMAN',
      blockers: ['P5 gate: waiting for approval by Priya Raman, revenue operations, before the enriched fields are written back to the CRM'],
      gate: 'P5',
      paused: false,
      stopping: true,
      message: null,
    };
    const store = new DashboardStore({ ...state, rows: [] });
    const view = render(<RunDashboard store={store} keys={{ pause: vi.fn(), stop: vi.fn(), approve: vi.fn(), quit: vi.fn() }} />);
    resizeTo(view, columns);
    await settle();
    // A log row is printed once, at the width of the moment it arrives.
    store.set({ rows: state.rows });
    await settle();
    const frame = view.lastFrame()!;
    expect(widest(frame)).toBeLessThanOrEqual(columns);
    expect(joined(frame)).toContain(words(state.title));
    expect(joined(frame)).toContain(`now ${state.action}`);
    // (A word longer than the action's column, such as a path, is broken at the column's edge.)
    expect(frame.replace(/\s+/g, '')).toContain(`CONTINUE${state.rows[0]!.action}`.replace(/\s+/g, ''));
    expect(joined(frame)).toContain(`blocked: ${state.blockers[0]}`);
    expect(joined(frame)).toContain('p pause · s stop · a approve P5 · q quit · stopping after this iteration');
    view.unmount();
  });

  it('the findings browser fits each finding on one line and wraps the opened one whole', async () => {
    const long = 'The phase sends the renewal newsletter to every account of the segment although the constraints allow drafts only';
    const findings: ReviewFinding[] = [
      {
        number: 1,
        severity: 'critical',
        line: 12,
        section: 'Phases / P7',
        quote: 'Send the newsletter issue to every account of the enterprise segment list',
        issue: long,
        fix: 'Write the issue as a draft for the editor and add a human gate before any send',
        verified: true,
      },
    ];
    const view = render(
      <FindingsBrowser title="plans/renewal-newsletter.md: review round 2 by openai/reviewer" verdict="REVISE" findings={findings} documentLines={[]} />,
    );
    resizeTo(view, columns);
    await settle();
    view.stdin.write('\r');
    await settle();
    const frame = view.lastFrame()!;
    expect(widest(frame)).toBeLessThanOrEqual(columns);
    expect(joined(frame.replace(/[│┌┐└┘─]/g, ' '))).toContain(`issue: ${long}`);
    view.unmount();
  });
});

describe('a resize', () => {
  it('lays the screen out again for the new width, narrower then wider', async () => {
    const view = newScreen({ kind: 'question', question: QUESTION, number: 1 });
    resizeTo(view, 160);
    await settle();
    const wide = view.lastFrame()!;
    resizeTo(view, 60);
    await settle();
    const narrow = view.lastFrame()!;
    expect(widest(narrow)).toBeLessThanOrEqual(60);
    expect(narrow.split('\n').length).toBeGreaterThan(wide.split('\n').length);
    expect(widest(wide)).toBeGreaterThan(100);
    resizeTo(view, 100);
    await settle();
    expect(widest(view.lastFrame()!)).toBeLessThanOrEqual(100);
    expect(joined(view.lastFrame()!)).toContain(LONG_QUESTION);
    view.unmount();
  });
});

describe('a narrower terminal (watchNarrowing)', () => {
  it('clears the screen before Ink redraws and prints the last screenful of log rows again at the new width; a wider one clears nothing', async () => {
    const { PassThrough } = await import('node:stream');
    const { render: inkRender } = await import('ink');
    const { RedrawProvider, RedrawStore, watchNarrowing } = await import('../src/ui/redraw.js');
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 12 });
    let written = '';
    stdout.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin });
    const rows = Array.from({ length: 40 }, (_, index) => ({
      number: index + 1,
      action: `P${index + 1}.1 /enrich-account account-${String(index + 1).padStart(3, '0')} from data/accounts/enterprise.csv`,
      result: 'ok',
      signal: 'CONTINUE',
    }));
    const store = new DashboardStore({
      title: 'Account enrichment (plans/enrichment.md)',
      phasesDone: 40,
      phasesTotal: 120,
      currentPhase: 'P41',
      iteration: 40,
      budget: 300,
      costUsd: 0,
      action: null,
      rows,
      signal: null,
      blockers: [],
      gate: null,
      paused: false,
      stopping: false,
      message: null,
    });
    const redraw = new RedrawStore({ epoch: 0, rows: 0 });
    const app = inkRender(
      <RedrawProvider store={redraw}>
        <RunDashboard store={store} keys={{ pause: vi.fn(), stop: vi.fn(), approve: vi.fn(), quit: vi.fn() }} />
      </RedrawProvider>,
      { stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, interactive: true, patchConsole: false },
    );
    const unwatch = watchNarrowing(stdout as unknown as NodeJS.WriteStream, redraw);
    await settle();
    const count = (text: string, what: string) => text.split(what).length - 1;
    expect(count(written, 'account-040 ')).toBe(1);

    // Wider: nothing is cleared or printed again.
    written = '';
    stdout.columns = 160;
    stdout.emit('resize');
    await settle();
    expect(written).not.toContain('\u001B[2J');
    expect(redraw.get().epoch).toBe(0);

    // Narrower: the screen is cleared first, then the last rows (a screenful) come again, the first ones do not.
    written = '';
    stdout.columns = 60;
    stdout.emit('resize');
    await settle();
    expect(written.startsWith('\u001B[2J\u001B[H')).toBe(true);
    expect(redraw.get().epoch).toBe(1);
    expect(count(written, 'account-040')).toBe(1);
    expect(count(written, 'account-001 ')).toBe(0);
    // Every line written after the clear fits the new width.
    const lines = stripVTControlCharacters(written).split('\n');
    expect(Math.max(...lines.map((line) => [...line].length))).toBeLessThanOrEqual(60);
    // A row that arrives later is printed once, after the ones printed again.
    written = '';
    store.set({ rows: [...rows, { number: 41, action: 'P41.1 /enrich-account account-041', result: 'ok', signal: 'CONTINUE' }] });
    await settle();
    expect(count(written, 'account-041')).toBe(1);
    expect(count(written, 'account-040')).toBe(0);
    unwatch();
    app.unmount();
  });
});
