import * as z from 'zod';
import type { ModelRunner } from '../models/runner.js';
import type { SkillIndex } from '../skills/discover.js';
import type { DraftCriterion, DraftPhase, DraftStep } from './draft.js';
import { fillPlaceholders, loadPrompt } from './prompts.js';
import { buildPlannerPack, PLANNER_PACK_TOKENS, type Learning, type PlannerPack, type SkillContract } from './context.js';
import { MAX_PHASES, MIN_SUBSTANTIAL_PHASES } from '../rules/phase-count.js';
import { FILE_OPS_BLOCK, FILE_OPS_WARN } from '../rules/phase-file-ops.js';
import { overlaps } from '../rules/plan-paths.js';

/** What the planner model answers: no optional fields, so every provider's structured output can express it. */
export const PlanAnswer = z.object({
  title: z.string(),
  phases: z.array(
    z.object({
      title: z.string(),
      inputs: z.array(z.string()),
      outputs: z.array(z.string()),
      gate: z.enum(['none', 'human', 'review']),
      done_when: z.string(),
      verify: z.string(),
      steps: z.array(z.object({ kind: z.enum(['run', 'skill', 'model']), text: z.string() })),
    }),
  ),
  criteria: z.array(z.object({ text: z.string(), verify: z.string() })),
  /** Installed skills the plan does not use, each with why. */
  skills_excluded: z.array(z.object({ name: z.string(), reason: z.string() })),
});
export type PlanAnswer = z.infer<typeof PlanAnswer>;

const WORD = /[A-Za-z]{3,}/;

/** Why an answer that fits the schema is still no plan: one line per problem, empty when it is usable. */
export function uselessness(answer: PlanAnswer, skills: SkillIndex): string[] {
  const problems: string[] = [];
  if (answer.phases.length < 3) problems.push(`the plan has ${answer.phases.length} phase(s); a plan has at least 3`);
  if (answer.phases.length > 25) problems.push(`the plan has ${answer.phases.length} phases; at most 25`);
  if (answer.criteria.length < 2) problems.push(`${answer.criteria.length} success criteria; give at least 2`);
  answer.phases.forEach((phase, index) => {
    const where = `phase ${index + 1}`;
    if (phase.title.trim().length < 8 || !WORD.test(phase.title)) problems.push(`${where} has no real title ("${phase.title}")`);
    if (phase.steps.length === 0) problems.push(`${where} has no steps`);
    if (phase.done_when.trim().length < 8) problems.push(`${where} has no real "done when"`);
    for (const step of phase.steps) {
      if (step.text.trim().length < 4 || !WORD.test(step.text)) problems.push(`${where} has a step that says nothing ("${step.text}")`);
      const skill = step.kind === 'skill' ? (step.text.trim().replace(/^\//, '').split(/\s+/)[0] ?? '') : null;
      if (skill !== null && !skills.skills.has(skill)) problems.push(`${where} invokes the skill "${skill}", which is not installed`);
    }
    for (const path of [...phase.inputs, ...phase.outputs]) {
      if (path.startsWith('/') || path.split('/').includes('..')) problems.push(`${where} names "${path}", outside the repository`);
    }
  });
  for (const criterion of answer.criteria) {
    if (criterion.text.trim().length < 8 || !WORD.test(criterion.text)) problems.push(`a success criterion says nothing ("${criterion.text}")`);
  }
  if (answer.phases.length > 0 && answer.phases.every((phase) => phase.outputs.length === 0)) problems.push('no phase writes anything');
  return problems;
}

function toStep(step: PlanAnswer['phases'][number]['steps'][number]): DraftStep {
  const text = step.text.trim();
  if (step.kind === 'run') return { kind: 'run', command: text.replace(/^run:\s*/, '').replace(/^`|`$/g, '') };
  if (step.kind === 'skill') {
    const [name = '', ...args] = text.replace(/^\//, '').split(/\s+/);
    return { kind: 'skill', skill: name, args: args.join(' ') };
  }
  return { kind: 'model', text };
}

export interface GeneratedDraft {
  title: string;
  phases: DraftPhase[];
  criteria: DraftCriterion[];
  /** The skills the planner left out, with its reasons (the model path only). */
  excluded?: Array<{ name: string; reason: string }>;
}

export function toDraft(answer: PlanAnswer): GeneratedDraft {
  const phases = answer.phases.map<DraftPhase>((phase, index) => ({
    id: `P${index + 1}`,
    title: phase.title.trim().replace(/\.$/, ''),
    inputs: phase.inputs.map((path) => path.trim()).filter(Boolean),
    outputs: phase.outputs.map((path) => path.trim()).filter(Boolean),
    context: 'direct',
    dependsOn: index > 0 ? [`P${index}`] : [],
    gate: phase.gate,
    doneWhen: { text: phase.done_when.trim().replace(/\.$/, ''), ...(phase.verify.trim() ? { verify: phase.verify.trim() } : {}) },
    steps: phase.steps.map(toStep),
  }));
  const criteria = answer.criteria.map((criterion, index) => ({
    id: `SC${index + 1}`,
    text: criterion.text.trim().replace(/\.$/, ''),
    ...(criterion.verify.trim() ? { verify: criterion.verify.trim() } : {}),
  }));
  const excluded = (answer.skills_excluded ?? [])
    .map((skill) => ({ name: skill.name.trim().replace(/^\//, ''), reason: skill.reason.trim() }))
    .filter((skill) => skill.name !== '');
  return { title: answer.title.trim() || 'Plan', phases, criteria, excluded };
}

/** The workstream's context pack (prompts/workstreams/<name>.md), or nothing when there is none. */
export function workstreamPack(workstream: string, root: string): string {
  try {
    return loadPrompt(`workstreams/${workstream}`, root).body.trim();
  } catch {
    return '';
  }
}

export interface GenerationInput {
  models: ModelRunner;
  root: string;
  request: string;
  sources: string[];
  /** Project documents relevant to the request (context.paths), for the planner to name as inputs. */
  documents: string[];
  skills: SkillIndex;
  workstream: string;
  /** Running learnings of earlier plans that apply. */
  learnings?: Learning[];
  /** Allowed command prefixes for run: steps; null: any command. */
  commands?: string[] | null;
  progress: (message: string) => void;
}

/** Repair turns a model plan gets for lint errors before planning fails. */
export const MAX_REPAIR_TURNS = 2;

/** A problem of a rendered model plan, as it goes back to the planner. */
export interface RepairFinding {
  rule: string;
  /** The line of the rendered plan; 0 when the finding is about the plan as a whole. */
  line: number;
  message: string;
  fix?: string;
  /** The text of that line of the rendered plan, so the planner can find it. */
  text?: string;
  /** Asked of the planner, but no reason to refuse the plan after the last repair turn (a skill neither used nor excluded). */
  advisory?: boolean;
  /** A lint warning, sent along with the errors of a repair turn; never a reason for one. */
  warning?: boolean;
}

/** One finding on one line: `[rule] line 12: message. Fix: …`. */
export function formatRepairFinding(finding: RepairFinding): string {
  const where = finding.line > 0 ? ` line ${finding.line}` : '';
  const quoted = finding.text ? ` (the line: "${finding.text.trim().slice(0, 160)}")` : '';
  return `[${finding.rule}${finding.warning ? ', warning' : ''}]${where}: ${finding.message}${quoted}${finding.fix ? `. Fix: ${finding.fix}` : ''}`;
}

function contractPattern(path: string): string {
  // `drafts/<contact>.md`, `scores/{deal}.json` → `drafts/*.md`, `scores/*.json`.
  return path.replace(/<[^>]+>|\{[^}]+\}/g, '*');
}

/**
 * What the plan does against the skills' contracts: every skill a step invokes writes what its contract says inside
 * the phase's outputs; every installed skill is used or excluded with a reason.
 */
export function contractFindings(draft: GeneratedDraft, contracts: Map<string, SkillContract>): RepairFinding[] {
  const findings: RepairFinding[] = [];
  const invoked = new Set<string>();
  draft.phases.forEach((phase, index) => {
    const checked = new Set<string>();
    for (const step of phase.steps) {
      if (step.kind !== 'skill') continue;
      invoked.add(step.skill);
      const contract = contracts.get(step.skill);
      if (!contract || contract.from !== 'metadata' || checked.has(step.skill)) continue;
      checked.add(step.skill);
      // Only what names a repository path ("scores/<deal>.json"); "the CRM" is no file a phase lists.
      for (const write of contract.writes.filter((path) => path.includes('/') && !/\s/.test(path))) {
        const pattern = contractPattern(write);
        if (phase.outputs.some((output) => overlaps(contractPattern(output), pattern))) continue;
        const placeholder = pattern !== write ? " (the placeholder stands for the entity's name)" : '';
        findings.push({
          rule: 'skill-contract',
          line: 0,
          message: `your phase ${index + 1} ("${phase.title}") invokes /${step.skill}, which writes ${write}, but the phase's outputs are ${phase.outputs.join(', ') || '(none)'}`,
          fix: `add ${write} to phase ${index + 1}'s outputs${placeholder}, and read it from there in later phases`,
        });
      }
    }
  });
  const excluded = new Set((draft.excluded ?? []).map((skill) => skill.name));
  for (const contract of contracts.values()) {
    if (invoked.has(contract.name) && excluded.has(contract.name)) {
      findings.push({
        rule: 'skill-audit',
        line: 0,
        message: `/${contract.name} is invoked by a step and also listed in skills_excluded`,
        fix: `keep it in one place: remove it from skills_excluded, or stop invoking it`,
      });
    } else if (!invoked.has(contract.name) && !excluded.has(contract.name) && !contract.deprecated) {
      findings.push({
        rule: 'skill-audit',
        line: 0,
        advisory: true,
        message: `the installed skill ${contract.name} is neither invoked nor excluded (${contract.description.slice(0, 120)})`,
        fix: `invoke /${contract.name} in the phase that does its work${contract.writes.length > 0 ? ` (it writes ${contract.writes.join(', ')})` : ''}, or list it in skills_excluded with a reason`,
      });
    }
  }
  return findings;
}

/** The sections of the prompt's context pack and their sizes in tokens, as the ledger records them. */
export function packSizes(pack: PlannerPack): Record<string, number> {
  return { ...Object.fromEntries(pack.sections.map((section) => [section.name, section.tokens])), total: pack.tokens, budget: pack.budget };
}

/**
 * A conversation with the planner model: the first plan, then repair turns with the findings of the rendered plan.
 * An answer that fits the schema but is no plan (one phase, one-letter strings) is sent back once with its problems.
 */
export class PlannerSession {
  readonly pack: PlannerPack;
  readonly prompt: string;
  private readonly messages: Array<{ role: 'user' | 'assistant'; content: string }>;
  private readonly role: ReturnType<typeof loadPrompt>['role'];
  private readonly schemaName: string;
  /** Repair turns taken so far. */
  repairs = 0;

  constructor(private readonly input: GenerationInput) {
    const prompt = loadPrompt('plan-generation', input.root);
    this.role = prompt.role;
    this.schemaName = prompt.schema;
    this.pack = buildPlannerPack({
      root: input.root,
      request: input.request,
      sources: input.sources,
      documents: input.documents,
      skills: input.skills,
      learnings: input.learnings ?? [],
      commands: input.commands ?? null,
    });
    const section = (name: string) => this.pack.sections.find((candidate) => candidate.name === name)?.text ?? '(none)';
    this.prompt = fillPlaceholders(prompt.body, {
      request: input.request,
      sources: input.sources.length > 0 ? input.sources.map((source) => `- ${source}`).join('\n') : '(none)',
      skills: section('skills'),
      entities: section('entities'),
      documents: section('documents'),
      scope: section('scope'),
      learnings: section('learnings'),
      workstream: input.workstream,
      workstream_context: workstreamPack(input.workstream, input.root),
      pack_budget: PLANNER_PACK_TOKENS.toLocaleString('en-US'),
      pack_tokens: this.pack.tokens.toLocaleString('en-US'),
      min_substantial_phases: String(MIN_SUBSTANTIAL_PHASES),
      max_phases: String(MAX_PHASES),
      file_ops_warn: String(FILE_OPS_WARN),
      file_ops_block: String(FILE_OPS_BLOCK),
    });
    this.messages = [{ role: 'user', content: this.prompt }];
  }

  /** The first plan; null after two useless answers. */
  first(): Promise<GeneratedDraft | null> {
    return this.ask();
  }

  /** Sends the rendered plan's findings back; null when the answer is no plan twice. */
  repair(findings: RepairFinding[], warnings: RepairFinding[] = []): Promise<GeneratedDraft | null> {
    this.repairs++;
    this.messages.push({
      role: 'user',
      content: [
        `deepplan rendered and linted that plan: ${findings.length} problem(s) must be fixed. Phase ids are the rendered plan's: P<n> is your phase n, and P<n>a, P<n>b are parts that sizing split from it.`,
        ...findings.map((finding) => `- ${formatRepairFinding(finding)}`),
        ...(warnings.length > 0
          ? ['Warnings worth fixing in the same answer:', ...warnings.slice(0, 10).map((finding) => `- ${formatRepairFinding(finding)}`)]
          : []),
        'Answer again with the complete plan in the same JSON shape, changing what these findings need and keeping the rest.',
      ].join('\n'),
    });
    return this.ask();
  }

  private async ask(): Promise<GeneratedDraft | null> {
    const ledger = this.input.models.ledger;
    ledger.contextPack = packSizes(this.pack);
    try {
      for (let attempt = 1; attempt <= 2; attempt++) {
        const answer = await this.input.models.generateObject(this.role, {
          name: this.schemaName,
          schema: PlanAnswer,
          messages: [...this.messages],
          maxTokens: 16000,
        });
        const problems = uselessness(answer.object, this.input.skills);
        this.input.progress(
          `planner ${answer.model}: ${answer.object.phases.length} phases${problems.length > 0 ? `, not usable: ${problems.slice(0, 3).join('; ')}` : ''}`,
        );
        this.messages.push({ role: 'assistant', content: JSON.stringify(answer.object) });
        if (problems.length === 0) return toDraft(answer.object);
        this.messages.push({ role: 'user', content: `That plan cannot be used: ${problems.join('; ')}. Answer again with a complete plan.` });
      }
      return null;
    } finally {
      ledger.contextPack = null;
    }
  }
}
