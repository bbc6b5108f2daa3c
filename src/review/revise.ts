import { join, relative } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import * as z from 'zod';
import { actionsOf, budgetArithmetic, budgetFor, calibrationFor, coefficientsFor } from '../calibration/calibration.js';
import { lintText } from '../lint/lint.js';
import type { ModelRunner } from '../models/runner.js';
import { fillPlaceholders, loadPrompt } from '../pipeline/prompts.js';
import { formatRepairFinding, MAX_REPAIR_TURNS, type RepairFinding } from '../pipeline/generate.js';
import { parsePlan } from '../plan/parse.js';
import { setFrontMatterValue } from '../plan/update.js';
import type { Finding } from '../rules/rule.js';
import { normalizeQuote, type ReviewFinding } from './findings.js';

export const Revision = z.object({
  edits: z.array(z.object({ finding: z.number().int(), find: z.string(), replace: z.string() })),
});
export type Revision = z.infer<typeof Revision>;

export interface AppliedRevision {
  text: string;
  applied: number[];
  /** Edits that could not be applied, with why. */
  skipped: string[];
  diff: string;
  /** The budget recomputed for the revised plan (its arithmetic), when the edits changed it; null otherwise. */
  budget: string | null;
}

/** A revision whose edits leave the plan with lint errors after the repair turns; the message lists them, one a line. */
export class RevisionError extends Error {
  override name = 'RevisionError';
}

export interface ApplyOptions {
  /** Repository root: with it, the iteration budget is recomputed for the revised plan (calibration/ and the formula). */
  root?: string;
}

/**
 * The budget a plan needs, and its arithmetic, from the calibration of its repository (the same computation as the
 * planning pipeline's budget phase).
 */
function requiredBudget(text: string, root: string): { maxIterations: number; arithmetic: string; basis: 'formula' | 'calibrated' } | null {
  const plan = parsePlan(text);
  if (!plan.frontMatter?.data) return null;
  const { coefficients, basis } = coefficientsFor(calibrationFor(root), plan.meta.deliverable);
  const criteria = plan.criteria?.length ?? 0;
  const actions = actionsOf(plan.phases);
  return {
    maxIterations: budgetFor(coefficients, plan.phases.length, criteria, actions),
    arithmetic: budgetArithmetic(coefficients, plan.phases.length, criteria, actions),
    basis,
  };
}

/**
 * The budget after edits: recomputed when the plan's budget was the computed one before the edits (or is now too
 * small); a budget a person raised above the computed one stays.
 */
function recomputeBudget(original: string, revised: string, root: string): { text: string; arithmetic: string | null } {
  const before = requiredBudget(original, root);
  const after = requiredBudget(revised, root);
  const current = parsePlan(revised).meta.budget?.max_iterations;
  if (!before || !after || typeof current !== 'number' || current === after.maxIterations) return { text: revised, arithmetic: null };
  if (current !== before.maxIterations && current > after.maxIterations) return { text: revised, arithmetic: null };
  let text = setFrontMatterValue(revised, ['budget', 'max_iterations'], after.maxIterations);
  text = setFrontMatterValue(text, ['budget', 'basis'], after.basis);
  if (parsePlan(revised).frontMatter?.data?.['budget'] && 'arithmetic' in (parsePlan(revised).frontMatter!.data!['budget'] as object)) {
    text = setFrontMatterValue(text, ['budget', 'arithmetic'], after.arithmetic);
  }
  return { text, arithmetic: after.arithmetic };
}

/**
 * Applies the planner's edits surgically: each replaces one passage that must stand exactly once in the plan.
 * An edit that would leave the plan unreadable is skipped; nothing else in the file changes, except the budget,
 * recomputed (with `root`) when the edits change the phases, steps, gates or criteria it counts.
 */
export function applyRevision(path: string, original: string, revision: Revision, options: ApplyOptions = {}): AppliedRevision {
  let text = original;
  const applied: number[] = [];
  const skipped: string[] = [];
  for (const edit of revision.edits) {
    const at = edit.find.length >= 20 ? text.indexOf(edit.find) : -1;
    if (at === -1 || text.indexOf(edit.find, at + 1) !== -1) {
      skipped.push(`finding ${edit.finding}: the passage to replace is not in the plan exactly once`);
      continue;
    }
    const next = text.slice(0, at) + edit.replace + text.slice(at + edit.find.length);
    if (parsePlan(next).diagnostics.some((diagnostic) => diagnostic.severity === 'error')) {
      skipped.push(`finding ${edit.finding}: the edit would leave the plan unreadable`);
      continue;
    }
    text = next;
    applied.push(edit.finding);
  }
  let budget: string | null = null;
  if (options.root && text !== original) {
    const recomputed = recomputeBudget(original, text, options.root);
    text = recomputed.text;
    budget = recomputed.arithmetic;
  }
  return { text, applied, skipped, diff: text === original ? '' : createTwoFilesPatch(path, path, original, text, 'before', 'revised'), budget };
}

/**
 * The passage the engine located for a finding: the plan's own whole lines from the line the quote was found on, as
 * many as the quote covers (the reviewer's quote may differ in case, spacing or Markdown escapes).
 */
export function locatedPassage(planText: string, finding: Pick<ReviewFinding, 'quote' | 'line'>): string {
  const lines = planText.split('\n');
  const start = Math.max(0, Math.min(lines.length - 1, finding.line - 1));
  const wanted = normalizeQuote(finding.quote);
  const taken: string[] = [];
  for (let index = start; index < lines.length && taken.length < 8; index++) {
    taken.push(lines[index]!);
    const joined = normalizeQuote(taken.join('\n'));
    if (joined.includes(wanted) || joined.length >= wanted.length + 200) break;
  }
  return taken.join('\n');
}

function errorKey(finding: Finding): string {
  return `${finding.ruleId}\u0000${finding.message}`;
}

export interface RevisionOptions {
  /** The plan's path (absolute): its repository's rules lint the revised plan. */
  path?: string;
  /** One line for each repair turn. */
  progress?: (line: string) => void;
}

/**
 * Asks the planner model for edits that address the verified findings. The edits are applied to a copy and linted;
 * edits that leave lint errors go back to the planner with the findings, for up to MAX_REPAIR_TURNS turns. Edits that
 * still add lint errors after that are refused (RevisionError, the findings one a line).
 */
export async function requestRevision(
  models: ModelRunner,
  root: string,
  planText: string,
  findings: ReviewFinding[],
  options: RevisionOptions = {},
): Promise<Revision> {
  const prompt = loadPrompt('review/revise', root);
  const open = findings.filter((finding) => finding.verified);
  const path = options.path ?? join(root, 'plans', 'revision.md');
  const shown = relative(root, path).split('\\').join('/');
  const messages: Array<{ role: 'user' | 'assistant'; content: string }> = [
    {
      role: 'user',
      content: fillPlaceholders(prompt.body, {
        findings: open
          .map((finding) => {
            const passage = locatedPassage(planText, finding);
            const quoted = passage
              .split('\n')
              .map((line) => `   > ${line}`)
              .join('\n');
            return `${finding.number}. ${finding.severity}, ${finding.section}, line ${finding.line}: ${finding.issue}\n   the passage (line ${finding.line} of the plan):\n${quoted}\n   fix: ${finding.fix}`;
          })
          .join('\n'),
        document: planText,
      }),
    },
  ];
  const originalErrors = new Set(
    lintText(planText, path)
      .filter((finding) => finding.severity === 'error')
      .map(errorKey),
  );
  for (let turn = 0; ; turn++) {
    const answer = await models.generateObject(prompt.role, { name: prompt.schema, schema: Revision, messages: [...messages], maxTokens: 8000 });
    const revised = applyRevision(shown, planText, answer.object, { root });
    const errors = lintText(revised.text, path).filter((finding) => finding.severity === 'error');
    if (errors.length === 0) return answer.object;
    const lines = revised.text.split('\n');
    const problems: RepairFinding[] = errors.map((finding) => ({
      rule: finding.ruleId,
      line: finding.line,
      message: finding.message,
      ...(finding.fix ? { fix: finding.fix } : {}),
      ...(lines[finding.line - 1]?.trim() ? { text: lines[finding.line - 1]! } : {}),
    }));
    const added = errors.filter((finding) => !originalErrors.has(errorKey(finding)));
    if (turn >= MAX_REPAIR_TURNS) {
      // Errors the plan had before are the next round's to find; errors the edits add are refused.
      if (added.length === 0) return answer.object;
      throw new RevisionError(
        `the planner's revision still leaves ${added.length} lint error(s) after ${turn} repair turn(s); the plan is unchanged:\n${problems
          .filter((problem) => added.some((finding) => finding.line === problem.line && finding.ruleId === problem.rule))
          .map((problem) => `  - ${formatRepairFinding(problem)}`)
          .join('\n')}`,
      );
    }
    options.progress?.(
      `  repair turn ${turn + 1} of ${MAX_REPAIR_TURNS}: the revised plan has ${errors.length} lint error(s) (${[...new Set(errors.map((finding) => finding.ruleId))].join(', ')}); back to the planner`,
    );
    messages.push(
      { role: 'assistant', content: JSON.stringify(answer.object) },
      {
        role: 'user',
        content: [
          `deepplan applied those edits to a copy and linted it: ${errors.length} error(s) remain (lines of the revised plan):`,
          ...problems.map((problem) => `- ${formatRepairFinding(problem)}`),
          'Answer again with the complete list of edits, each against the plan as it was before any edit, that addresses the findings and leaves none of these errors.',
        ].join('\n'),
      },
    );
  }
}
