import { isInsideRepository } from '../rules/context.js';
import { ruleById } from '../rules/catalog.js';
import { overlaps, pathsIn } from '../rules/plan-paths.js';
import { docsUrl, type Finding } from '../rules/rule.js';
import type { Plan } from '../plan/types.js';
import { SEVERITY_RANK, type Consequence, type EngineFinding, type ReviewSeverity } from './findings.js';

/**
 * The offline reviewer: the rule engine's findings plus heuristics for vague plans, in the reviewer's finding
 * format (each with a verbatim quote of the line it is about), one finding per root cause.
 */

const SEVERITY_OF_RULE: Record<string, ReviewSeverity> = {
  parse: 'critical',
  'front-matter': 'critical',
  'skill-drift': 'high',
  'phase-dependencies': 'high',
  'phase-fields': 'high',
  'state-consistency': 'high',
  scope: 'high',
};

const VAGUE = /\b(TBD|TODO|etc\.?|as needed|and so on|if necessary|as appropriate|various|somehow)\b/i;
// "Notes on the call" names a thing; "Note what the playbook says" is an imperative, and "Note:" a label.
const NOT_A_VERB = /^(?:the|a|an|this|that|these|some|all|any|our|my|its|their|notes|note(?=\s*:)|data|stuff|things?)\b/i;

/**
 * The whole line a finding is about, as its quote; a blank line gives way to the next line with text (else the
 * one before), and the line moves with it, so the quote always stands on the finding's line.
 */
export function quoteLine(lines: string[], line: number): { line: number; quote: string } {
  const at = Math.max(0, Math.min(lines.length - 1, line - 1));
  const order = [...Array.from({ length: lines.length - at }, (_, index) => at + index), ...Array.from({ length: at }, (_, index) => at - 1 - index)];
  const index = order.find((candidate) => lines[candidate]!.trim() !== '') ?? at;
  return { line: index + 1, quote: (lines[index] ?? '').trim() };
}

/** The phase id, or else the section title, that a line belongs to. */
export function sectionAt(plan: Plan, line: number): string {
  const phase = [...plan.phases].reverse().find((candidate) => candidate.heading.start.line <= line && plan.pointAt(candidate.endOffset).line >= line);
  if (phase) return phase.id;
  const section = [...plan.sections].reverse().find((candidate) => candidate.heading.start.line <= line);
  return section ? section.title : 'front matter';
}

/** Whether the plan's front matter could not be read at all (missing, unclosed, broken YAML, not a mapping). */
export function frontMatterUnreadable(plan: Plan): boolean {
  return !plan.frontMatter?.data;
}

/** A fix for a rule's finding that does not carry its own: what to change, at which line of which section. */
function fixFor(finding: Finding, line: number, section: string): string {
  if (finding.fix) return finding.fix;
  const where = `line ${line} (${section})`;
  const key = /`([^`]+)`/.exec(finding.message)?.[1];
  switch (finding.ruleId) {
    case 'parse':
      return `repair ${where} so the file reads as a plan: ${finding.message}`;
    case 'front-matter':
      return key
        ? `set \`${key}\` in the front matter (${where}) to a valid value, as docs/plan-format.md section 1 describes`
        : `repair the front matter at ${where}`;
    case 'iteration-log':
    case 'escape-hatch':
      return `correct the iteration log at ${where}; rows are written only by deepplan run, so restore the row it wrote (docs/rules.md#${finding.ruleId})`;
    case 'phase-file-ops':
      return `split ${section} by entity (one phase per contact or file group) so each touches at most 10 files`;
    case 'phase-count':
      return 'split the largest phases, or merge the smallest, until the count is in range; then recompute budget.max_iterations';
    case 'review-required':
      return 'run `deepplan review` on the plan and approve it only after an APPROVED verdict, or set status back to draft';
    case 'sufficiency':
      return 'add the missing sections from what the requester said (deepplan plan asks the interview questions)';
    default: {
      const rule = ruleById(finding.ruleId);
      return `change ${where} so that: ${rule?.description ?? finding.message} (${docsUrl(finding.ruleId)})`;
    }
  }
}

/** The findings of the rule engine, one per rule and line, each with the whole line it is about as its quote. */
export function lintFindings(plan: Plan, lint: Finding[]): EngineFinding[] {
  const lines = plan.text.split('\n');
  const findings: EngineFinding[] = [];
  const unreadable = frontMatterUnreadable(plan);
  // A plan whose front matter cannot be read is one `parse` finding; the reading errors are its consequences.
  const reading = lint.filter((finding) => finding.ruleId === 'parse' || (unreadable && finding.ruleId === 'front-matter'));
  if (reading.length > 0) {
    const first = reading[0]!;
    const { line, quote } = quoteLine(lines, first.line);
    const section = sectionAt(plan, line);
    findings.push({
      severity: 'critical',
      line,
      section,
      quote,
      rule: 'parse',
      issue: `the plan cannot be parsed: ${first.message} (parse)`,
      fix:
        first.ruleId === 'front-matter'
          ? `repair the front matter's YAML at line ${first.line}: ${first.message.replace(/^YAML: /, '')}; every rule that reads the front matter runs once it parses`
          : fixFor(first, line, section),
      consequences: reading.slice(1).map((finding) => ({ line: finding.line, issue: `${finding.message} (${finding.ruleId})` })),
    });
  }
  for (const finding of lint) {
    if (reading.includes(finding)) continue;
    const severity = SEVERITY_OF_RULE[finding.ruleId] ?? (finding.severity === 'error' ? 'high' : 'low');
    const { line, quote } = quoteLine(lines, finding.line);
    const section = sectionAt(plan, line);
    findings.push({
      severity,
      line,
      section,
      quote,
      rule: finding.ruleId,
      issue: `${finding.message} (${finding.ruleId})`,
      fix: fixFor(finding, line, section),
    });
  }
  return groupByRootCause(findings);
}

/** Causes that make other findings follow: `follows` says which. */
const CAUSES: Array<{ cause: (finding: EngineFinding) => boolean; follows: (finding: EngineFinding) => boolean }> = [
  // A scope.write entry that is not a folder of the repository: the outputs it should have allowed follow.
  {
    cause: (finding) => finding.rule === 'scope' && /^scope\.write "/.test(finding.issue),
    follows: (finding) => finding.rule === 'scope' && /which scope\.write does not allow/.test(finding.issue),
  },
  // No `## Phases` section: nothing can be a phase.
  {
    cause: (finding) => finding.rule === 'sections' && /missing the `## Phases` section/.test(finding.issue),
    follows: (finding) => finding.rule === 'phase-count' || /which is not a phase of this plan/.test(finding.issue),
  },
];

/** What a phase-prefixed message says once its phase reference is taken out (`P3 depends on P9, …` → `depends on P9, …`). */
function subject(finding: EngineFinding): string {
  return finding.issue.replace(/^P\d+[a-z]?(\.\d+)?\s+/, '');
}

/** Moves `other` under `into`; its fix joins into's unless into's fix covers it (a root cause's fix does). */
function absorb(into: EngineFinding, other: EngineFinding, withFix: boolean): void {
  into.consequences = [...(into.consequences ?? []), { line: other.line, issue: other.issue }, ...(other.consequences ?? [])];
  if (SEVERITY_RANK[other.severity] < SEVERITY_RANK[into.severity]) into.severity = other.severity;
  if (withFix && !into.fix.split('; ').includes(other.fix)) into.fix = `${into.fix}; ${other.fix}`;
}

/** Messages that one rule gives for several phases about one missing thing: said once. */
const SHARED_SUBJECT = /which is not a phase of this plan$/;

/**
 * One finding per root cause: findings of one rule on one line are one finding; a finding that makes others follow
 * (a bad scope.write entry and the outputs it no longer allows) carries them as its consequences; one rule saying
 * of several phases that they name a phase that does not exist (`depends on P9, which is not a phase`) says it once.
 */
export function groupByRootCause(findings: EngineFinding[]): EngineFinding[] {
  const result: EngineFinding[] = [];
  const byPlace = new Map<string, EngineFinding>();
  const bySubject = new Map<string, EngineFinding>();
  for (const finding of findings) {
    if (!finding.rule) {
      result.push(finding);
      continue;
    }
    const place = `${finding.rule}\u0000${finding.line}`;
    const shared =
      /^P\d+/.test(finding.issue) && SHARED_SUBJECT.test(finding.issue.replace(/ \([a-z-]+\)$/, '')) ? `${finding.rule}\u0000${subject(finding)}` : null;
    const into = byPlace.get(place) ?? (shared ? bySubject.get(shared) : undefined);
    if (into) {
      absorb(into, finding, true);
      continue;
    }
    const copy = { ...finding, ...(finding.consequences ? { consequences: [...finding.consequences] } : {}) };
    byPlace.set(place, copy);
    if (shared) bySubject.set(shared, copy);
    result.push(copy);
  }
  for (const { cause, follows } of CAUSES) {
    const root = result.find(cause);
    if (!root) continue;
    for (const other of result.filter((candidate) => candidate !== root && follows(candidate))) {
      absorb(root, other, false);
      result.splice(result.indexOf(other), 1);
    }
  }
  for (const finding of result) finding.consequences?.sort((a: Consequence, b: Consequence) => a.line - b.line);
  return result;
}

/** Whether `text` names the folder `path` is in as a whole (`ls sites/denver/ | wc -l`), not only files in it. */
function namesFolderOf(text: string, path: string): boolean {
  const folder = path.slice(0, path.lastIndexOf('/') + 1);
  if (folder === '') return false;
  for (let at = text.indexOf(folder); at !== -1; at = text.indexOf(folder, at + 1)) {
    const before = text[at - 1] ?? ' ';
    const after = text[at + folder.length] ?? ' ';
    if (!/[\w./-]/.test(before) && !/[\w.*?[{-]/.test(after)) return true;
  }
  return false;
}

export function offlineReview(plan: Plan, lint: Finding[]): EngineFinding[] {
  const lines = plan.text.split('\n');
  const findings = lintFindings(plan, lint);
  const add = (severity: ReviewSeverity, at: number, issue: string, fix: string) => {
    const { line, quote } = quoteLine(lines, at);
    findings.push({ severity, line, section: sectionAt(plan, line), quote, issue, fix });
  };
  // Without readable front matter the body is still looked at, but nothing below adds to a plan that cannot run.
  for (const phase of plan.phases) {
    for (const step of phase.steps) {
      const ref = `${phase.id}.${step.index}`;
      if (VAGUE.test(step.text))
        add(
          'medium',
          step.line,
          `${ref} is vague ("${VAGUE.exec(step.text)![0]}"): an agent cannot tell when it is done`,
          `rewrite ${ref} (line ${step.line}): say exactly what to do and to which files`,
        );
      else if (step.kind === 'model' && (NOT_A_VERB.test(step.text) || step.text.split(/\s+/).length < 3)) {
        add(
          'low',
          step.line,
          `${ref} does not start with a verb: it names a thing, not an action`,
          `start ${ref} (line ${step.line}) with what to do ("Write …", "Compare …")`,
        );
      }
    }
    for (const field of phase.fields.values()) {
      if (VAGUE.test(field.value))
        add(
          'medium',
          field.line,
          `${phase.id} ${field.key} is vague ("${VAGUE.exec(field.value)![0]}")`,
          `name the ${field.key.toLowerCase()} of ${phase.id} exactly (line ${field.line})`,
        );
    }
  }

  // Outputs nobody consumes: not read by a later phase, not checked by a criterion, not the last phase's result. A
  // criterion checks the files its verify command names, a glob's among them (`ls articles/*.md | wc -l`).
  const verifies = (plan.criteria ?? []).map((criterion) => criterion.verify ?? '').join('\n');
  const checked = pathsIn(verifies).map((found) => found.path);
  plan.phases.forEach((phase, index) => {
    if (index === plan.phases.length - 1) return;
    const later = plan.phases.slice(index + 1);
    for (const output of phase.outputs) {
      if (!isInsideRepository(output)) continue;
      const base = output.replace(/\*.*$/, '');
      const consumed =
        later.some((other) => other.inputs.some((input) => input === output || input.startsWith(base) || output.startsWith(input.replace(/\*.*$/, '')))) ||
        verifies.includes(base) ||
        checked.some((path) => overlaps(path, output)) ||
        namesFolderOf(verifies, output);
      if (!consumed) {
        const line = phase.fields.get('outputs')?.line ?? phase.heading.start.line;
        add(
          'low',
          line,
          `${phase.id} writes ${output}, which no later phase reads and no criterion checks`,
          `drop ${output} from ${phase.id}'s Outputs, or name it in the Inputs of the phase or the verify of the criterion that uses it`,
        );
      }
    }
  });

  for (const criterion of plan.criteria ?? []) {
    if (criterion.verify === null && !/\d/.test(criterion.text)) {
      const label = criterion.id ?? 'the criterion';
      add(
        'medium',
        criterion.line,
        `${criterion.id ?? 'a criterion'} has no measure: no verify command and no number`,
        `add to ${label} (line ${criterion.line}) a verify command, or a number that says when it is met`,
      );
    }
  }
  return findings;
}

/** The offline reviewer for a document that is not a plan: vague words, line by line. */
export function offlineDocumentReview(plan: Plan): EngineFinding[] {
  const lines = plan.text.split('\n');
  const findings: EngineFinding[] = [];
  lines.forEach((line, index) => {
    const vague = VAGUE.exec(line);
    if (vague)
      findings.push({
        severity: 'medium',
        line: index + 1,
        section: 'document',
        quote: line.trim(),
        issue: `vague: "${vague[0]}"`,
        fix: `say exactly what is meant on line ${index + 1}`,
      });
  });
  return findings;
}
