import { z } from 'zod';
import type { ModelRunner } from '../models/runner.js';
import type { SkillIndex } from '../skills/discover.js';
import type { DraftCriterion, DraftPhase, DraftStep } from './draft.js';
import { fillPlaceholders, loadPrompt } from './prompts.js';

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
      const skill = step.kind === 'skill' ? step.text.trim().replace(/^\//, '').split(/\s+/)[0] ?? '' : null;
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

export function toDraft(answer: PlanAnswer): { title: string; phases: DraftPhase[]; criteria: DraftCriterion[] } {
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
  return { title: answer.title.trim() || 'Plan', phases, criteria };
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
  progress: (message: string) => void;
}

/**
 * Asks the planner for the phases. An answer that fits the schema but is no plan (one phase, one-letter strings) is
 * sent back once with its problems; a second useless answer gives null, and the caller falls back to the template.
 */
export async function generateWithModel(input: GenerationInput): Promise<ReturnType<typeof toDraft> | null> {
  const prompt = loadPrompt('plan-generation', input.root);
  const body = fillPlaceholders(prompt.body, {
    request: input.request,
    sources: input.sources.length > 0 ? input.sources.map((source) => `- ${source}`).join('\n') : '(none)',
    skills: [...input.skills.skills.values()].map((skill) => `- ${skill.name}: ${skill.description}`).join('\n') || '(none)',
    documents: input.documents.length > 0 ? input.documents.map((document) => `- ${document}`).join('\n') : '(none)',
    workstream: input.workstream,
    workstream_context: workstreamPack(input.workstream, input.root),
  });
  const messages: Array<{ role: 'user' | 'assistant'; content: string }> = [{ role: 'user', content: body }];
  for (let attempt = 1; attempt <= 2; attempt++) {
    const answer = await input.models.generateObject(prompt.role, { name: prompt.schema, schema: PlanAnswer, messages, maxTokens: 8000 });
    const problems = uselessness(answer.object, input.skills);
    input.progress(`planner ${answer.model}: ${answer.object.phases.length} phases${problems.length > 0 ? `, not usable: ${problems.slice(0, 3).join('; ')}` : ''}`);
    if (problems.length === 0) return toDraft(answer.object);
    messages.push(
      { role: 'assistant', content: JSON.stringify(answer.object) },
      { role: 'user', content: `That plan cannot be used: ${problems.join('; ')}. Answer again with a complete plan.` },
    );
  }
  return null;
}
