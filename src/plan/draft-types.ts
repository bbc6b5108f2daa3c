import type { PlanMeta } from './schema.js';

/**
 * A plan while the pipeline builds it: structured, before it is written as Markdown. The phases of the pipeline
 * transform it; the writer renders it in the PLAN_FORMAT layout.
 */

export type ContextMode = 'direct' | 'extract_then_assemble' | 'map_reduce';
export type Gate = 'none' | 'human' | 'review';

/** A skill step the skill audit put in place of a model step keeps that step's text (`replaced`), so excluding the skill by hand restores it. */
export type DraftStep = { kind: 'run'; command: string } | { kind: 'skill'; skill: string; args: string; replaced?: string } | { kind: 'model'; text: string };

export interface DraftPhase {
  /** `P3`, or `P3a` for a sub-phase that sizing inserted. */
  id: string;
  title: string;
  inputs: string[];
  outputs: string[];
  context: ContextMode;
  dependsOn: string[];
  gate: Gate;
  doneWhen: { text: string; verify?: string };
  steps: DraftStep[];
  /** Words a skill serving the phase would use (from the offline template); the skill audit matches on them. Not written. */
  hints?: string[];
}

export interface DraftCriterion {
  id: string;
  text: string;
  verify?: string;
}

export interface DraftSkills {
  mapped: Array<{ name: string; phases: string[]; why: string }>;
  excluded: Array<{ name: string; reason: string }>;
}

export interface PlanDraft {
  meta: Pick<PlanMeta, 'id' | 'title' | 'workstream' | 'deliverable' | 'quality_bar'> & Partial<PlanMeta>;
  request: string;
  criteria: DraftCriterion[];
  constraints: string[];
  stakeholders: string[];
  clarifications: Array<{ question: string; answer: string }>;
  skills: DraftSkills;
  phases: DraftPhase[];
  learnings: string[];
}

/** A step as it reads in the plan. */
export function stepText(step: DraftStep): string {
  if (step.kind === 'run') return `run: \`${step.command}\``;
  if (step.kind === 'skill') return `/${step.skill}${step.args ? ` ${step.args}` : ''}`;
  return step.text;
}
