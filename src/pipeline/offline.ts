import { globSync } from 'tinyglobby';
import { PipelineError } from './errors.js';
import { requestFacts, type QualityBar, type Question } from './sufficiency.js';
import { chooseTemplate, entityFolderFor, loadTemplate, templateJobs } from './templates.js';

/*
 * What the offline planner takes from the request before it fills a template: which template fits (or a clear
 * refusal when none does), the interview questions about the job and the entity when the request does not say,
 * and the request's own constraints, approver and quality bar for the plan.
 */

/**
 * The planner's answers (format names: the prompts' `schema:`) that the offline planner gives itself when the
 * planner's model does not (ModelRunner.answers): the workstream by keywords, the plan from a template.
 */
export const WORKSTREAM_FORMAT = 'workstream';
export const PLAN_DRAFT_FORMAT = 'plan_draft';

/** The one line that says what the offline planner needs when no template fits the request. */
export function declineLine(request: string): string {
  const words = request.trim().split(/\s+/).slice(0, 8).join(' ');
  return `no offline template fits "${words}${request.trim().split(/\s+/).length > 8 ? ' …' : ''}": set a model key (ANTHROPIC_API_KEY, OPENAI_API_KEY or GEMINI_API_KEY) for the planner model, or add a template for this work at plans/templates/<workstream>.yaml with match: {job, words} (see docs/providers.md, The offline engine)`;
}

/**
 * The template for the request: the one whose match words fit it best (a job the interview answered picks its
 * template directly). null when none fits and a planner model will plan; when the template must plan (`mustFit`: no
 * planner model), a request no template fits is refused with declineLine.
 */
export function offlineTemplateFor(request: string, root: string, mustFit: boolean, job?: string): string | null {
  if (job) {
    const named = templateJobs(root).find((entry) => entry.job === job || entry.name === job);
    if (named) return named.name;
  }
  const best = chooseTemplate(job ? `${request}\n${job}` : request, root);
  if (best) return best.name;
  if (mustFit) throw new PipelineError(declineLine(request));
  return null;
}

/** Whether a template works per entity (an `each: {files}` phase with no one-phase `otherwise` form). */
function needsEntities(name: string, root: string): boolean {
  try {
    return loadTemplate(name, root).phases.some((phase) => typeof phase.each === 'object' && !phase.otherwise);
  } catch {
    return false;
  }
}

/** Folders of two or more like files, most files first: the candidates for "which entities". */
function candidateFolders(root: string): string[] {
  const counts = new Map<string, number>();
  const files = globSync(['**/*.{yaml,yml,json,md,csv,txt,html}'], {
    cwd: root,
    onlyFiles: true,
    deep: 4,
    ignore: [
      '**/node_modules/**',
      '.git/**',
      '.deepplan/**',
      'plans/**',
      'reviews/**',
      'prompts/**',
      'calibration/**',
      '.claude/**',
      '.agents/**',
      'skills/**',
      '.github/**',
      'dist/**',
    ],
  });
  for (const file of files.slice(0, 20_000)) {
    const slash = file.lastIndexOf('/');
    if (slash > 0) counts.set(file.slice(0, slash), (counts.get(file.slice(0, slash)) ?? 0) + 1);
  }
  return [...counts.entries()]
    .filter(([, count]) => count >= 2)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 5)
    .map(([folder]) => `${folder}/`);
}

/**
 * The questions about the job and the entity: "what is the job" when no template fits the request, "which account
 * or entity" when the work is per entity (or the job is unknown) and the request names no folder of them.
 */
export function jobAndEntityQuestions(request: string, root: string): Question[] {
  const questions: Question[] = [];
  const best = chooseTemplate(request, root);
  if (!best) {
    const jobs = templateJobs(root).map((entry) => entry.job);
    questions.push({
      id: 'job',
      part: 'success criteria',
      text: `What is the job, in a few words? (The offline planner knows: ${jobs.map((job) => job.split(' (')[0]!.toLowerCase()).join('; ')}.)`,
      options: [],
      recommended: null,
      impact: 7,
    });
  }
  if ((!best || needsEntities(best.name, root)) && entityFolderFor(root, request) === null) {
    const folders = candidateFolders(root);
    questions.push({
      id: 'entity',
      part: 'stakeholders',
      text: 'Which account or entities is it for? Name the account, or the folder with one file per entity (account, deal, article, page).',
      options: folders.length >= 2 ? folders : [],
      recommended: null,
      impact: 6,
    });
  }
  return questions;
}

/** The request with the interview's answers about the job and the entity, for choosing and filling the template. */
export function requestWithAnswers(request: string, answered: Map<string, string>): string {
  const extra = [answered.has('job') ? `Job: ${answered.get('job')}` : '', answered.has('entity') ? `For: ${answered.get('entity')}` : ''].filter(Boolean);
  return extra.length > 0 ? `${request.trim()}\n${extra.join('\n')}` : request;
}

/** The plan's constraints: the request's own (labelled or not, one per item), else the sufficiency check's sentences. */
export function requestConstraints(request: string, evidence: string[]): string[] {
  const own = requestFacts(request).constraints;
  return own.length > 0 ? own : evidence;
}

/** The plan's stakeholders: the approver first, as the one who passes the human gates, then the other sentences. */
export function requestStakeholders(request: string, evidence: string[]): string[] {
  const approver = requestFacts(request).approver;
  if (!approver) return evidence;
  const entry = `${approver.name} — ${approver.role ? `${approver.role}, ` : ''}approver: passes the plan's human gates`;
  return [entry, ...evidence.filter((sentence) => sentence !== approver.sentence)];
}

/** `owner:` of the front matter: the approver the request names, who answers BLOCKED_NEED_HUMAN at the gates. */
export function requestOwner(request: string): { owner?: string } {
  const approver = requestFacts(request).approver;
  return approver ? { owner: approver.role ? `${approver.name}, ${approver.role}` : approver.name } : {};
}

/** The quality bar the request names, if it names one. */
export function requestQualityBar(request: string): QualityBar | null {
  return requestFacts(request).qualityBar;
}
