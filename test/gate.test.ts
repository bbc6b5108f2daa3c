import { describe, expect, it } from 'vitest';
import { GATE_FORMAT, reviewPhaseOutputs } from '../src/execute/gate.js';
import type { ExecutionContext } from '../src/execute/executors.js';
import { ModelError } from '../src/models/errors.js';
import { ScriptedModel, scriptedRunner } from '../src/models/scripted.js';
import { parsePlan } from '../src/plan/parse.js';
import { makeRepo } from './support/fixtures.js';

/*
 * The quality gate with the reviewer's model in process (ScriptedModel): what the gate asks and what it does with
 * the answer. test/integrity.test.ts runs the same gate through the loop; test/models.test.ts keeps the wire format.
 */

const PLAN = `---
deepplan: 1
id: briefs
title: Account briefs
status: approved
---

# Account briefs

## Request

Write a one-page brief per account for the quarterly review, naming each account's renewal risk.

## Success criteria

- [ ] SC1: Every account has a brief that names its renewal risk.

## Constraints

- Public sources only.

## Phases

### P1. Draft the briefs
- Inputs: accounts.csv
- Outputs: briefs/*.md
- Depends on: none
- Done when: one brief per account
- Status: done

1. Draft one brief per account.

### P2. Check the briefs
- Inputs: briefs/*.md
- Outputs: out/check.md
- Depends on: P1
- Gate: review
- Done when: the check names each brief's problems
- Status: pending

1. Check each brief against the request.
`;

const FILES = {
  'plans/p.md': PLAN,
  'accounts.csv': 'account\nContoso\nFabrikam\n',
  'briefs/contoso.md': '# Contoso\n\nRenewal risk: the sponsor moved to another unit in June.\n',
  'briefs/fabrikam.md': '# Fabrikam\n\nRenewal risk: none known; usage grew 40%.\n',
  'out/check.md': 'Contoso: the sponsor change is named. Fabrikam: the usage figure has no source.\n',
};

function gate(files: Record<string, string>, models: ReturnType<typeof scriptedRunner> | null) {
  const root = makeRepo(files);
  const plan = parsePlan(files['plans/p.md']!);
  const context = { root } as ExecutionContext;
  return reviewPhaseOutputs(plan, plan.phases[1]!, context, models);
}

describe('the quality gate asks the reviewer model', () => {
  it('with the judged files, the request, the Done when and the criteria, and reports its findings', async () => {
    const reviewer = new ScriptedModel({
      id: 'openai/scripted',
      answers: [{ verdict: 'REVISE', findings: [{ severity: 'medium', issue: 'the Fabrikam figure has no source', fix: 'cite the usage report' }] }],
    });
    const review = await gate(FILES, scriptedRunner(reviewer));
    expect(review).toEqual({
      verdict: 'REVISE',
      round: 1,
      findings: ['medium: the Fabrikam figure has no source (fix: cite the usage report)'],
      model: 'openai/scripted',
    });
    expect(reviewer.requests).toHaveLength(1);
    const [request] = reviewer.requests;
    expect(request!.format?.name).toBe(GATE_FORMAT);
    const prompt = reviewer.lastPrompt;
    expect(prompt).toContain('Phase P2 of the plan "Account briefs": Check the briefs');
    expect(prompt).toContain("The request the plan answers:\nWrite a one-page brief per account for the quarterly review, naming each account's renewal risk.");
    expect(prompt).toContain("Done when: the check names each brief's problems");
    expect(prompt).toContain('- SC1: Every account has a brief that names its renewal risk.');
    expect(prompt).toContain('- Public sources only.');
    expect(prompt).toContain('The files this phase judges (briefs/*.md)');
    expect(prompt).toContain('--- briefs/contoso.md\n# Contoso\n\nRenewal risk: the sponsor moved to another unit in June.');
    expect(prompt).toContain('--- out/check.md\nContoso: the sponsor change is named.');
    expect(prompt).not.toContain("The engine's own checks found");
  });

  it('an APPROVED answer passes the gate, named by the model that gave it', async () => {
    const reviewer = new ScriptedModel({ id: 'openai/scripted', answers: [{ verdict: 'APPROVED', findings: [] }] });
    expect(await gate(FILES, scriptedRunner(reviewer))).toEqual({ verdict: 'APPROVED', round: 1, findings: [], model: 'openai/scripted' });
  });

  it('an answer that does not match the schema is asked again once, with what is wrong with it', async () => {
    const reviewer = new ScriptedModel({ id: 'openai/scripted', answers: ['{"verdict": "LGTM"}', { verdict: 'APPROVED', findings: [] }] });
    expect((await gate(FILES, scriptedRunner(reviewer))).verdict).toBe('APPROVED');
    expect(reviewer.requests).toHaveLength(2);
    expect(reviewer.lastPrompt).toMatch(/^That answer is not usable: verdict: /);
  });

  it('a reviewer that keeps failing is an error of the gate, not a verdict', async () => {
    const failure = new ModelError('HTTP 400', { kind: 'http', status: 400, provider: 'openai', model: 'scripted' });
    const reviewer = new ScriptedModel({ id: 'openai/scripted', answers: () => failure });
    await expect(gate(FILES, scriptedRunner(reviewer, { config: { limits: { max_attempts: 1 } } }))).rejects.toThrow(/reviewer \(openai\/scripted\): HTTP 400/);
  });
});

describe("the engine's checks come first", () => {
  it('an output that is missing sends the phase back without asking the model', async () => {
    const reviewer = new ScriptedModel({ answers: [] });
    const { 'out/check.md': _check, ...files } = FILES;
    expect(await gate(files, scriptedRunner(reviewer))).toEqual({ verdict: 'REVISE', round: 1, findings: ['out/check.md is missing or empty'], model: null });
    expect(reviewer.requests).toHaveLength(0);
  });

  it('decide alone when the reviewer is the offline engine, which does not judge gates', async () => {
    const reviewer = new ScriptedModel({ answers: [] });
    const models = scriptedRunner(reviewer, { config: { models: { reviewer: 'offline/engine' } } });
    expect(models.answers('reviewer', GATE_FORMAT)).toBe(false);
    expect(await gate(FILES, models)).toEqual({ verdict: 'APPROVED', round: 1, findings: [], model: null });
    const placeholder = { ...FILES, 'briefs/fabrikam.md': '# Fabrikam\n\nRenewal risk: TODO\n' };
    expect(await gate(placeholder, models)).toEqual({
      verdict: 'REVISE',
      round: 1,
      findings: ['briefs/*.md, which this phase judges, still holds a placeholder ("TODO")'],
      model: null,
    });
    expect(reviewer.requests).toHaveLength(0);
    expect(models.ledger.calls).toBe(0);
  });

  it('decide alone with no model runner at all', async () => {
    expect(await gate(FILES, null)).toEqual({ verdict: 'APPROVED', round: 1, findings: [], model: null });
  });
});
