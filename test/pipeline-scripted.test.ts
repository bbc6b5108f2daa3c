import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScriptedModel, scriptedRunner } from '../src/models/scripted.js';
import type { GenerateRequest } from '../src/models/types.js';
import { PLAN_DRAFT_FORMAT, WORKSTREAM_FORMAT } from '../src/pipeline/offline.js';
import { runPipeline, type PipelineEvent } from '../src/pipeline/run.js';
import { makeRepo, PROJECT_ROOT } from './support/fixtures.js';

/*
 * Which parts of planning the planner's model does, with the model in process (ScriptedModel): the offline engine
 * answers neither the workstream nor the plan, so the offline planner (keywords, templates) does them; a planner
 * model that answers is asked for both, and the template still plans when its plan is not usable.
 */

const REQUEST = 'Run an outreach for Mod Op: one email per person on the buying committee. Drafts only; nothing is sent. Michael, the CEO, approves.';

function outreachRepo(): string {
  const root = makeRepo();
  cpSync(join(PROJECT_ROOT, 'examples/outreach'), root, { recursive: true });
  return root;
}

async function plan(models: ReturnType<typeof scriptedRunner> | undefined) {
  const root = outreachRepo();
  const events: PipelineEvent[] = [];
  const outcome = await runPipeline({
    request: REQUEST,
    root,
    out: join(root, 'plans/modop.md'),
    models,
    emit: (event) => events.push(event),
    today: '2026-11-20',
    now: '2026-11-20T10:00:00Z',
  });
  const said = (phase: string) =>
    events.flatMap((event) =>
      event.phase === phase && (event.type === 'result' || event.type === 'progress') ? [event.type === 'result' ? event.summary : event.message] : [],
    );
  return { outcome, said };
}

describe('the planner role', () => {
  it('on the offline engine: nothing is asked, the keywords classify and the template plans, as with no runner', async () => {
    const planner = new ScriptedModel({ answers: [] });
    const models = scriptedRunner(planner, { config: { models: { planner: 'offline/engine' } } });
    expect([models.answers('planner', WORKSTREAM_FORMAT), models.answers('planner', PLAN_DRAFT_FORMAT)]).toEqual([false, false]);
    const offline = await plan(models);
    const alone = await plan(undefined);
    expect(planner.requests).toHaveLength(0);
    expect(models.ledger.calls).toBe(0);
    expect(offline.said('workstream')).toEqual(['consulting (confidence 1.00 by keywords: outreach, buying committee)']);
    expect(offline.said('generation').at(-1)).toMatch(/ phases from the outreach template$/);
    if (offline.outcome.kind !== 'plan' || alone.outcome.kind !== 'plan') throw new Error('expected plans');
    expect(offline.outcome.draft.phases).toEqual(alone.outcome.draft.phases);
  });

  it('a model that answers is asked for the workstream and the plan; a plan it cannot make usable twice falls back to the template', async () => {
    const answer = (request: GenerateRequest) =>
      request.format?.name === WORKSTREAM_FORMAT
        ? { workstream: 'consulting', confidence: 0.9, reason: 'an outreach to an account' }
        : { title: 'Outreach', phases: [], criteria: [], skills_excluded: [] };
    const planner = new ScriptedModel({ answers: answer });
    const { outcome, said } = await plan(scriptedRunner(planner, { config: { models: { reviewer: 'openai/gpt-test' } } }));
    expect(planner.requests.map((request) => request.format?.name)).toEqual([WORKSTREAM_FORMAT, PLAN_DRAFT_FORMAT, PLAN_DRAFT_FORMAT]);
    expect(said('workstream')).toEqual(['consulting (confidence 0.90 by anthropic/scripted: an outreach to an account)']);
    expect(said('generation')).toContain("the planner's answer was not usable twice; planning from the offline outreach template instead");
    expect(planner.lastPrompt).toMatch(/^That plan cannot be used: the plan has 0 phase\(s\)/);
    expect(outcome.kind).toBe('plan');
  });
});
