import { createTwoFilesPatch } from 'diff';
import { z } from 'zod';
import type { ModelRunner } from '../models/runner.js';
import { fillPlaceholders, loadPrompt } from '../pipeline/prompts.js';
import { parsePlan } from '../plan/parse.js';
import type { ReviewFinding } from './findings.js';

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
}

/**
 * Applies the planner's edits surgically: each replaces one passage that must stand exactly once in the plan.
 * An edit that would leave the plan unreadable is skipped; nothing else in the file changes.
 */
export function applyRevision(path: string, original: string, revision: Revision): AppliedRevision {
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
  return { text, applied, skipped, diff: text === original ? '' : createTwoFilesPatch(path, path, original, text, 'before', 'revised') };
}

/** Asks the planner model for edits that address the verified findings. */
export async function requestRevision(models: ModelRunner, root: string, planText: string, findings: ReviewFinding[]): Promise<Revision> {
  const prompt = loadPrompt('review/revise', root);
  const open = findings.filter((finding) => finding.verified);
  const answer = await models.generateObject(prompt.role, {
    name: prompt.schema,
    schema: Revision,
    prompt: fillPlaceholders(prompt.body, {
      findings: open.map((finding) => `${finding.number}. ${finding.severity}, ${finding.section}, line ${finding.line}: ${finding.issue}\n   quote: ${finding.quote}\n   fix: ${finding.fix}`).join('\n'),
      document: planText,
    }),
    maxTokens: 8000,
  });
  return answer.object;
}
