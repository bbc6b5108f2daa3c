import { render } from 'ink-testing-library';
import { describe, expect, it, vi } from 'vitest';
import type { SkillAuditView } from '../src/pipeline/skill-choice.js';
import type { Question } from '../src/pipeline/sufficiency.js';
import type { ReviewFinding } from '../src/review/findings.js';
import {
  NewScreen,
  NewStore,
  phaseRanges,
  type BudgetDetail,
  type NewActions,
  type NewState,
  type PhaseLine,
  type SizingDetail,
  type Stage,
} from '../src/ui/new-screen.js';

/** The screens of `deepplan new`, one at a time, driven by keys; the session itself is tested in new-session.test.tsx. */

const UP = '\u001B[A';
const DOWN = '\u001B[B';
const ENTER = '\r';
// Ink throttles frames: give it time to draw before reading the last one.
const settle = () => new Promise((resolve) => setTimeout(resolve, 120));

function actions(): NewActions & { [K in keyof NewActions]: ReturnType<typeof vi.fn> } {
  return { submitRequest: vi.fn(), answer: vi.fn(), confirmSkills: vi.fn(), continueReview: vi.fn(), choose: vi.fn(), interrupt: vi.fn() } as never;
}

const pending = (phase: string): PhaseLine => ({ phase, status: 'pending', startedAt: null, elapsedMs: null, summary: null, notes: [] });

function screen(stage: Stage, extra: Partial<NewState> = {}) {
  const store = new NewStore({ log: [], phases: [], stage, ...extra });
  const keys = actions();
  const view = render(<NewScreen store={store} actions={keys} />);
  return { store, keys, view };
}

const widest = (frame: string) => Math.max(...frame.split('\n').map((line) => [...line].length));

describe('deepplan new: the request input', () => {
  it('takes typed text, Backspace edits it, Enter submits; an error shows under the input', async () => {
    const { keys, view, store } = screen({ kind: 'request', error: null });
    expect(view.lastFrame()).toContain('What is the work?');
    expect(view.lastFrame()).toContain('@path reads the request from a file');
    view.stdin.write('Do an outreach for Mod Opx');
    await settle();
    view.stdin.write('\u007F');
    await settle();
    expect(view.lastFrame()).toContain('What is the work? Do an outreach for Mod Op');
    view.stdin.write(ENTER);
    await settle();
    expect(keys.submitRequest).toHaveBeenCalledWith('Do an outreach for Mod Op');
    store.set({ stage: { kind: 'request', error: 'cannot read the request file x.md: no such file' } });
    await settle();
    expect(view.lastFrame()).toContain('cannot read the request file x.md: no such file');
  });

  it('submits text that arrives with its Enter in one chunk (a paste, a fast typist, tmux send-keys)', async () => {
    const { keys, view } = screen({ kind: 'request', error: null });
    view.stdin.write('Write the Q4\nnewsletter\r');
    await settle();
    expect(keys.submitRequest).toHaveBeenCalledWith('Write the Q4 newsletter');
  });

  it('passes Ctrl-C to the session on any screen', async () => {
    const { keys, view } = screen({ kind: 'request', error: null });
    view.stdin.write('\u0003');
    await settle();
    expect(keys.interrupt).toHaveBeenCalledTimes(1);
    expect(keys.submitRequest).not.toHaveBeenCalled();
  });
});

describe('deepplan new: the phase list', () => {
  it('shows the running phase with a spinner and its elapsed time, finished ones with their result, pending ones dim', async () => {
    const phases = [
      { ...pending('workstream'), status: 'done' as const, elapsedMs: 1234, summary: 'consulting (confidence 1.00 by keywords: outreach)' },
      { ...pending('sufficiency'), status: 'running' as const, startedAt: Date.now() - 2500, notes: ['looking at the request'] },
      pending('context'),
    ];
    const log = [
      { id: '1', kind: 'title' as const, text: 'deepplan new: Do an outreach for Mod Op' },
      { id: '2', kind: 'phase' as const, line: phases[0]! },
    ];
    const { view, store } = screen({ kind: 'pipeline' }, { phases, log });
    await settle();
    const frame = view.lastFrame()!;
    expect(frame).toContain('deepplan new: Do an outreach for Mod Op');
    expect(frame).toMatch(/✔ workstream +1\.2s consulting \(confidence 1\.00 by keywords: outreach\)/);
    expect(frame).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] sufficiency +\d+\.\ds …/);
    expect(frame).toMatch(/ {21}looking at the request/);
    expect(frame).toMatch(/· context/);
    // A finished phase moves to the static part, above the live list.
    const done = { ...phases[1]!, status: 'done' as const, elapsedMs: 2600, summary: 'missing: success criteria, constraints, stakeholders' };
    store.append({ kind: 'phase', line: done });
    store.set({ phases: [phases[0]!, done, phases[2]!] });
    await settle();
    const after = view.lastFrame()!;
    expect(after).toMatch(/✔ sufficiency +2\.6s missing: success criteria, constraints, stakeholders/);
    expect(after).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] sufficiency/);
    expect(after.indexOf('✔ sufficiency')).toBeLessThan(after.indexOf('· context'));
    expect(widest(after)).toBeLessThanOrEqual(100);
  });
});

const QUESTION: Question = {
  id: 'success',
  part: 'success criteria',
  text: 'What must be true when this is done?',
  options: ['One reviewed draft per contact, ready to send', 'The CRM shows the new stage and next step', 'A handoff document the owner can act on'],
  recommended: 0,
  impact: 5,
};

describe('deepplan new: the interview', () => {
  it('shows one question with its options, the recommended one preselected: Enter accepts it', async () => {
    const { keys, view } = screen({ kind: 'question', question: QUESTION, number: 1 });
    const frame = view.lastFrame()!;
    expect(frame).toContain('? What must be true when this is done? (question 1, success criteria)');
    expect(frame).toContain('❯ 1) One reviewed draft per contact, ready to send (recommended)');
    expect(frame).toContain('  2) The CRM shows the new stage and next step');
    view.stdin.write(ENTER);
    await settle();
    expect(keys.answer).toHaveBeenCalledWith('One reviewed draft per contact, ready to send');
  });

  it('moves the choice with the arrows', async () => {
    const { keys, view } = screen({ kind: 'question', question: { ...QUESTION, recommended: 1 }, number: 2 });
    expect(view.lastFrame()).toContain('❯ 2) The CRM shows the new stage and next step (recommended)');
    view.stdin.write(UP);
    await settle();
    expect(view.lastFrame()).toContain('❯ 1) One reviewed draft per contact, ready to send');
    view.stdin.write(DOWN);
    await settle();
    view.stdin.write(DOWN);
    await settle();
    view.stdin.write(DOWN);
    await settle();
    expect(view.lastFrame()).toContain('❯ 3) A handoff document the owner can act on');
    view.stdin.write(ENTER);
    await settle();
    expect(keys.answer).toHaveBeenCalledWith('A handoff document the owner can act on');
  });

  it('takes typed text as a free answer', async () => {
    const { keys, view } = screen({ kind: 'question', question: QUESTION, number: 1 });
    view.stdin.write('Six drafts approved by Michael');
    await settle();
    expect(view.lastFrame()).toContain('answer: Six drafts approved by Michael');
    expect(view.lastFrame()).not.toContain('❯ 1)');
    view.stdin.write(ENTER);
    await settle();
    expect(keys.answer).toHaveBeenCalledWith('Six drafts approved by Michael');
  });

  it('takes a free answer typed with its Enter in one chunk', async () => {
    const { keys, view } = screen({ kind: 'question', question: QUESTION, number: 1 });
    view.stdin.write('By Friday\r');
    await settle();
    expect(keys.answer).toHaveBeenCalledWith('By Friday');
  });
});

const AUDIT: SkillAuditView = {
  mapped: [
    { name: 'source-notes', phases: ['P1', 'P2'], why: 'Reads a source file and writes notes on what it does' },
    { name: 'compare-sources', phases: ['P3'], why: 'Compares the notes of several sources' },
    { name: 'findings-report', phases: ['P4'], why: 'Writes a findings report that answers the question first' },
  ],
  excluded: [
    { name: 'newsletter-builder', reason: 'nothing in the request calls for it (Builds a newsletter issue)' },
    { name: 'hubspot-sync', reason: 'deprecated by its own description (Deprecated, syncs contacts from HubSpot)' },
  ],
  problem: null,
  choice: { map: [], exclude: [] },
};

describe('deepplan new: the skill audit', () => {
  it('lists mapped skills with phases and reasons and excluded ones with reasons; space toggles, Enter confirms', async () => {
    const { keys, view } = screen({ kind: 'skills', audit: AUDIT });
    const frame = view.lastFrame()!;
    expect(frame).toContain('Skill audit: 3 mapped, 2 excluded');
    expect(frame).toMatch(/❯ \[x\] source-notes +P1,P2 +Reads a source file/);
    expect(frame).toMatch(/\[ \] hubspot-sync +deprecated by its own description/);
    expect(widest(frame)).toBeLessThanOrEqual(100);
    view.stdin.write(' ');
    await settle();
    expect(view.lastFrame()).toMatch(/❯ \[ \] source-notes +P1,P2 +→ excluded on Enter/);
    view.stdin.write(' ');
    await settle();
    expect(view.lastFrame()).toMatch(/❯ \[x\] source-notes +P1,P2 +Reads a source file/);
    for (let i = 0; i < 3; i++) {
      view.stdin.write(DOWN);
      await settle();
    }
    view.stdin.write(' ');
    await settle();
    expect(view.lastFrame()).toMatch(/❯ \[x\] newsletter-builder +→ mapped on Enter/);
    view.stdin.write(ENTER);
    await settle();
    expect(keys.confirmSkills).toHaveBeenCalledWith(['newsletter-builder']);
  });

  it('says why the plan cannot be written yet', () => {
    const { view } = screen({ kind: 'skills', audit: { ...AUDIT, problem: '2 skill(s) mapped; at least 3 must be' } });
    expect(view.lastFrame()).toContain('cannot write the plan yet: 2 skill(s) mapped; at least 3 must be');
  });
});

describe('deepplan new: the sizing and budget table', () => {
  it('shows each phase with its context mode and file operations, then the budget arithmetic', async () => {
    const sizing: SizingDetail = {
      kind: 'sizing',
      phases: [
        { id: 'P1', title: 'Read src/intake.ts and write notes', context: 'direct', fileOperations: 2 },
        { id: 'P2a', title: 'Extract src/ledger.ts into a short extract the phase reads', context: 'map_reduce', fileOperations: 12 },
      ],
    };
    const budget: BudgetDetail = {
      kind: 'budget',
      maxIterations: 14,
      basis: 'formula',
      arithmetic: 'ceil((2 × 2 + 3 / 3 + 5) × 1.15) = 12',
      phases: 2,
      criteria: 3,
      coefficients: { phase_weight: 2, criteria_divisor: 3, constant: 5, margin: 1.15 },
    };
    const { view } = screen({ kind: 'pipeline' }, { log: [{ id: '1', kind: 'budget', sizing, budget }] });
    await settle();
    const frame = view.lastFrame()!;
    expect(frame).toContain('Sizing and budget');
    expect(frame).toMatch(/Phase +Title +Context +Files/);
    expect(frame).toMatch(/P1 +Read src\/intake\.ts and write notes +direct +2/);
    expect(frame).toMatch(/P2a +Extract src\/ledger\.ts into a short extract the phase reads +map_reduce +12/);
    expect(frame).toMatch(/phases +2 × phase weight 2/);
    expect(frame).toMatch(/criteria +3 ÷ criteria divisor 3/);
    expect(frame).toMatch(/margin +1\.15 \(formula\)/);
    expect(frame).toContain('budget     14 iterations = ceil((2 × 2 + 3 / 3 + 5) × 1.15) = 12');
    expect(widest(frame)).toBeLessThanOrEqual(100);
  });
});

const finding = (number: number, severity: ReviewFinding['severity'], issue: string): ReviewFinding => ({
  number,
  severity,
  line: 40 + number,
  section: 'Success criteria',
  quote: `- [ ] SC${number}: quoted passage of the plan`,
  issue,
  fix: `fix number ${number}`,
  verified: true,
});

describe('deepplan new: the review rounds', () => {
  it('shows the verdict and numbered findings; Enter on one expands its quote and fix, Enter on continue goes on', async () => {
    const round = {
      round: 1,
      reviewer: 'offline/rules',
      verdict: 'REVISE',
      counts: '0 critical, 1 high, 1 medium, 0 low',
      findings: [finding(1, 'high', 'SC1 has no verify command'), finding(2, 'medium', 'SC2 has no measure')],
    };
    const { keys, view } = screen({ kind: 'review', round });
    let frame = view.lastFrame()!;
    expect(frame).toContain('review round 1 by offline/rules: REVISE');
    expect(frame).toMatch(/1\. high +line 41 +SC1 has no verify command/);
    expect(frame).toContain('❯ continue');
    expect(frame).not.toContain('fix number');
    view.stdin.write(UP);
    await settle();
    view.stdin.write(ENTER);
    await settle();
    frame = view.lastFrame()!;
    expect(frame).toContain('#2 medium · Success criteria · line 42');
    expect(frame).toContain('quote: “- [ ] SC2: quoted passage of the plan”');
    expect(frame).toContain('fix: fix number 2');
    expect(keys.continueReview).not.toHaveBeenCalled();
    view.stdin.write(DOWN);
    await settle();
    view.stdin.write(ENTER);
    await settle();
    expect(keys.continueReview).toHaveBeenCalledTimes(1);
  });
});

describe('deepplan new: the final screen', () => {
  const final: Stage = { kind: 'final', plan: 'plans/modop.md', facts: '9 phases, in_review, review APPROVED', message: null, busy: false };

  it('shows the plan path and preselects "later"', async () => {
    const { keys, view } = screen(final);
    const frame = view.lastFrame()!;
    expect(frame).toContain('Plan: plans/modop.md (9 phases, in_review, review APPROVED)');
    expect(frame).toContain('Running approves it first (deepplan approve)');
    expect(frame).toContain('❯ later (default)');
    expect(widest(frame)).toBeLessThanOrEqual(100);
    view.stdin.write(ENTER);
    await settle();
    expect(keys.choose).toHaveBeenCalledWith('later');
  });

  it('chooses one iteration or the loop with the arrows, and shows why approval was refused', async () => {
    const { keys, view, store } = screen(final);
    view.stdin.write(UP);
    await settle();
    view.stdin.write(ENTER);
    await settle();
    expect(keys.choose).toHaveBeenLastCalledWith('loop');
    view.stdin.write(UP);
    await settle();
    view.stdin.write(ENTER);
    await settle();
    expect(keys.choose).toHaveBeenLastCalledWith('once');
    store.set({ stage: { ...final, message: 'not approved: plans/modop.md cannot be approved: 1 lint error(s)' } as Stage });
    await settle();
    expect(view.lastFrame()).toContain('not approved: plans/modop.md cannot be approved: 1 lint error(s)');
  });
});

describe('deepplan new: phase lists in the skill audit', () => {
  it('folds runs of consecutive phases so one skill per contact still fits its column', () => {
    expect(phaseRanges(['P5', 'P6', 'P7', 'P8', 'P9', 'P10'])).toBe('P5–P10');
    expect(phaseRanges(['P2', 'P4', 'P5', 'P7', 'P8', 'P9'])).toBe('P2,P4,P5,P7–P9');
    expect(phaseRanges(['P3a', 'P3b', 'P4'])).toBe('P3a,P3b,P4');
    expect(phaseRanges([])).toBe('');
  });
});
