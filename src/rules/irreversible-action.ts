import type { Phase, Plan, Step } from '../plan/types.js';
import type { Rule, RuleContext } from './rule.js';

/**
 * Steps whose effect cannot be taken back: a send, a publish, a post, a delete, a deploy, a restore, a payment, a
 * merge. Each needs a human gate at or before it (`Gate: human` on its phase or on a phase it depends on), and none
 * may do what a stated constraint forbids ("Drafts only; nothing is sent").
 */

export type ActionKind = 'send' | 'publish' | 'post' | 'delete' | 'deploy' | 'restore' | 'pay' | 'merge';

const VERB: Record<ActionKind, string> = {
  send: 'sends',
  publish: 'publishes',
  post: 'posts',
  delete: 'deletes',
  deploy: 'deploys',
  restore: 'restores',
  pay: 'pays',
  merge: 'merges',
};

/** Words of a skill name or a script's file name that make it irreversible (`publish-post`, `send-newsletter.mjs`). */
const NAME_WORDS: Record<string, ActionKind> = {
  send: 'send',
  sender: 'send',
  mailer: 'send',
  publish: 'publish',
  publisher: 'publish',
  delete: 'delete',
  purge: 'delete',
  drop: 'delete',
  wipe: 'delete',
  destroy: 'delete',
  deploy: 'deploy',
  deployer: 'deploy',
  release: 'deploy',
  restore: 'restore',
  pay: 'pay',
  payment: 'pay',
  payout: 'pay',
  merge: 'merge',
};

/**
 * Verbs in the imperative at the start of a clause ("Publish the piece", "…, then send it"). A verb after "to", a
 * modal or a negation ("for the owner to send", "do not send", "never publish") is not this plan's action.
 */
const CLAUSE_START = String.raw`(?:^|[.;:!?]\s+|,\s*|\(\s*|\b(?:and|then|finally|also|now)\s+)`;
const TEXT_VERBS: Array<{ kind: ActionKind; pattern: RegExp }> = [
  { kind: 'send', pattern: /send|e-?mail out|mail out|dispatch/ },
  { kind: 'publish', pattern: /publish|go live with|make public/ },
  // "post" is a noun as often as a verb: only "post to/on/in …" or "post the message/update/…".
  {
    kind: 'post',
    pattern:
      /post(?=[^.;\n]{0,60}(?:#[\w-]+|\b(?:slack|teams|linkedin|twitter|mastodon|bluesky|blog|forum|community|channel|feed|website|social)\b)|\s+(?:(?:it|them)\s+)?(?:to|on|in|into)\b|\s+(?:the|a|an|each|every|this|our)\s+(?:\w+\s+)?(?:message|update|announcement|tweet|thread|comment|reply|link|piece|article|newsletter|summary|release notes?|post)\b)/,
  },
  { kind: 'delete', pattern: /delete|purge|wipe|erase|destroy|drop(?=\s+(?:the\s+)?(?:\w+\s+)?(?:table|database|schema|index|collection|bucket)s?\b)/ },
  {
    kind: 'deploy',
    pattern:
      /deploy|ship(?=\s+(?:it|the\s+\w+)\s+to\s+production)|roll\s+out|release(?=\s+(?:it|the\s+\w+(?:\s+\w+)?)\s+to\s+(?:production|prod|customers|users))/,
  },
  { kind: 'restore', pattern: /restore|roll\s*back/ },
  { kind: 'pay', pattern: /pay|refund|wire(?=\s+(?:the\s+)?(?:funds|money|payment))|charge(?=\s+(?:the\s+)?(?:card|customer|client)s?\b)/ },
  // "merge the notes into one file" is an edit; a merge of a branch or a pull request is not undone by editing.
  {
    kind: 'merge',
    pattern:
      /merge(?=\s+(?:the\s+)?(?:\w+\s+)?(?:pr|prs|pull\s+requests?|branch(?:es)?|changes\s+into\s+main|duplicates?|records|accounts|contacts|deals|companies|customers)\b|\s+(?:it\s+)?into\s+(?:main|master|production|release)\b)/,
  },
];
/**
 * Words one of which (in lower case) every match of a kind's verbs holds: a text without them is not searched for
 * that kind, and most kinds' expressions are never compiled for a plan that does not speak of them.
 */
const TEXT_WORDS: Record<ActionKind, string[]> = {
  send: ['send', 'mail out', 'dispatch'],
  publish: ['publish', 'go live with', 'make public'],
  post: ['post'],
  delete: ['delete', 'purge', 'wipe', 'erase', 'destroy', 'drop'],
  deploy: ['deploy', 'ship', 'roll', 'release'],
  restore: ['restore', 'roll'],
  pay: ['pay', 'refund', 'wire', 'charge'],
  merge: ['merge'],
};
const TEXT_PATTERNS = TEXT_VERBS.map(({ kind, pattern }) => ({
  kind,
  words: TEXT_WORDS[kind],
  pattern: new RegExp(`${CLAUSE_START}(${pattern.source})(?![-\\w])`, 'gi'),
}));

/** Flags of a skill step or a command that switch an action on (`--send`, `--publish`, `--delete`). */
const FLAG = /(?:^|\s)--(send|publish|post|delete|purge|deploy|restore|pay|merge)(?=[\s=]|$)/i;

/** Commands whose action cannot be undone. */
const COMMANDS: Array<{ kind: ActionKind; pattern: RegExp }> = [
  {
    kind: 'deploy',
    pattern:
      /\bgit\s+push\b|\bkubectl\s+(?:apply|rollout|set)\b|\bterraform\s+apply\b|\bhelm\s+(?:install|upgrade)\b|\b(?:vercel|netlify|flyctl|fly|firebase|wrangler)\b.*\bdeploy\b|\bnpm\s+publish\b/,
  },
  { kind: 'publish', pattern: /\b(?:npm|pnpm|yarn|cargo|twine|gem)\s+publish\b|\btwine\s+upload\b/ },
  {
    kind: 'delete',
    pattern:
      /(?:^|\s)rm\s|\bkubectl\s+delete\b|\bterraform\s+destroy\b|\baws\s+s3\s+(?:rm|rb)\b|\bdrop\s+(?:table|database|schema)\b|\btruncate\s+table\b|\bgit\s+push\s+.*--force\b/i,
  },
  { kind: 'restore', pattern: /\bpg_restore\b|\bmongorestore\b/ },
  { kind: 'merge', pattern: /\bgh\s+pr\s+merge\b|\bgit\s+merge\b/ },
  { kind: 'send', pattern: /\bsendmail\b|\bmailx?\s+-s\b|\bcurl\b.*\bhooks\.slack\.com\b/ },
  { kind: 'post', pattern: /\bcurl\b.*(?:-X\s*(?:POST|PUT|DELETE|PATCH)\b|--data\b|\s-d\s)/ },
];

export interface IrreversibleAction {
  kind: ActionKind;
  /** What in the step shows it: the words, the flag, the skill or the command. */
  evidence: string;
}

function kindOfName(name: string): ActionKind | null {
  for (const word of name.toLowerCase().split(/[^a-z]+/)) {
    const kind = NAME_WORDS[word];
    if (kind) return kind;
  }
  return null;
}

/** Text with quoted passages and code spans blanked: an argument's words ("Michael sends the drafts") are not the step's action. */
function unquoted(text: string): string {
  // Dashes and quotes as \u escapes: the start-up snapshot's bundle stays ASCII (scripts/build.mjs).
  return text.replace(/"[^"\n]*"|\u201c[^\u201d\n]*\u201d|`[^`\n]*`/g, (match) => ' '.repeat(match.length));
}

/** The irreversible action in a piece of prose (a model step, a phase title), if any. */
export function actionInText(text: string): IrreversibleAction | null {
  const plain = unquoted(text);
  const lower = plain.toLowerCase();
  let best: { kind: ActionKind; index: number; word: string } | null = null;
  for (const { kind, words, pattern } of TEXT_PATTERNS) {
    if (!words.some((word) => lower.includes(word))) continue;
    pattern.lastIndex = 0;
    const match = pattern.exec(plain);
    if (match && (best === null || match.index < best.index)) best = { kind, index: match.index, word: match[1]! };
  }
  return best ? { kind: best.kind, evidence: `"${text.trim().length > 60 ? `${text.trim().slice(0, 57)}…` : text.trim()}"` } : null;
}

/** The irreversible action a step takes, if any: by its skill (its SKILL.md metadata first), its flags, its command or its words. */
export function actionOfStep(step: Step, context: Pick<RuleContext, 'skills'>): IrreversibleAction | null {
  if (step.kind === 'skill' && step.skill) {
    const skill = context.skills().skills.get(step.skill);
    const flag = FLAG.exec(step.args);
    if (flag) return { kind: kindOfName(flag[1]!) ?? 'send', evidence: `\`/${step.skill} ${step.args}\``.replace(/ `$/, '`') };
    if (skill?.irreversible === true) return { kind: kindOfName(step.skill) ?? 'send', evidence: `/${step.skill}, which its SKILL.md declares irreversible` };
    if (skill?.irreversible === false) return null;
    const kind = kindOfName(step.skill);
    return kind ? { kind, evidence: `/${step.skill}` } : null;
  }
  if (step.kind === 'run') {
    const command = step.command ?? '';
    for (const { kind, pattern } of COMMANDS) if (pattern.test(command)) return { kind, evidence: `\`${command}\`` };
    const flag = FLAG.exec(command);
    if (flag) return { kind: kindOfName(flag[1]!) ?? 'send', evidence: `\`${command}\`` };
    // The script a command runs, by its file name (`node scripts/send-newsletter.mjs`).
    for (const word of command.split(/\s+/).slice(0, 3)) {
      if (!/\.(?:m?js|cjs|ts|py|sh|rb)$/.test(word)) continue;
      const kind = kindOfName(
        word
          .split('/')
          .pop()!
          .replace(/\.[^.]+$/, ''),
      );
      if (kind) return { kind, evidence: `\`${command}\`` };
    }
    return null;
  }
  return actionInText(step.text);
}

// ---------------------------------------------------------------------------------------------------------------
// Constraints

interface Prohibition {
  /** The constraint as written. */
  text: string;
  line: number;
  /** Kinds of action it forbids everywhere; empty when it forbids only touching `object`. */
  kinds: Set<ActionKind>;
  /** A thing that must not be changed ("the primary", "HubSpot"), lower case; null for a plan-wide prohibition. */
  object: string | null;
  /** Whether any mention of the object breaks it ("never touch X", "never on X"), or only a change of it. */
  anyMention: boolean;
}

const ALL_KINDS: ActionKind[] = ['send', 'publish', 'post', 'delete', 'deploy', 'restore', 'pay', 'merge'];
const NEG = String.raw`(?:do\s+not|don't|never|must\s+not|mustn't|may\s+not|should\s+not|shall\s+not|cannot|no\s+one\s+may)`;
/**
 * `words`: every text the pattern matches holds one of them (in lower case), so a text with none is not matched
 * against it, and a pattern whose words no constraint holds is never compiled (each costs ~0.1 ms in a cold process).
 */
const KIND_PROHIBITIONS: Array<{ kinds: ActionKind[]; words: string[]; pattern: RegExp }> = [
  { kinds: ['send', 'post'], words: ['draft'], pattern: /\bdrafts?\s+only\b|\bonly\s+drafts?\b/i },
  {
    kinds: ['send'],
    words: ['sen'],
    pattern: new RegExp(
      String.raw`\bnothing\s+(?:is|gets|will\s+be|may\s+be|should\s+be)\s+sent\b|\b${NEG}\s+(?:be\s+)?send|\bnot\s+(?:be\s+)?sent\b|\bno\s+(?:e-?mails?|messages?|drafts?|invitations?)\s+(?:is|are|will\s+be|gets?)\s+sent\b|\bwithout\s+sending\b|\bstay\s+unsent\b`,
      'i',
    ),
  },
  {
    kinds: ['publish', 'post'],
    words: ['publi', 'live', 'internal'],
    pattern: new RegExp(
      String.raw`\bnothing\s+(?:is|gets|will\s+be|may\s+be|goes)\s+(?:published|public|live)\b|\b${NEG}\s+(?:be\s+)?publish|\bnot\s+(?:be\s+)?published\b|\bno\s+publishing\b|\b(?:stays?|remains?)\s+unpublished\b|\binternal\s+only\b`,
      'i',
    ),
  },
  { kinds: ['post'], words: ['post'], pattern: new RegExp(String.raw`\bnothing\s+(?:is\s+)?posted\b|\b${NEG}\s+post\b|\bno\s+posting\b`, 'i') },
  {
    kinds: ['delete'],
    words: ['delet', 'remov', 'drop', 'purge'],
    pattern: new RegExp(String.raw`\bnothing\s+(?:is\s+)?(?:deleted|removed|dropped)\b|\b${NEG}\s+(?:delete|remove|drop|purge)\b|\bno\s+deletions?\b`, 'i'),
  },
  { kinds: ['deploy'], words: ['deploy'], pattern: new RegExp(String.raw`\bnothing\s+(?:is\s+)?deployed\b|\b${NEG}\s+deploy|\bno\s+deploy(?:ment)?s?\b`, 'i') },
  { kinds: ['restore'], words: ['restore'], pattern: new RegExp(String.raw`\b${NEG}\s+restore\b|\bno\s+restores?\b`, 'i') },
  { kinds: ['pay'], words: ['paid', 'pay'], pattern: new RegExp(String.raw`\bnothing\s+(?:is\s+)?paid\b|\b${NEG}\s+pay\b|\bno\s+payments?\b`, 'i') },
  { kinds: ['merge'], words: ['merge'], pattern: new RegExp(String.raw`\bnothing\s+(?:is\s+)?merged\b|\b${NEG}\s+merge\b|\bno\s+merges?\b`, 'i') },
  // Plan-wide read-only: "Read-only.", "Read-only: no code changes", "The whole job is read-only".
  // "Read-only: no source file changes" is about the source files (read below as a scoped prohibition), not the plan.
  {
    kinds: ALL_KINDS,
    words: ['read', 'change'],
    pattern:
      /^\s*read[- ]only\s*(?:$|[.;!]|:\s*(?:no\s+changes\b|nothing\b|everything\b))|\b(?:entirely|strictly|fully|whole\s+(?:job|plan|task|work)\s+is)\s+read[- ]only\b|\bchange\s+nothing\b|\bno\s+changes\s+(?:anywhere|to\s+any\s+system)\b/i,
  },
];

const STOP = new Set([
  'them',
  'they',
  'those',
  'these',
  'him',
  'her',
  'anything',
  'nothing',
  'something',
  'one',
  'ones',
  'the',
  'a',
  'an',
  'any',
  'its',
  'our',
  'their',
  'of',
  'in',
  'on',
  'to',
  'and',
  'or',
  'is',
  'are',
  'be',
  'it',
  'this',
  'that',
  'these',
  'those',
  'all',
  'every',
  'data',
  'files',
  'file',
  'records',
  'record',
  'system',
  'live',
]);

/** The significant words of an object phrase, at most two ("the primary database" → "primary database"), space-separated. */
function headWord(phrase: string): string | null {
  const words = phrase
    .toLowerCase()
    .split(/[^a-z0-9-]+/)
    .filter((word) => word.length >= 3 && !STOP.has(word));
  return words.length > 0 ? words.slice(0, 2).join(' ') : null;
}

/** The sentences of the Request: a requester's "Nothing is published" binds the plan like a listed constraint. */
function requestSentences(plan: Plan): Array<{ text: string; line: number }> {
  const section = plan.sections.find((candidate) => candidate.key === 'request');
  if (!section) return [];
  const start = section.heading.end.offset;
  const body = plan.text.slice(start, section.endOffset);
  const sentences: Array<{ text: string; line: number }> = [];
  for (const match of body.matchAll(/[^.!?\n]+(?:[.!?]+|$)/gm)) {
    const text = match[0].trim();
    if (text) sentences.push({ text, line: plan.pointAt(start + match.index).line });
  }
  return sentences;
}

/**
 * The action kinds a set of sentences forbids outright ("Drafts only; nothing is sent", "Nothing is published"), each
 * with the sentence that forbids it. The offline planner leaves such actions out of a plan instead of writing them in.
 */
export function forbiddenKinds(sentences: readonly string[]): Map<ActionKind, string> {
  const forbidden = new Map<ActionKind, string>();
  for (const text of sentences) {
    const lower = text.toLowerCase();
    for (const { kinds, words, pattern } of KIND_PROHIBITIONS)
      if (words.some((word) => lower.includes(word)) && pattern.test(text))
        for (const kind of kinds) if (!forbidden.has(kind)) forbidden.set(kind, text.trim());
  }
  return forbidden;
}

/** "Do not change the pricing page", "Never touch the primary", "…, never on the primary". */
const SCOPED = new RegExp(String.raw`\b${NEG}\s+(touch|change|modify|edit|alter|update|write\s+to|overwrite|run\s+(?:on|against))\s+([^.;,()]+)`, 'gi');

export function prohibitionsOf(plan: Plan): Prohibition[] {
  const prohibitions: Prohibition[] = [];
  for (const entry of [...(plan.constraints ?? []), ...requestSentences(plan)]) {
    const text = entry.text;
    const kinds = new Set<ActionKind>();
    const lower = text.toLowerCase();
    for (const { kinds: forbidden, words, pattern } of KIND_PROHIBITIONS)
      if (words.some((word) => lower.includes(word)) && pattern.test(text)) for (const kind of forbidden) kinds.add(kind);
    if (kinds.size > 0) prohibitions.push({ text, line: entry.line, kinds, object: null, anyMention: false });
    // Scoped: "Do not change the pricing page", "Never touch the primary", "…, never on the primary", "HubSpot is read-only".
    // Each expression only where the text holds a word it needs (NEG: "no", "n't" or "never").
    for (const match of lower.includes('no') || lower.includes("n't") || lower.includes('never') ? text.matchAll(SCOPED) : []) {
      const object = headWord(match[2]!);
      if (object) prohibitions.push({ text, line: entry.line, kinds: new Set(), object, anyMention: /^(touch|run)/i.test(match[1]!) });
    }
    for (const match of lower.includes('never') ? text.matchAll(/\bnever\s+(?:on|against|in)\s+([^.;,()]+)/gi) : []) {
      const object = headWord(match[1]!);
      if (object) prohibitions.push({ text, line: entry.line, kinds: new Set(), object, anyMention: true });
    }
    // "No source file changes", "no CRM changes": those things are not changed.
    for (const match of lower.includes('change') ? text.matchAll(/\bno\s+([a-z][\w -]*?)\s+changes\b/gi) : []) {
      const object = headWord(match[1]!);
      if (object) prohibitions.push({ text, line: entry.line, kinds: new Set(), object, anyMention: false });
    }
    for (const match of lower.includes('read')
      ? text.matchAll(/(?:^|[.;]\s*)([^.;,]*?)\s+(?:is|are|stays?|remains?)\s+(?:strictly\s+)?read[- ]only\b/gi)
      : []) {
      const words = match[1]!.trim().split(/\s+/);
      const object = headWord(words.slice(-3).join(' '));
      if (object) prohibitions.push({ text, line: entry.line, kinds: new Set(), object, anyMention: false });
    }
  }
  return prohibitions;
}

const CHANGE =
  /\b(?:update|updates|change|modify|edit|write|overwrite|delete|remove|sync|push|restore|migrate|drop|import|set|move|rename|patch|insert|upsert|associate)\b|--(?:write|update|set|apply|sync)\b/i;

/** Whether the text names every word of the object (a plural or singular form of it). */
function mentions(text: string, object: string): boolean {
  return object.split(' ').every((word) => {
    const stem = word.replace(/(?:ies|es|s)$/, '');
    return new RegExp(`(?<![a-z0-9])${(stem.length >= 3 ? stem : word).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[a-z]{0,3}(?![a-z0-9])`, 'i').test(text);
  });
}

/**
 * A send to the plan's own people ("Send the handoff to the deal owner", `--to michael`) is an internal hand-off,
 * not the sending a "nothing is sent" constraint is about (it still needs its gate).
 */
function internalRecipient(plan: Plan, text: string): boolean {
  const names = [
    ...(plan.stakeholders ?? []).map((entry) => /^\s*([A-Z][\p{L}'-]+)/u.exec(entry.text)?.[1]),
    typeof plan.meta.owner === 'string' ? /^\s*([A-Z][\p{L}'-]+)/u.exec(plan.meta.owner)?.[1] : undefined,
  ]
    .filter((name): name is string => Boolean(name))
    .map((name) => name.toLowerCase());
  const to = /(?:\bto|--to|--recipient)\s+(?:the\s+)?([\w-]+(?:\s+[\w-]+)?)/gi;
  for (const match of text.matchAll(to)) {
    const who = match[1]!.toLowerCase();
    if (/^(?:deal\s+)?owner\b|^(?:the\s+)?(?:approver|requester|team|account\s+lead|me|us|myself|ourselves)\b/.test(who)) return true;
    if (names.includes(who.split(/\s+/)[0]!)) return true;
  }
  return false;
}

function violates(plan: Plan, prohibition: Prohibition, action: IrreversibleAction | null, text: string): boolean {
  if (prohibition.object === null) return action !== null && prohibition.kinds.has(action.kind) && !(action.kind === 'send' && internalRecipient(plan, text));
  if (!mentions(text, prohibition.object)) return false;
  const at = text.toLowerCase().indexOf(prohibition.object.split(' ')[0]!.replace(/(?:ies|es|s)$/, ''));
  if (at > 0 && /\b(?:not|never|without|no)\b[^.;]{0,40}$/i.test(text.slice(0, at))) return false;
  return prohibition.anyMention || action !== null || CHANGE.test(text);
}

// ---------------------------------------------------------------------------------------------------------------

/** Whether a human approves at or before the phase: its own gate, or the gate of a phase it depends on (the one before it when it names none). */
function gatedByHuman(plan: Plan, phase: Phase, index: number): boolean {
  if (phase.gate === 'human') return true;
  const before = phase.dependsOn.length > 0 ? phase.dependsOn.map((id) => plan.phases.find((candidate) => candidate.id === id)) : [plan.phases[index - 1]];
  return before.some((candidate) => candidate?.gate === 'human');
}

export const irreversibleAction: Rule = {
  id: 'irreversible-action',
  severity: 'error',
  description:
    'A step that sends, publishes, posts, deletes, deploys, restores, pays or merges has a human gate at or before it, and no constraint forbids it.',
  check(plan, context, report) {
    const prohibitions = prohibitionsOf(plan);
    plan.phases.forEach((phase, index) => {
      if (phase.malformedHeading || phase.status === 'done') return;
      const found: Array<{ ref: string; line: number; action: IrreversibleAction | null; text: string }> = phase.steps.map((step) => ({
        ref: `${phase.id}.${step.index}`,
        line: step.line,
        action: actionOfStep(step, context),
        text: step.kind === 'run' ? (step.command ?? step.text) : step.text,
      }));
      const titleAction = actionInText(phase.title);
      if (titleAction && !found.some((entry) => entry.action?.kind === titleAction.kind)) {
        found.unshift({ ref: phase.id, line: phase.heading.start.line, action: titleAction, text: phase.title });
      }
      let contradicted = false;
      for (const entry of found) {
        const broken = prohibitions.find((prohibition) => violates(plan, prohibition, entry.action, entry.text));
        if (!broken) continue;
        contradicted = true;
        const what = entry.action
          ? `${VERB[entry.action.kind]} (${entry.action.evidence})`
          : `changes ${broken.object} (${entry.text.length > 60 ? `"${entry.text.slice(0, 57)}…"` : `"${entry.text}"`})`;
        report(`${entry.ref} ${what}, which the constraint "${broken.text}" forbids`, {
          line: entry.line,
          fix: `remove or rewrite ${entry.ref} so it does what the constraint allows, or change the constraint with the requester`,
        });
      }
      // A Gate value that is none of none/human/review is phase-fields' finding; the fix there settles this one.
      const unreadableGate = phase.gate !== null && !['none', 'human', 'review'].includes(phase.gate.trim().toLowerCase());
      if (contradicted || unreadableGate || gatedByHuman(plan, phase, index)) return;
      const first = found.find((entry) => entry.action !== null);
      if (!first) return;
      report(
        `${first.ref} ${VERB[first.action!.kind]} (${first.action!.evidence}) with no human gate at or before it; add \`Gate: human\` to ${phase.id} or to a phase it depends on`,
        {
          line: first.line,
          fix: `add "- Gate: human" to ${phase.id} (or to the phase before it), so a person approves before the action`,
        },
      );
    });
  },
};
