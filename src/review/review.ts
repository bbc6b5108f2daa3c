import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contextFor, contextForRoot, lintPlan } from '../lint/lint.js';
import type { ModelRunner } from '../models/runner.js';
import { checkReviewerProvider } from '../models/roles.js';
import { fillPlaceholders, loadPrompt } from '../pipeline/prompts.js';
import { readPlanFile } from '../plan/store.js';
import type { Plan } from '../plan/types.js';
import { countFileOperations } from '../rules/phase-file-ops.js';
import { measureInputs } from '../rules/phase-context-mode.js';
import { ReviewerAnswer, verdictOf, verifyFindings, type ReviewFinding } from './findings.js';
import { offlineDocumentReview, offlineReview } from './offline.js';
import { pathSlug } from '../pipeline/draft.js';
import { relative } from 'node:path';

/** A deepplan plan file: its front matter names the format version. */
export function isPlanDocument(plan: Plan): boolean {
  const data = plan.frontMatter?.data;
  return data !== null && data !== undefined && 'deepplan' in data;
}

export type DocumentType = 'plan' | 'outreach email' | 'article' | 'code' | 'other';

/** Which review prompt fits a document. */
export function detectDocumentType(path: string, text: string, plan: Plan | null): DocumentType {
  if (plan && isPlanDocument(plan)) return 'plan';
  if (/\.(ts|js|mjs|py|go|rs|java|rb|sh|sql)$/i.test(path)) return 'code';
  if (/^(subject|to|from):/im.test(text.slice(0, 500)) || /\.(eml|html)$/i.test(path)) return 'outreach email';
  if (/^#\s/m.test(text)) return 'article';
  return 'other';
}

export interface ReviewRound {
  round: number;
  path: string;
  planId: string;
  reviewer: string;
  planner: string;
  documentType: DocumentType;
  verdict: 'APPROVED' | 'REVISE';
  /** What the reviewer model said, when it differs from the engine's verdict (which wins). */
  modelVerdict: 'APPROVED' | 'REVISE' | null;
  findings: ReviewFinding[];
  /** Numbers of the previous round's findings that no longer stand. */
  resolved: number[];
  warning: string | null;
}

export class ReviewError extends Error {
  override name = 'ReviewError';
}

function facts(plan: Plan, root: string): string {
  const context = contextForRoot(root);
  const lines = plan.phases.map((phase) => `- ${phase.id}: ${measureInputs(phase, context).lines} input lines, context ${phase.context ?? 'unset'}, ${countFileOperations(phase, context)} file operations, ${phase.steps.length} step(s)`);
  return [`${plan.phases.length} phases, ${plan.criteria?.length ?? 0} criteria, budget ${plan.meta.budget?.max_iterations ?? '?'} iterations (${plan.meta.budget?.basis ?? '?'})`, ...lines].join('\n');
}

/** One review round of a plan: the reviewer model from another provider, or the offline reviewer. */
export async function reviewPlan(path: string, root: string, models: ModelRunner, round: number, previous: ReviewRound | null): Promise<ReviewRound> {
  const plan = await readPlanFile(path);
  const fatal = plan.diagnostics.find((diagnostic) => diagnostic.ruleId === 'parse');
  if (fatal) throw new ReviewError(`${path} cannot be read: ${fatal.message}`);
  const isPlan = isPlanDocument(plan);
  const lint = isPlan ? lintPlan(plan, contextFor(path)) : [];
  const documentType = detectDocumentType(path, plan.text, plan);
  const roles = models.roles;
  const base = {
    round,
    path,
    planId: plan.meta.id ?? pathSlug(relative(root, path)),
    planner: roles.planner.configured,
    documentType,
    warning: null as string | null,
  };

  let raw;
  let reviewer: string;
  let modelVerdict: 'APPROVED' | 'REVISE' | null = null;
  if (roles.reviewer.provider === 'offline') {
    raw = isPlan ? offlineReview(plan, lint) : offlineDocumentReview(plan);
    reviewer = 'offline/rules';
  } else {
    const check = checkReviewerProvider(roles, models.config);
    if (check.error) throw new ReviewError(check.error);
    base.warning = check.warning;
    const prompt = loadPrompt(`review/${documentType.replace(' ', '-')}`, root);
    const answer = await models.generateObject(prompt.role, {
      name: prompt.schema,
      schema: ReviewerAnswer,
      prompt: fillPlaceholders(prompt.body, {
        lint: lint.length > 0 ? lint.map((finding) => `- line ${finding.line}: ${finding.severity} ${finding.message} (${finding.ruleId})`).join('\n') : '(none)',
        facts: isPlan ? facts(plan, root) : '',
        path,
        document: plan.text.split('\n').map((line, index) => `${String(index + 1).padStart(4)}  ${line}`).join('\n'),
      }),
      maxTokens: 8000,
    });
    raw = answer.object.findings;
    reviewer = answer.model;
    modelVerdict = answer.object.verdict;
  }
  const findings = verifyFindings(plan.text, raw);
  const verdict = verdictOf(findings);
  const resolved = (previous?.findings ?? []).filter((finding) => finding.verified && !findings.some((current) => current.verified && current.quote === finding.quote && current.issue === finding.issue)).map((finding) => finding.number);
  return { ...base, reviewer, verdict, modelVerdict: modelVerdict === verdict ? null : modelVerdict, findings, resolved };
}

export function readPreviousRound(root: string, planId: string, round: number): ReviewRound | null {
  const path = join(root, 'reviews', planId, `round-${round}.json`);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ReviewRound;
  } catch {
    return null;
  }
}
