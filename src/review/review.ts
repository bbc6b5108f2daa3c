import { createHash } from 'node:crypto';
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
import { locateQuote, resolvedSince, ReviewerAnswer, verdictOf, verifyFindings, type EngineFinding, type ReviewFinding } from './findings.js';
import { frontMatterUnreadable, lintFindings, offlineDocumentReview, offlineReview } from './offline.js';
import { pathSlug } from '../pipeline/draft.js';
import { basename, isAbsolute, relative, sep } from 'node:path';
import { mappedSkillContracts } from '../pipeline/context.js';

/** The format name of a reviewer's answer (the review prompts' `schema:`): what ModelRunner.answers is asked about. */
export const REVIEW_FORMAT = 'review';
/** The format name of the planner's revision after a REVISE (prompts/review/revise.md `schema:`). */
export const REVISION_FORMAT = 'revision';

/** A deepplan plan file: its front matter names the format version. */
export function isPlanDocument(plan: Plan): boolean {
  const data = plan.frontMatter?.data;
  return data !== null && data !== undefined && 'deepplan' in data;
}

/**
 * A document that is meant as a deepplan plan even when it cannot be read as one: a `deepplan:` key in front matter
 * that does not parse, a `# Plan:` heading, or phases (`### P1. …`) under `## Phases`. Such a document is reviewed
 * as a plan, and a front matter that does not parse is a `parse` finding, never an article.
 */
export function looksLikePlan(plan: Plan): boolean {
  if (isPlanDocument(plan)) return true;
  const text = plan.text;
  const lines = text.split('\n', 400);
  if (/^---\s*$/.test(lines[0] ?? '')) {
    const close = lines.findIndex((line, index) => index > 0 && /^(---|\.\.\.)\s*$/.test(line));
    if (lines.slice(1, close === -1 ? lines.length : close).some((line) => /^deepplan\s*:/.test(line))) return true;
  }
  if (/^#[ \t]+Plan:/m.test(text)) return true;
  const phases = /^##[ \t]+Phases[ \t]*$/im.test(text) && /^###[ \t]+P\d+[a-z]?\.[ \t]/m.test(text);
  const planSections = [/^##[ \t]+Success criteria/im, /^##[ \t]+Iteration log/im, /^##[ \t]+Skills/im].filter((pattern) => pattern.test(text)).length;
  return phases || planSections >= 2;
}

export type DocumentType = 'plan' | 'outreach email' | 'article' | 'code' | 'other';

/** Which review prompt fits a document. */
export function detectDocumentType(path: string, text: string, plan: Plan | null): DocumentType {
  if (plan && looksLikePlan(plan)) return 'plan';
  if (/\.(ts|js|mjs|py|go|rs|java|rb|sh|sql)$/i.test(path)) return 'code';
  if (/^(subject|to|from):/im.test(text.slice(0, 500)) || /\.(eml|html)$/i.test(path)) return 'outreach email';
  if (/^#\s/m.test(text)) return 'article';
  return 'other';
}

/**
 * A digest of what a plan says, leaving out what the engine itself writes (the review block, state, status, the
 * phases' Status fields, ticked boxes and the iteration log): a plan whose digest differs from its last round's has
 * been changed by someone since, and may start a new review cycle.
 */
export function contentDigest(plan: Plan): string {
  const hash = createHash('sha256');
  const data = plan.frontMatter?.data;
  const bodyStart = plan.frontMatter ? plan.text.indexOf('\n', plan.frontMatter.contentEnd) + 1 : 0;
  if (data) {
    const { review: _review, state: _state, status: _status, ...rest } = data;
    hash.update(stableJson(rest));
  } else {
    hash.update(plan.text.slice(0, bodyStart));
  }
  let body = plan.text.slice(bodyStart);
  const log = plan.sections.find((section) => section.key === 'iteration log');
  if (log) body = plan.text.slice(bodyStart, Math.max(bodyStart, log.heading.start.offset)) + plan.text.slice(log.endOffset);
  body = body.replace(/^(\s*[-*+]\s+\[)[ xX](\])/gm, '$1 $2').replace(/^(\s*[-*+]\s+Status:).*$/gim, '$1');
  hash.update('\u0000');
  hash.update(body);
  return hash.digest('hex').slice(0, 16);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface ReviewRound {
  round: number;
  /** Review cycles of 3 rounds: a plan changed after its third round starts the next cycle at round 1. */
  cycle: number;
  path: string;
  planId: string;
  reviewer: string;
  planner: string;
  documentType: DocumentType;
  verdict: 'APPROVED' | 'REVISE';
  /** What the reviewer model said, when it differs from the engine's verdict (which wins). */
  modelVerdict: 'APPROVED' | 'REVISE' | null;
  findings: ReviewFinding[];
  /** The round the findings are compared with, when there is one. */
  previousRound: { cycle: number; round: number } | null;
  /** Numbers of the previous round's findings that no longer stand. */
  resolved: number[];
  warning: string | null;
  /** contentDigest of the plan as this round reviewed it. */
  digest: string;
  /** The text the round reviewed (not written to the reports): the findings' lines are lines of it. */
  documentText?: string;
}

export class ReviewError extends Error {
  override name = 'ReviewError';
}

function facts(plan: Plan, root: string): string {
  const context = contextForRoot(root);
  const lines = plan.phases.map(
    (phase) =>
      `- ${phase.id}: ${measureInputs(phase, context).lines} input lines, context ${phase.context ?? 'unset'}, ${countFileOperations(phase, context)} file operations, ${phase.steps.length} step(s)`,
  );
  return [
    `${plan.phases.length} phases, ${plan.criteria?.length ?? 0} criteria, budget ${plan.meta.budget?.max_iterations ?? '?'} iterations (${plan.meta.budget?.basis ?? '?'})`,
    ...lines,
  ].join('\n');
}

/** The contracts of the skills the plan maps, so the reviewer can catch an output a skill never writes. */
function reviewerSkills(plan: Plan, root: string): string {
  return mappedSkillContracts(
    (plan.skills?.mapped ?? []).map((skill) => skill.name),
    contextForRoot(root).skills(),
  );
}

/** The document's path as the reviewer sees it: relative to the repository, never a path of the user's machine. */
function promptPath(root: string, path: string): string {
  const shown = relative(root, path).split(sep).join('/');
  return shown && !shown.startsWith('..') && !isAbsolute(shown) ? shown : basename(path);
}

/** The review cycle a plan is in: its review block's `cycle`, 1 when it has none. */
export function reviewCycleOf(plan: Plan): number {
  const cycle = (plan.meta.review as { cycle?: unknown } | undefined)?.cycle;
  return typeof cycle === 'number' && Number.isInteger(cycle) && cycle >= 1 ? cycle : 1;
}

/** The plan's id: from its front matter, else from an `id:` line of front matter that does not parse, else its path. */
export function planIdOf(plan: Plan, root: string, path: string): string {
  if (plan.meta.id) return plan.meta.id;
  const written = /^id:[ \t]*["']?([a-z0-9][a-z0-9-]{0,63})["']?[ \t]*$/m.exec(plan.text.split(/^---\s*$/m, 3)[1] ?? '');
  return written?.[1] ?? pathSlug(relative(root, path));
}

/** review-required's findings that a review round itself resolves: no review block yet, or a REVISE verdict. */
const AWAITS_REVIEW = /has no `review:` block|but the review verdict is /;

export interface RoundOptions {
  round: number;
  cycle?: number;
  /** The round before this one (in this cycle, or the last of the cycle before), to tell what was resolved. */
  previous: ReviewRound | null;
}

/**
 * One review round of a plan: the reviewer model from another provider, or the offline reviewer. A plan with lint
 * errors is never APPROVED; a plan that cannot be parsed is reviewed by the rules alone (a `parse` finding), never
 * sent to a model as another kind of document.
 */
export async function reviewPlan(path: string, root: string, models: ModelRunner, options: RoundOptions): Promise<ReviewRound> {
  const { round, previous } = options;
  const plan = await readPlanFile(path);
  const fatal = plan.diagnostics.find((diagnostic) => diagnostic.ruleId === 'parse');
  const documentType = detectDocumentType(path, plan.text, plan);
  // Not text at all, or not a plan: nothing to quote. A plan that is too large or nested too deep is a `parse` finding.
  if (fatal && (plan.text === '' || documentType !== 'plan')) throw new ReviewError(`${path} cannot be read: ${fatal.message}`);
  const isPlan = documentType === 'plan';
  // The review settles what review-required asks for (a review block with an APPROVED verdict), so that part of
  // the rule is not held against the plan by the review itself.
  const lint = isPlan
    ? lintPlan(plan, contextFor(path)).filter((finding) => !(finding.ruleId === 'review-required' && AWAITS_REVIEW.test(finding.message)))
    : [];
  const unparsable = isPlan && (fatal !== undefined || frontMatterUnreadable(plan));
  const roles = models.roles;
  const base = {
    round,
    cycle: options.cycle ?? 1,
    path,
    planId: planIdOf(plan, root, path),
    planner: roles.planner.configured,
    documentType,
    warning: null as string | null,
    digest: contentDigest(plan),
    documentText: plan.text,
    previousRound: previous ? { cycle: previous.cycle ?? 1, round: previous.round } : null,
  };

  let raw: EngineFinding[];
  let reviewer: string;
  let modelVerdict: 'APPROVED' | 'REVISE' | null = null;
  // The rules and heuristics review alone when the reviewer's model does not review (the offline engine does not),
  // and a plan that cannot be parsed, which no model is sent.
  const modelReviews = models.answers('reviewer', REVIEW_FORMAT);
  if (!modelReviews || unparsable) {
    raw = isPlan ? offlineReview(plan, lint) : offlineDocumentReview(plan);
    reviewer = 'offline/rules';
    if (unparsable && modelReviews)
      base.warning = `${relative(root, path) || path} cannot be parsed as a plan; it was reviewed by the rules alone and not sent to ${roles.reviewer.configured}`;
  } else {
    const check = checkReviewerProvider(roles, models.config);
    if (check.error) throw new ReviewError(check.error);
    base.warning = check.warning;
    const prompt = loadPrompt(`review/${documentType.replace(' ', '-')}`, root);
    const answer = await models.generateObject(prompt.role, {
      name: prompt.schema,
      schema: ReviewerAnswer,
      prompt: fillPlaceholders(prompt.body, {
        lint:
          lint.length > 0 ? lint.map((finding) => `- line ${finding.line}: ${finding.severity} ${finding.message} (${finding.ruleId})`).join('\n') : '(none)',
        facts: isPlan ? facts(plan, root) : '',
        skills: isPlan ? reviewerSkills(plan, root) : '',
        path: promptPath(root, path),
        document: plan.text
          .split('\n')
          .map((line, index) => `${String(index + 1).padStart(4)}  ${line}`)
          .join('\n'),
      }),
      maxTokens: 8000,
    });
    // The rules' errors stand whatever the model says: each one the model did not raise on its line is added.
    const said = new Set(answer.object.findings.map((finding) => locateQuote(plan.text, finding.quote, finding.line)).filter((line) => line !== null));
    const errors = lintFindings(
      plan,
      lint.filter((finding) => finding.severity === 'error'),
    ).filter((finding) => !said.has(finding.line));
    raw = [...answer.object.findings, ...errors];
    reviewer = answer.model;
    modelVerdict = answer.object.verdict;
  }
  const findings = verifyFindings(plan.text, raw);
  const blocked = unparsable || lint.some((finding) => finding.severity === 'error');
  const verdict = blocked ? 'REVISE' : verdictOf(findings);
  const resolved = previous ? resolvedSince(previous.findings, findings) : [];
  return { ...base, reviewer, verdict, modelVerdict: modelVerdict === verdict ? null : modelVerdict, findings, resolved };
}

/** Where a round's reports are: reviews/<plan-id>/round-<n>.json, and under cycle-<c>/ from the second cycle on. */
export function roundFolder(root: string, planId: string, cycle = 1): string {
  return cycle > 1 ? join(root, 'reviews', planId, `cycle-${cycle}`) : join(root, 'reviews', planId);
}

export function readPreviousRound(root: string, planId: string, round: number, cycle = 1): ReviewRound | null {
  const path = join(roundFolder(root, planId, cycle), `round-${round}.json`);
  if (!existsSync(path)) return null;
  try {
    const read = JSON.parse(readFileSync(path, 'utf8')) as ReviewRound;
    return { ...read, cycle: read.cycle ?? cycle, findings: Array.isArray(read.findings) ? read.findings : [] };
  } catch {
    return null;
  }
}
