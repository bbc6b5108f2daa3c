/**
 * Context sufficiency, in plain code: does the request say what success looks like, what constrains the work and
 * who it is for? Two or more missing: interview the requester (at most five questions, most impact first).
 */

export type ContextPart = 'success criteria' | 'constraints' | 'stakeholders';

export interface Found {
  part: ContextPart;
  /** The sentences of the request that supply it. */
  evidence: string[];
}

const SIGNALS: Record<ContextPart, RegExp[]> = {
  'success criteria': [
    /\b(success|succeed|done when|definition of done|so that|goal|outcome|measured? by|target|kpi)\b/i,
    /\b(at least|no fewer than|every|each|all \d+|one (?:email|draft|page|post) per)\b/i,
    /\b\d+\s*(?:%|percent|emails?|drafts?|contacts?|posts?|pages?|words?|meetings?|replies|leads?)\b/i,
  ],
  constraints: [
    /\b(don't|do not|never|must not|mustn't|only|without|no more than|at most|budget|deadline|by (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|end of)|before \w+day|read-only|drafts? only|not send)\b/i,
    /\b(compliance|gdpr|legal|policy|brand guidelines?|tone)\b/i,
  ],
  stakeholders: [
    // Roles and approval, not names alone: "for Mod Op" names an account, not a person who answers for the work.
    /\b(ceo|cto|cfo|coo|vp|head of|owner|manager|lead|stakeholders?|approves?|sign[- ]off|reviewer|sponsor)\b/i,
    /@[a-z0-9_-]+/i,
  ],
};

function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((sentence) => sentence.trim())
    .filter(Boolean);
}

/** Which of the three parts the request supplies, with the sentences that supply them. */
export function findContext(request: string): { found: Found[]; missing: ContextPart[] } {
  const found: Found[] = [];
  const missing: ContextPart[] = [];
  for (const part of Object.keys(SIGNALS) as ContextPart[]) {
    const evidence = sentences(request).filter((sentence) => SIGNALS[part].some((pattern) => pattern.test(sentence)));
    if (evidence.length > 0) found.push({ part, evidence });
    else missing.push(part);
  }
  return { found, missing };
}

export interface Question {
  id: string;
  part: ContextPart;
  text: string;
  /** 2 to 5 options, or none for a short free answer. */
  options: string[];
  /** Index into options of the recommended answer; null for a free answer. */
  recommended: number | null;
  /** Higher first: how much the answer changes the plan. */
  impact: number;
}

/** The interview for the missing parts: at most five questions, ranked by impact. */
/** `kind`: the workstream, or `research` for the research template (its outcomes differ from a campaign's). */
export function interviewQuestions(missing: ContextPart[], kind: string): Question[] {
  const questions: Question[] = [];
  if (missing.includes('success criteria')) {
    questions.push({
      id: 'success',
      part: 'success criteria',
      text: 'What must be true when this is done?',
      options:
        kind === 'research'
          ? ['A findings page that answers the question and cites its sources', 'A comparison table of the options', 'A short memo with a recommendation']
          : kind === 'infrastructure'
          ? ['It runs on schedule and a restore or rollback is proven', 'It is deployed and monitored', 'A written runbook exists and is reviewed']
          : kind === 'content'
            ? ['The piece is published and linked from the usual channels', 'A draft is approved by the owner', 'The piece meets a word count and style check']
            : ['One reviewed draft per contact, ready to send', 'The CRM shows the new stage and next step', 'A handoff document the owner can act on'],
      recommended: 0,
      impact: 5,
    });
    questions.push({
      id: 'measure',
      part: 'success criteria',
      text: 'How will we check it?',
      options: ['A command checks the output files', 'The owner signs off in writing', 'A number in a report reaches a target'],
      recommended: 0,
      impact: 3,
    });
  }
  if (missing.includes('stakeholders')) {
    questions.push({
      id: 'owner',
      part: 'stakeholders',
      text: 'Who owns the result and answers when the work is blocked?',
      options: ['The requester', 'The account or project owner', 'The team lead'],
      recommended: 0,
      impact: 4,
    });
  }
  if (missing.includes('constraints')) {
    questions.push({
      id: 'limits',
      part: 'constraints',
      text: 'What must the work not do?',
      options: ['Nothing is sent or published without approval', 'Only read existing systems; write drafts and files', 'No limits beyond the usual'],
      recommended: 0,
      impact: 4,
    });
    questions.push({
      id: 'deadline',
      part: 'constraints',
      text: 'When is it needed?',
      options: ['This week', 'Within two weeks', 'No fixed date'],
      recommended: 2,
      impact: 2,
    });
  }
  return questions.sort((a, b) => b.impact - a.impact).slice(0, 5);
}
