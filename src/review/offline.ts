import { isInsideRepository } from '../rules/context.js';
import type { Finding } from '../rules/rule.js';
import type { Plan } from '../plan/types.js';
import { MIN_QUOTE_CHARS, type ReviewerFinding, type ReviewSeverity } from './findings.js';

/**
 * The offline reviewer: the rule engine's findings plus heuristics for vague plans, in the reviewer's finding
 * format (each with a verbatim quote of the line it is about).
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
const NOT_A_VERB = /^(the|a|an|this|that|these|some|all|any|our|my|its|their|notes?|data|stuff|things?)\b/i;

/** The document's line, extended with the following lines until the quote is long enough to be checked. */
export function quoteAt(lines: string[], line: number): string {
  let index = Math.max(0, Math.min(lines.length - 1, line - 1));
  let quote = lines[index]!.trim();
  while (quote.length < MIN_QUOTE_CHARS && index + 1 < lines.length) {
    index++;
    quote = `${quote} ${lines[index]!.trim()}`.trim();
  }
  return quote;
}

/** The phase id, or else the section title, that a line belongs to. */
export function sectionAt(plan: Plan, line: number): string {
  const phase = [...plan.phases].reverse().find((candidate) => candidate.heading.start.line <= line && plan.pointAt(candidate.endOffset).line >= line);
  if (phase) return phase.id;
  const section = [...plan.sections].reverse().find((candidate) => candidate.heading.start.line <= line);
  return section ? section.title : 'front matter';
}

export function offlineReview(plan: Plan, lint: Finding[]): ReviewerFinding[] {
  const lines = plan.text.split('\n');
  const findings: ReviewerFinding[] = [];
  const add = (severity: ReviewSeverity, line: number, issue: string, fix: string) =>
    findings.push({ severity, line, section: sectionAt(plan, line), quote: quoteAt(lines, line), issue, fix });

  for (const finding of lint) {
    const severity = SEVERITY_OF_RULE[finding.ruleId] ?? (finding.severity === 'error' ? 'high' : 'low');
    add(severity, finding.line, `${finding.message} (${finding.ruleId})`, `make the plan pass the ${finding.ruleId} rule (docs/rules.md#${finding.ruleId})`);
  }

  for (const phase of plan.phases) {
    for (const step of phase.steps) {
      if (VAGUE.test(step.text)) add('medium', step.line, `${phase.id}.${step.index} is vague ("${VAGUE.exec(step.text)![0]}"): an agent cannot tell when it is done`, 'say exactly what to do and to which files');
      else if (step.kind === 'model' && (NOT_A_VERB.test(step.text) || step.text.split(/\s+/).length < 3)) {
        add('low', step.line, `${phase.id}.${step.index} does not start with a verb: it names a thing, not an action`, 'start the step with what to do ("Write …", "Compare …")');
      }
    }
    for (const field of phase.fields.values()) {
      if (VAGUE.test(field.value)) add('medium', field.line, `${phase.id} ${field.key} is vague ("${VAGUE.exec(field.value)![0]}")`, `name the ${field.key.toLowerCase()} exactly`);
    }
  }

  // Outputs nobody consumes: not read by a later phase, not checked by a criterion, not the last phase's result.
  const verifies = (plan.criteria ?? []).map((criterion) => criterion.verify ?? '').join('\n');
  plan.phases.forEach((phase, index) => {
    if (index === plan.phases.length - 1) return;
    const later = plan.phases.slice(index + 1);
    for (const output of phase.outputs) {
      if (!isInsideRepository(output)) continue;
      const base = output.replace(/\*.*$/, '');
      const consumed = later.some((other) => other.inputs.some((input) => input === output || input.startsWith(base) || output.startsWith(input.replace(/\*.*$/, '')))) || verifies.includes(base);
      if (!consumed) {
        const line = phase.fields.get('outputs')?.line ?? phase.heading.start.line;
        add('low', line, `${phase.id} writes ${output}, which no later phase reads and no criterion checks`, 'drop the output, or say which phase or criterion uses it');
      }
    }
  });

  for (const criterion of plan.criteria ?? []) {
    if (criterion.verify === null && !/\d/.test(criterion.text)) {
      add('medium', criterion.line, `${criterion.id ?? 'a criterion'} has no measure: no verify command and no number`, 'add a verify command, or a number that says when it is met');
    }
  }
  return findings;
}

/** The offline reviewer for a document that is not a plan: vague words, line by line. */
export function offlineDocumentReview(plan: Plan): ReviewerFinding[] {
  const lines = plan.text.split('\n');
  const findings: ReviewerFinding[] = [];
  lines.forEach((line, index) => {
    const vague = VAGUE.exec(line);
    if (vague) findings.push({ severity: 'medium', line: index + 1, section: 'document', quote: quoteAt(lines, index + 1), issue: `vague: "${vague[0]}"`, fix: 'say exactly what is meant' });
  });
  return findings;
}
