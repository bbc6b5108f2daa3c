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
    const label = part === 'constraints' ? CONSTRAINT_LABEL : part === 'success criteria' ? SUCCESS_LABEL : null;
    const evidence = requestSentences(request).filter(
      (sentence) =>
        label?.test(sentence) || SIGNALS[part].some((pattern) => pattern.test(sentence)) || (part === 'stakeholders' && approverIn(sentence) !== null),
    );
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
/** `extra`: questions of the caller's own (what the job is, which entity), ranked with the rest. */
export function interviewQuestions(missing: ContextPart[], kind: string, extra: Question[] = []): Question[] {
  const questions: Question[] = [...extra];
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
              ? [
                  'The piece is published and linked from the usual channels',
                  'A draft is approved by the owner',
                  'The piece meets a word count and style check',
                ]
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

/*
 * What the request itself says, carried into the plan as it is: its success sentences, its constraints (a
 * `Constraints:` label or a sentence that limits the work), the person who approves, and a quality bar it names.
 */

export type QualityBar = 'structural' | 'semantic' | 'adversarial';

export interface RequestFacts {
  /** Success sentences, without their label ("Denver passes the seo-audit"). */
  success: string[];
  /** Constraints, one per item: a labelled list is split at `;` (and at `,` when it has no `;`). */
  constraints: string[];
  /** The person who approves the work, when the request names one: the approver of the plan's human gates. */
  approver: { name: string; role: string | null; sentence: string } | null;
  /** A quality bar the request names ("The quality bar is adversarial"). */
  qualityBar: QualityBar | null;
}

const SUCCESS_LABEL = /^\s*(?:success(?:\s+criteria)?|success\s+(?:is|means)|done\s+when|definition\s+of\s+done|goal|outcome|acceptance)\s*[:—–-]\s*(.+)$/i;
const CONSTRAINT_LABEL = /^\s*(?:constraints?|limits?|rules?|guardrails?|restrictions?|boundaries)\s*[:—–-]\s*(.+)$/i;
const QUALITY_BAR = /\bquality[- ]bar\b[^.\n]{0,20}?\b(structural|semantic|adversarial)\b|\b(structural|semantic|adversarial)\s+quality[- ]bar\b/i;
const EXPLICIT_SUCCESS = /\b(success|succeed(?:s|ed)?|done when|definition of done|so that|measured? by|kpi)\b/i;
/** A person's name: one to three capitalised words (Dana, Dana Ruiz, Mary-Ann van Dyke is not attempted). */
const NAME = String.raw`([A-Z][\p{Ll}'’-]+(?:\s+[A-Z][\p{Ll}'’-]+){0,2})`;
const NOT_NAMES = new Set([
  'the',
  'nothing',
  'success',
  'constraints',
  'everything',
  'each',
  'every',
  'no',
  'one',
  'someone',
  'it',
  'this',
  'that',
  'we',
  'they',
  'then',
  'and',
  'who',
  'our',
  'legal',
  'sales',
  'marketing',
  'finance',
]);
const APPROVER_PATTERNS: RegExp[] = [
  new RegExp(
    String.raw`\b(?:[Aa]pprover|[Aa]pproved\s+by|[Ss]ign[- ]off\s+(?:from|by)|[Ss]igned\s+off\s+by|[Oo]wner)\s*[:—–-]?\s*${NAME}(?:\s*,\s*(?:the\s+|our\s+)?([^,.;]{2,40}?)\s*,)?`,
    'u',
  ),
  new RegExp(
    String.raw`${NAME}\s*(?:,\s*(?:the\s+|our\s+)?([^,.;]{2,40}?)\s*,)?\s+(?:approves|signs\s+off|must\s+approve|will\s+approve|has\s+to\s+approve|gives\s+the\s+go[- ]ahead|decides)\b`,
    'u',
  ),
  new RegExp(String.raw`\b(?:needs|with|after)\s+${NAME}['’]s\s+(?:approval|sign[- ]off|go[- ]ahead)`, 'u'),
];

function itemsOf(list: string, commas = true): string[] {
  const parts = list.includes(';') || !commas ? list.split(';') : list.split(/,\s+(?=[a-z])/);
  return parts
    .map((part) =>
      part
        .trim()
        .replace(/^(?:and|or)\s+/i, '')
        .replace(/[.;]+$/, '')
        .trim(),
    )
    .filter((part) => part.length > 2);
}

/** The lines and sentences of a request: a labelled line (`Constraints: a; b.`) stays whole. */
function requestSentences(request: string): string[] {
  return request.split(/\n+/).flatMap((line) => {
    if (SUCCESS_LABEL.test(line) || CONSTRAINT_LABEL.test(line)) return [line.trim()];
    return sentences(line);
  });
}

export function requestFacts(request: string): RequestFacts {
  const success: string[] = [];
  const constraints: string[] = [];
  for (const sentence of requestSentences(request)) {
    const labelledSuccess = SUCCESS_LABEL.exec(sentence);
    const labelledConstraints = CONSTRAINT_LABEL.exec(sentence);
    if (labelledConstraints) constraints.push(...itemsOf(labelledConstraints[1]!));
    else if (labelledSuccess) success.push(...itemsOf(labelledSuccess[1]!, false).map((item) => item.replace(/^./, (first) => first.toUpperCase())));
    else if (QUALITY_BAR.test(sentence)) continue;
    else if (SIGNALS.constraints.some((pattern) => pattern.test(sentence)) && !approverIn(sentence)?.only) constraints.push(sentence.replace(/[.]+$/, ''));
    else if (EXPLICIT_SUCCESS.test(sentence)) success.push(sentence.replace(/^success\s+(?:is|means)\s+/i, (prefix) => prefix).replace(/[.]+$/, ''));
  }
  const bar = QUALITY_BAR.exec(request);
  const approver =
    requestSentences(request)
      .map(approverIn)
      .find((found) => found !== null) ?? null;
  return {
    success: [...new Set(success)],
    constraints: [...new Set(constraints)],
    approver: approver ? { name: approver.name, role: approver.role, sentence: approver.sentence } : null,
    qualityBar: bar ? ((bar[1] ?? bar[2])!.toLowerCase() as QualityBar) : null,
  };
}

/** The approver a sentence names, if any; `only` when the sentence says nothing else (then it is no constraint). */
function approverIn(sentence: string): { name: string; role: string | null; sentence: string; only: boolean } | null {
  for (const pattern of APPROVER_PATTERNS) {
    const match = pattern.exec(sentence);
    if (!match) continue;
    const name = match[1]!.trim();
    if (NOT_NAMES.has(name.split(/\s+/)[0]!.toLowerCase())) continue;
    const role = match[2]?.trim() || null;
    const rest = sentence
      .replace(match[0], '')
      .replace(/[\s.,;:]+/g, ' ')
      .trim();
    return { name, role, sentence: sentence.trim(), only: rest.split(' ').filter(Boolean).length <= 2 };
  }
  return null;
}
