import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNewSession, type SessionEvent, startNewSession } from '../src/pipeline/session.js';
import { parsePlan } from '../src/plan/parse.js';
import { makeRepo } from './support/fixtures.js';
import { NEW_SESSION_SKILLS, withoutProviderKeys } from './support/new-session.js';

/**
 * The `deepplan new` session without any screen: src/pipeline/session.ts driven by a scripted renderer that answers
 * each event that waits, as the Ink screens do with keys. No React, no Ink, no child process.
 */

const SKILLS = NEW_SESSION_SKILLS;
const REQUEST = 'Research for the client: what does src/intake.ts do? Success is one findings page. Read-only. Priya, the account lead, approves.';

withoutProviderKeys();

describe('the deepplan new session, headless', () => {
  it('plans, reviews in this process, shows the round and ends with the choice made, from events alone', async () => {
    const root = makeRepo({ ...SKILLS, 'src/intake.ts': 'export const x = 1;\n' });
    const start = startNewSession(REQUEST, { out: 'plans/h.md' }, root);
    const seen: SessionEvent['type'][] = [];
    const approved: string[] = [];
    const emit = (event: SessionEvent) => {
      seen.push(event.type);
      // Answer on the next turn, as a person's key arrives after the screen is drawn.
      if (event.type === 'question') setImmediate(() => event.answer(event.question.options[event.question.recommended ?? 0] ?? 'yes'));
      if (event.type === 'skills') setImmediate(() => event.confirm([]));
      if (event.type === 'review') setImmediate(() => event.next());
      if (event.type === 'final' && event.choose) setImmediate(() => event.choose!('later'));
    };
    const approve = async (path: string) => void approved.push(path);
    const outcome = await runNewSession({ ...start, emit, signal: new AbortController().signal, approve, today: '2026-11-22', now: '2026-11-22T10:00:00Z' });
    expect(outcome).toMatchObject({ kind: 'planned', plan: join(root, 'plans/h.md'), choice: 'later' });
    expect(outcome.message).toBe('plans/h.md is ready. When it is time:\n  deepplan approve plans/h.md\n  deepplan run plans/h.md --loop');
    expect(approved).toEqual([]);
    // The review ran here, between the written plan and the final choice, and its round waited for the person.
    expect(seen.indexOf('reviewing')).toBeGreaterThan(seen.indexOf('skills'));
    expect(seen.indexOf('review')).toBeGreaterThan(seen.indexOf('reviewing'));
    expect(seen.indexOf('final')).toBeGreaterThan(seen.indexOf('review'));
    const plan = parsePlan(readFileSync(join(root, 'plans/h.md'), 'utf8'));
    expect(plan.meta.review).toMatchObject({ rounds: 1, reviewer: 'offline/rules' });
  });

  it('on an abort before the request is answered writes nothing and says so', async () => {
    const root = makeRepo({ ...SKILLS });
    const start = startNewSession(undefined, {}, root);
    const controller = new AbortController();
    const emit = (event: SessionEvent) => {
      if (event.type === 'request') setImmediate(() => controller.abort());
    };
    const outcome = await runNewSession({ ...start, emit, signal: controller.signal, approve: async () => {} });
    expect(outcome).toEqual({ kind: 'interrupted', message: 'deepplan: interrupted; nothing was written' });
  });
});
