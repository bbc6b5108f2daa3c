import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { actionsOf, calibrationFor, budgetArithmetic, budgetFor, coefficientsFor, type Coefficients } from '../calibration/calibration.js';
import { loadConfig } from '../config/config.js';
import { contextForRoot, lintText } from '../lint/lint.js';
import type { ModelRunner } from '../models/runner.js';
import type { Finding } from '../rules/rule.js';
import { auditSkills, type AuditResult } from '../skills/audit.js';
import { discoverSkills, skillDirectories, type SkillIndex } from '../skills/discover.js';
import type { ContextMode, DraftPhase, PlanDraft } from './draft.js';
import { applySkillChoice, NO_CHOICE, toggleSkillChoice, type SkillAuditView, type SkillChoice } from './skill-choice.js';
import { countFileOperations } from '../rules/phase-file-ops.js';
import { MIN_EXCLUDED, MIN_MAPPED } from '../skills/audit.js';
import { sizePhases, type SizingResult } from './sizing.js';
import { MIN_SUBSTANTIAL_PHASES } from '../rules/phase-count.js';
import { findContext, interviewQuestions, type Question } from './sufficiency.js';
import * as z from 'zod';
import { DEFAULT_DOCUMENT_PATTERNS, gatherContext } from './context.js';
import { fillPlaceholders, loadPrompt } from './prompts.js';
import { contractFindings, formatRepairFinding, MAX_REPAIR_TURNS, PlannerSession, type GeneratedDraft, type RepairFinding } from './generate.js';
import { fillTemplate, loadTemplate } from './templates.js';
import {
  jobAndEntityQuestions,
  offlineTemplateFor,
  PLAN_DRAFT_FORMAT,
  WORKSTREAM_FORMAT,
  requestConstraints,
  requestOwner,
  requestQualityBar,
  requestStakeholders,
  requestWithAnswers,
} from './offline.js';
import { renderPlan } from './write.js';
import { ASK_BELOW_CONFIDENCE, classifyWorkstream, type Workstream } from './workstream.js';

/** The seven planning phases and the drift check, in order; the UI lists them as they run. */
export const PIPELINE_PHASES = ['workstream', 'sufficiency', 'context', 'generation', 'sizing', 'quality-bar', 'budget', 'skill-drift'] as const;
export type PipelinePhase = (typeof PIPELINE_PHASES)[number];

export type PipelineEvent =
  | { type: 'started'; phase: PipelinePhase }
  | { type: 'progress'; phase: PipelinePhase; message: string }
  | { type: 'question'; phase: PipelinePhase; question: Question }
  | { type: 'result'; phase: PipelinePhase; summary: string; detail?: PhaseDetail }
  | { type: 'finished'; phase: PipelinePhase };

/** Structured detail of a phase's result, for screens that show more than the summary line. */
export type PhaseDetail =
  | { kind: 'sizing'; phases: Array<{ id: string; title: string; context: ContextMode; fileOperations: number }> }
  | {
      kind: 'budget';
      maxIterations: number;
      basis: 'formula' | 'calibrated';
      arithmetic: string;
      phases: number;
      criteria: number;
      coefficients: Coefficients;
    };

export interface PipelineInput {
  request: string;
  /** Repository root: sources, skills, templates and calibration resolve from here. */
  root: string;
  /** Where the plan will be written (for linting it in place). */
  out: string;
  /** Answers by question id (an option's text, its 1-based number, or free text). */
  answers?: Record<string, string>;
  /** Take the recommended answer of every question that has one (--yes). */
  acceptRecommended?: boolean;
  /** Asks a person (a terminal UI); without it, unanswered questions end the run with the questions. */
  ask?: (question: Question) => Promise<string>;
  /** Changes to the skill audit (the answers file's `skills:`), applied before the plan is rendered. */
  skills?: SkillChoice;
  /**
   * Shows the skill audit to a person before the plan is finalised (deepplan new); answers the names of skills to
   * toggle between mapped and excluded (none: confirmed). Called again, with the problem, while the result could
   * not be written (fewer than 3 mapped or 2 excluded, a change that cannot be made).
   */
  reviewSkills?: (audit: SkillAuditView) => Promise<string[]>;
  emit?: (event: PipelineEvent) => void;
  /** The model runner; when the planner's model does not plan (the offline engine), or this is absent, a template plans. */
  models?: ModelRunner;
  /** Fixed dates for reproducible output (tests). */
  today?: string;
  now?: string;
}

export type PipelineOutcome = { kind: 'plan'; text: string; draft: PlanDraft; findings: Finding[] } | { kind: 'questions'; questions: Question[] };

import { PipelineError } from './errors.js';
/** The pipeline cannot produce a plan that lints; the message says why in one line (sizing and templates throw it too). */
export { PipelineError };

const WORKSTREAMS: Workstream[] = ['consulting', 'content', 'infrastructure'];

const WorkstreamAnswer = z.object({
  workstream: z.enum(['consulting', 'content', 'infrastructure']),
  confidence: z.number().min(0).max(1),
  reason: z.string(),
});

/** The offline template for a request: research when it asks to find something out, else by workstream. */
export function templateFor(workstream: Workstream, request: string): 'research' | 'outreach' | 'content' | 'infrastructure' {
  if (/\b(research|compare|investigate|analy[sz]e|what does|how does|why does)\b/i.test(request)) return 'research';
  if (workstream === 'consulting') return /\b(outreach|emails?|campaign|prospects?|sequence)\b/i.test(request) ? 'outreach' : 'research';
  return workstream;
}

/** Paths in the request that name existing files of the repository: the plan's source material. */
export function sourcesIn(request: string, root: string): string[] {
  const sources: string[] = [];
  for (const match of request.matchAll(/[\w./@-]+\.[A-Za-z0-9]{1,8}\b/g)) {
    const path = match[0].replace(/^\.\//, '');
    if (isAbsolute(path) || path.split('/').includes('..')) continue;
    try {
      if (statSync(join(root, path)).isFile() && !sources.includes(path)) sources.push(path);
    } catch {
      // Not a file of the repository: a word with a dot in it.
    }
  }
  return sources;
}

/** The scope.write glob that covers an output: its top folder (`notes/x.md` → `notes/**`), or the file itself. */
function writeGlob(output: string): string {
  const slash = output.indexOf('/');
  return slash > 0 ? `${output.slice(0, slash)}/**` : output;
}

function slugOf(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, ' ')
      .trim()
      .split(' ')
      .filter((word) => word.length > 2)
      .slice(0, 5)
      .join('-')
      .slice(0, 48) || 'plan'
  );
}

function titleOf(request: string): string {
  const first = request
    .split(/(?<=[.!?])\s|\n/)[0]!
    .trim()
    .replace(/[.!?]$/, '');
  return first.length > 70 ? `${first.slice(0, 67)}…` : first;
}

function resolveAnswer(question: Question, given: string | undefined): string | undefined {
  if (given === undefined) return undefined;
  const number = Number(given);
  if (Number.isInteger(number) && number >= 1 && number <= question.options.length) return question.options[number - 1];
  return given.trim() === '' ? undefined : given.trim();
}

/** Runs the planning phases on a request; each phase emits started, progress/question, result and finished. */
export async function runPipeline(input: PipelineInput): Promise<PipelineOutcome> {
  const emit = input.emit ?? (() => {});
  const config = loadConfig(input.root);
  // What the planner's model does; the offline planner (keywords, templates) does the rest. The offline engine
  // answers neither, so with no planner key the whole plan is the offline planner's.
  const modelClassifies = input.models?.answers('planner', WORKSTREAM_FORMAT) ?? false;
  const modelPlans = input.models?.answers('planner', PLAN_DRAFT_FORMAT) ?? false;
  const step = async <T>(phase: PipelinePhase, work: () => Promise<T> | T, summary: (value: T) => string, detail?: (value: T) => PhaseDetail): Promise<T> => {
    emit({ type: 'started', phase });
    const value = await work();
    emit({ type: 'result', phase, summary: summary(value), ...(detail ? { detail: detail(value) } : {}) });
    emit({ type: 'finished', phase });
    return value;
  };

  // 1. Workstream alignment.
  const guess = await step(
    'workstream',
    async () => {
      const offline = classifyWorkstream(input.request);
      if (!input.models || !modelClassifies) return { ...offline, by: 'keywords' };
      const prompt = loadPrompt('workstream', input.root);
      const answer = await input.models.generateObject(prompt.role, {
        name: prompt.schema,
        schema: WorkstreamAnswer,
        prompt: fillPlaceholders(prompt.body, { request: input.request }),
        maxTokens: 300,
      });
      return {
        workstream: answer.object.workstream,
        confidence: answer.object.confidence,
        evidence: [answer.object.reason],
        scores: offline.scores,
        by: answer.model,
      };
    },
    (g) => `${g.workstream} (confidence ${g.confidence.toFixed(2)} by ${g.by}${g.evidence.length > 0 ? `: ${g.evidence.join(', ')}` : ''})`,
  );
  const questions: Question[] = [];
  if (guess.confidence < ASK_BELOW_CONFIDENCE) {
    questions.push({
      id: 'workstream',
      part: 'success criteria',
      text: 'Which kind of work is this?',
      options: WORKSTREAMS,
      recommended: WORKSTREAMS.indexOf(guess.workstream),
      impact: 6,
    });
  }

  // 2. Context sufficiency.
  const context = await step(
    'sufficiency',
    () => findContext(input.request),
    (c) => (c.missing.length === 0 ? 'criteria, constraints and stakeholders found' : `missing: ${c.missing.join(', ')}`),
  );
  if (context.missing.length >= 2)
    questions.push(...interviewQuestions(context.missing, templateFor(guess.workstream, input.request), jobAndEntityQuestions(input.request, input.root)));
  // Offline, a request that says enough but that no template fits is declined before any question (one line).
  else if (!modelPlans) offlineTemplateFor(input.request, input.root, true);

  const answered = new Map<string, string>();
  const open: Question[] = [];
  for (const question of questions) {
    emit({ type: 'question', phase: question.id === 'workstream' ? 'workstream' : 'sufficiency', question });
    let answer = resolveAnswer(question, input.answers?.[question.id]);
    if (answer === undefined && input.ask) answer = resolveAnswer(question, await input.ask(question));
    if (answer === undefined && input.acceptRecommended && question.recommended !== null) answer = question.options[question.recommended];
    if (answer === undefined) open.push(question);
    else answered.set(question.id, answer);
  }
  if (open.length > 0) return { kind: 'questions', questions: open };
  const workstream = (answered.get('workstream') as Workstream | undefined) ?? guess.workstream;

  // 3. Context gathering and skill discovery.
  const gathered = await step(
    'context',
    () => {
      // A planner model gets the repository's documents searched when context.paths does not name them.
      const found = gatherContext(input.root, input.request, config.context?.paths ?? (modelPlans ? DEFAULT_DOCUMENT_PATTERNS : []));
      for (const document of found.documents) emit({ type: 'progress', phase: 'context', message: `relevant document: ${document.path}` });
      for (const learning of found.learnings) emit({ type: 'progress', phase: 'context', message: `carried learning from ${learning.from}: ${learning.text}` });
      return {
        sources: sourcesIn(input.request, input.root),
        skills: discoverSkills(skillDirectories(input.root, config.skills?.paths ?? [])),
        ...found,
      };
    },
    (g) =>
      `${g.sources.length} source file(s): ${g.sources.join(', ') || 'none'}; ${g.documents.length} relevant document(s); ${g.learnings.length} learning(s) carried in; ${g.skills.skills.size} skill(s) found${g.skills.invalid.length > 0 ? `, ${g.skills.invalid.length} invalid skipped` : ''}`,
  );

  // 4. Plan generation: the planner model, or the offline template. A model plan whose rendering does not lint (or
  // breaks a skill's contract) goes back to the planner with the findings, for up to MAX_REPAIR_TURNS turns.
  // The offline planner plans only from a template that fits the request (or declines); a planner model needs one for its defaults.
  const planRequest = requestWithAnswers(input.request, answered);
  const templateName = offlineTemplateFor(planRequest, input.root, !modelPlans, answered.get('job')) ?? templateFor(workstream, input.request);
  const template = loadTemplate(templateName, input.root);
  const generationProgress = (message: string) => emit({ type: 'progress', phase: 'generation', message });
  // A planner's run: steps may start with the repository's own script folders (else the template's prefixes).
  const prefixes = scriptPrefixes(input.root);
  const commands = prefixes.length > 0 ? prefixes : (template.scope?.commands ?? []);
  const session =
    input.models && modelPlans
      ? new PlannerSession({
          models: input.models,
          root: input.root,
          request: input.request,
          sources: gathered.sources,
          documents: gathered.documents.map((document) => document.path),
          skills: gathered.skills,
          workstream,
          learnings: gathered.learnings,
          commands: commands.length > 0 ? commands : null,
          progress: generationProgress,
        })
      : null;
  if (session) {
    const sizes = session.pack.sections.map((section) => `${section.name} ${section.tokens}`).join(', ');
    emit({ type: 'progress', phase: 'context', message: `context pack for the planner: ${session.pack.tokens} of ${session.pack.budget} tokens (${sizes})` });
  }
  let modelled = session ? await session.first() : null;
  let choice = input.skills ?? NO_CHOICE;
  for (let turn = 0; ; turn++) {
    const attempt = await assemble(modelled, turn);
    if (attempt.kind === 'plan') return { kind: 'plan', text: attempt.text, draft: attempt.draft, findings: attempt.findings };
    const problems = attempt.problems;
    if (!attempt.fromModel || !session || turn >= MAX_REPAIR_TURNS) {
      if (!attempt.fromModel) {
        const first = problems[0]!;
        throw new PipelineError(
          `the generated plan would not lint (${problems.length} error(s)); first: ${first.line > 0 ? `line ${first.line}: ` : ''}${first.message} (${first.rule})`,
        );
      }
      throw new PipelineError(
        `the planner's plan still has ${problems.length} problem(s) after ${turn} repair turn(s):\n${problems.map((problem) => `  - ${formatRepairFinding(problem)}`).join('\n')}`,
      );
    }
    generationProgress(
      `repair turn ${turn + 1} of ${MAX_REPAIR_TURNS}: ${problems.length} finding(s) back to the planner (${[...new Set(problems.map((problem) => problem.rule))].join(', ')})`,
    );
    modelled = await session.repair(problems, attempt.warnings);
    if (!modelled)
      throw new PipelineError(
        `the planner's repair turn ${turn + 1} gave no usable plan; the findings were:\n${problems.map((problem) => `  - ${formatRepairFinding(problem)}`).join('\n')}`,
      );
  }

  /** Steps 4 to 7 and the lint, for the planner's plan (or the template's when there is none): a plan, or the problems. */
  async function assemble(
    modelled: GeneratedDraft | null,
    turn: number,
  ): Promise<
    | { kind: 'plan'; text: string; draft: PlanDraft; findings: Finding[] }
    | { kind: 'problems'; problems: RepairFinding[]; warnings: RepairFinding[]; fromModel: boolean }
  > {
    const fromModel = modelled !== null;
    const generated = await step(
      'generation',
      async () => {
        // The template is filled only when it plans: a planner's plan needs only its defaults.
        const templated = modelled
          ? null
          : fillTemplate(template, { request_title: titleOf(input.request) }, gathered.sources, { root: input.root, request: planRequest, name: templateName });
        const filled: Pick<GeneratedDraft, 'phases' | 'criteria' | 'title'> = modelled ?? templated!;
        let from = `the ${templateName} template`;
        if (modelled) {
          from = `the planner (${input.models!.roles.planner.configured})${turn > 0 ? ` after repair turn ${turn}` : ''}`;
        } else if (session) {
          generationProgress(`the planner's answer was not usable twice; planning from the offline ${templateName} template instead`);
        }
        if (templated) for (const note of templated.notes) generationProgress(note);
        const evidence = (part: string) => context.found.find((found) => found.part === part)?.evidence ?? [];
        const draft: PlanDraft = {
          meta: {
            id: slugOf(input.request),
            title: filled.title,
            workstream,
            deliverable: template.deliverable,
            quality_bar: 'structural',
            ...requestOwner(input.request),
          },
          request: input.request.trim(),
          criteria: [...filled.criteria, ...(answered.has('success') ? [{ id: `SC${filled.criteria.length + 1}`, text: answered.get('success')! }] : [])],
          constraints: [
            ...requestConstraints(input.request, evidence('constraints')),
            ...['limits', 'deadline'].filter((id) => answered.has(id)).map((id) => answered.get(id)!),
          ],
          stakeholders: [
            ...requestStakeholders(input.request, evidence('stakeholders')),
            ...(answered.has('owner') ? [`${answered.get('owner')} — owner, answers when the work is blocked`] : []),
          ],
          clarifications: questions.map((question) => ({ question: question.text, answer: answered.get(question.id)! })),
          skills: { mapped: [], excluded: [] },
          phases: filled.phases,
          learnings: gathered.learnings.map((learning) => `${learning.text} (from ${learning.from})`),
        };
        const scope = {
          write: [...new Set(filled.phases.flatMap((phase) => phase.outputs).map(writeGlob))],
          ...(fromModel ? (commands.length > 0 ? { commands } : {}) : template.scope?.commands ? { commands: template.scope.commands } : {}),
        };
        return { draft, scope, from };
      },
      (g) => `${g.draft.phases.length} phases from ${g.from}`,
    );
    // What the planner's plan does against the skills' contracts, before the rendering is linted.
    const contract = modelled && session ? contractFindings(modelled, session.pack.contracts) : [];

    // 5. Phase sizing.
    let sized: SizingResult;
    try {
      sized = await step(
        'sizing',
        () => {
          // Consulting plans get the adversarial bar (step 6), and 10+ phases make any plan substantial: 15 to 25 phases.
          const substantial = workstream === 'consulting' || requestQualityBar(input.request) === 'adversarial' || generated.draft.phases.length >= 10;
          const result = sizePhases(generated.draft, contextForRoot(input.root), substantial ? { minPhases: MIN_SUBSTANTIAL_PHASES } : {});
          for (const change of result.changes) emit({ type: 'progress', phase: 'sizing', message: change });
          if (result.refusal) throw new PipelineError(result.refusal);
          return result;
        },
        (r) => (r.changes.length === 0 ? 'no change needed' : `${r.changes.length} change(s)`),
        (r) => {
          const rules = contextForRoot(input.root);
          return {
            kind: 'sizing',
            phases: r.draft.phases.map((phase) => ({
              id: phase.id,
              title: phase.title,
              context: phase.context,
              fileOperations: countFileOperations(phase, rules, r.draft.phases),
            })),
          };
        },
      );
    } catch (error) {
      // A planner's plan that cannot be sized goes back to the planner like a lint error.
      if (fromModel && error instanceof PipelineError)
        return { kind: 'problems', problems: [...contract, { rule: 'sizing', line: 0, message: error.message }], warnings: [], fromModel };
      throw error;
    }
    let draft = sized.draft;

    // 6. Quality bar.
    const qualityBar = await step(
      'quality-bar',
      () =>
        requestQualityBar(input.request)
          ? { bar: requestQualityBar(input.request)!, reason: 'the request names it' }
          : workstream === 'consulting'
            ? { bar: 'adversarial' as const, reason: 'client-facing consulting work: a reviewer from another provider attacks the plan' }
            : draft.phases.length >= 10
              ? { bar: 'semantic' as const, reason: `${draft.phases.length} phases: the review checks meaning, not only structure` }
              : {
                  bar: draft.meta.deliverable === 'infrastructure' ? ('structural' as const) : ('semantic' as const),
                  reason: `${draft.meta.deliverable} deliverable of ${draft.phases.length} phases`,
                },
      (q) => `${q.bar}: ${q.reason}`,
    );
    draft = { ...draft, meta: { ...draft.meta, quality_bar: qualityBar.bar } };

    // Skill audit, then the drift cross-check. A planner's plan maps the skills its steps invoke and excludes the rest
    // with its reasons; the offline audit adds the /skill step to every phase it maps.
    const audit =
      (modelled ? plannerAudit(draft.phases, modelled.excluded ?? [], gathered.skills) : null) ?? auditSkills(input.request, draft.phases, gathered.skills);
    for (const note of audit.notes) emit({ type: 'progress', phase: 'context', message: note });
    const cannot = (problem: string) => new PipelineError(`the skill audit cannot be completed: ${problem}`);
    // Too few skills installed: no choice can fix that.
    if (audit.shortfall && gathered.skills.skills.size < MIN_MAPPED + MIN_EXCLUDED) throw cannot(audit.shortfall);
    let chosen = applySkillChoice(audit, gathered.skills, choice);
    // A person sees the audit once (deepplan new); repair turns keep what they chose.
    if (input.reviewSkills && turn === 0) {
      // A person sees the audit and may toggle skills; changes that cannot be made are dropped and the screen says
      // why, and it is shown again until the result can be written.
      let shown = chosen.problems;
      if (shown.length > 0) {
        choice = chosen.applied;
        chosen = applySkillChoice(audit, gathered.skills, choice);
      }
      for (;;) {
        const view: SkillAuditView = { ...chosen.skills, problem: shown.length > 0 ? shown.join('; ') : null, choice };
        choice = toggleSkillChoice(view, await input.reviewSkills(view));
        const attempt = applySkillChoice(audit, gathered.skills, choice);
        if (attempt.problems.length === 0) {
          chosen = attempt;
          break;
        }
        shown = attempt.problems;
        choice = attempt.applied;
        chosen = applySkillChoice(audit, gathered.skills, choice);
      }
    }
    if (chosen.problems.length > 0) {
      if (choice === NO_CHOICE && audit.shortfall) throw cannot(audit.shortfall);
      throw new PipelineError(`the skill audit cannot be completed: ${chosen.problems.join('; ')}; change skills: {map, exclude} in the answers file`);
    }
    for (const name of choice.map)
      emit({
        type: 'progress',
        phase: 'quality-bar',
        message: `skill audit: ${name} mapped by hand to ${chosen.skills.mapped.find((skill) => skill.name === name)?.phases.join(', ')}`,
      });
    for (const name of choice.exclude) emit({ type: 'progress', phase: 'quality-bar', message: `skill audit: ${name} excluded by hand` });
    draft = { ...draft, phases: chosen.phases, skills: chosen.skills };

    // 7. Calibrated budget.
    const budget = await step(
      'budget',
      () => {
        const { coefficients, basis } = coefficientsFor(calibrationFor(input.root), draft.meta.deliverable);
        return {
          max_iterations: budgetFor(coefficients, draft.phases.length, draft.criteria.length, actionsOf(draft.phases)),
          basis,
          arithmetic: budgetArithmetic(coefficients, draft.phases.length, draft.criteria.length, actionsOf(draft.phases)),
          coefficients,
        };
      },
      (b) => `${b.max_iterations} iterations (${b.basis}: ${b.arithmetic})`,
      (b) => ({
        kind: 'budget',
        maxIterations: b.max_iterations,
        basis: b.basis,
        arithmetic: b.arithmetic,
        phases: draft.phases.length,
        criteria: draft.criteria.length,
        coefficients: b.coefficients,
      }),
    );

    const text = renderPlan(draft, {
      status: 'draft',
      created: input.today ?? new Date().toISOString().slice(0, 10),
      budget: { max_iterations: budget.max_iterations, basis: budget.basis, arithmetic: budget.arithmetic },
      scope: { ...generated.scope, write: [...new Set([...generated.scope.write, ...draft.phases.flatMap((phase) => phase.outputs).map(writeGlob)])] },
      updated: input.now ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      ...(input.models ? { spentUsd: input.models.ledger.spentUsd } : {}),
    });
    const findings = await step(
      'skill-drift',
      () => lintText(text, input.out),
      (f) =>
        `${f.filter((finding) => finding.ruleId === 'skill-drift').length} drift finding(s); lint: ${f.filter((finding) => finding.severity === 'error').length} error(s)`,
    );
    const lines = text.split('\n');
    const toRepair = (finding: Finding): RepairFinding => ({
      rule: finding.ruleId,
      line: finding.line,
      message: finding.message,
      ...(finding.fix ? { fix: finding.fix } : {}),
      ...(lines[finding.line - 1]?.trim() ? { text: lines[finding.line - 1]! } : {}),
      ...(finding.severity === 'error' ? {} : { warning: true }),
    });
    const errors = findings.filter((finding) => finding.severity === 'error').map(toRepair);
    // After the last repair turn, a skill the planner neither used nor excluded is excluded with that reason.
    const problems = [...contract, ...errors].filter((problem) => !(problem.advisory && turn >= MAX_REPAIR_TURNS));
    if (problems.length > 0)
      return { kind: 'problems', problems, warnings: findings.filter((finding) => finding.severity !== 'error').map(toRepair), fromModel };
    return { kind: 'plan', text, draft, findings };
  }
}

/**
 * The skill audit of a planner's plan: each skill its steps invoke is mapped to those phases, every other installed
 * skill is excluded with the planner's reason (or, for one it did not name, why not). null when it maps fewer than
 * MIN_MAPPED skills, so the offline audit fills the mapping in.
 */
export function plannerAudit(phases: DraftPhase[], excluded: Array<{ name: string; reason: string }>, index: SkillIndex): AuditResult | null {
  const mapping = new Map<string, string[]>();
  for (const phase of phases) {
    for (const step of phase.steps) {
      if (step.kind !== 'skill' || !index.skills.has(step.skill)) continue;
      const ids = mapping.get(step.skill) ?? [];
      if (!ids.includes(phase.id)) ids.push(phase.id);
      mapping.set(step.skill, ids);
    }
  }
  if (mapping.size < MIN_MAPPED) return null;
  const reasons = new Map(excluded.map((skill) => [skill.name, skill.reason]));
  const firstSentence = (text: string) => (text.split(/(?<=[.;])\s/)[0] ?? text).replace(/[.;]$/, '').trim();
  const left = [...index.skills.values()].filter((skill) => !mapping.has(skill.name));
  const shortfall = left.length < MIN_EXCLUDED ? `${left.length} skill(s) left to exclude; at least ${MIN_EXCLUDED} must be excluded` : null;
  return {
    skills: {
      mapped: [...mapping.entries()].map(([name, ids]) => ({ name, phases: ids, why: firstSentence(index.skills.get(name)!.description) })),
      excluded: left.map((skill) => ({
        name: skill.name,
        reason:
          reasons.get(skill.name)?.replace(/\|/g, '/').replace(/\s+/g, ' ').trim() ||
          (/\b(deprecated|legacy|do not use|obsolete|superseded)\b/i.test(skill.description)
            ? `deprecated by its own description (${firstSentence(skill.description)})`
            : `the planner did not use it (${firstSentence(skill.description)})`),
      })),
    },
    phases,
    notes: [...mapping.entries()].map(([name, ids]) => `mapped ${name} to ${ids.join(', ')} (invoked by the planner's steps)`),
    shortfall,
  };
}

/**
 * Command prefixes for a planner's run: steps when the template sets none: the repository's script folders by
 * language (`node scripts/`, `python3 scripts/`, `bash scripts/`).
 */
export function scriptPrefixes(root: string): string[] {
  const prefixes = new Set<string>();
  for (const folder of ['scripts', 'bin', 'tools']) {
    let entries: string[];
    try {
      entries = readdirSync(join(root, folder));
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (/\.(mjs|cjs|js)$/.test(entry)) prefixes.add(`node ${folder}/`);
      else if (/\.py$/.test(entry)) prefixes.add(`python3 ${folder}/`);
      else if (/\.sh$/.test(entry)) prefixes.add(`bash ${folder}/`);
    }
  }
  return [...prefixes].sort();
}

export function displayPath(root: string, path: string): string {
  return relative(root, path) || path;
}
