import { describe, expect, it } from 'vitest';
import { findContext, interviewQuestions } from '../src/pipeline/sufficiency.js';
import { ASK_BELOW_CONFIDENCE, classifyWorkstream } from '../src/pipeline/workstream.js';

describe('the offline workstream classifier', () => {
  it.each([
    ['Run an end-to-end outreach for Mod Op: one email per person on the buying committee, CRM updated.', 'consulting'],
    ["Write this month's newsletter issue and a blog post about the launch.", 'content'],
    ['Back up the CRM database nightly and prove a restore works.', 'infrastructure'],
  ] as const)('classifies %j as %s with confidence', (request, workstream) => {
    const guess = classifyWorkstream(request);
    expect(guess.workstream).toBe(workstream);
    expect(guess.confidence).toBeGreaterThanOrEqual(ASK_BELOW_CONFIDENCE);
    expect(guess.evidence.length).toBeGreaterThan(0);
  });

  it('is unsure about a request with no or mixed evidence, so the pipeline asks', () => {
    expect(classifyWorkstream('Help me with the thing we discussed.').confidence).toBe(0);
    const mixed = classifyWorkstream('Publish a newsletter post about the database migration.');
    expect(mixed.confidence).toBeLessThan(ASK_BELOW_CONFIDENCE);
  });
});

describe('context sufficiency', () => {
  it('finds criteria, constraints and stakeholders with the sentences that supply them', () => {
    const request =
      'Run an outreach for Mod Op. Success is one reviewed draft per contact, six in all. Drafts only: nothing is sent. Michael, the CEO, approves.';
    const { found, missing } = findContext(request);
    expect(missing).toEqual([]);
    expect(found.find((f) => f.part === 'success criteria')!.evidence).toEqual(['Success is one reviewed draft per contact, six in all.']);
    expect(found.find((f) => f.part === 'constraints')!.evidence).toEqual(['Drafts only: nothing is sent.']);
    expect(found.find((f) => f.part === 'stakeholders')!.evidence).toEqual(['Michael, the CEO, approves.']);
  });

  it('reports all three missing for a bare request', () => {
    expect(findContext('Do an outreach for Mod Op.').missing).toEqual(['success criteria', 'constraints', 'stakeholders']);
  });

  it('asks at most five questions, most impact first, each with 2 to 5 options and a recommendation or a free answer', () => {
    const questions = interviewQuestions(['success criteria', 'constraints', 'stakeholders'], 'consulting');
    expect(questions.length).toBeLessThanOrEqual(5);
    expect(questions.map((q) => q.impact)).toEqual([...questions.map((q) => q.impact)].sort((a, b) => b - a));
    for (const question of questions) {
      if (question.options.length === 0) expect(question.recommended).toBeNull();
      else {
        expect(question.options.length).toBeGreaterThanOrEqual(2);
        expect(question.options.length).toBeLessThanOrEqual(5);
        expect(question.options[question.recommended!]).toBeDefined();
      }
    }
    expect(new Set(questions.map((q) => q.part))).toEqual(new Set(['success criteria', 'constraints', 'stakeholders']));
    expect(interviewQuestions(['stakeholders'], 'content').map((q) => q.id)).toEqual(['owner']);
  });
});
