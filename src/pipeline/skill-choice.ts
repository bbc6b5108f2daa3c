import MiniSearch from 'minisearch';
import { MIN_EXCLUDED, MIN_MAPPED, placeSkill, type AuditResult } from '../skills/audit.js';
import { skillContract } from './context.js';
import type { SkillIndex } from '../skills/discover.js';
import type { DraftPhase, DraftSkills } from './draft.js';

/**
 * A person's changes to the skill audit: skills to map although the audit excluded them, and skills to exclude
 * although it mapped them. `deepplan plan` takes them from the answers file (`skills: {map: [...], exclude: [...]}`),
 * `deepplan new` from the audit screen (space toggles a skill); both go through applySkillChoice.
 */
export interface SkillChoice {
  map: string[];
  exclude: string[];
  /** Phases a skill of `map` goes to, when the answers file names them (`map: {seo-audit: P7}`). */
  at?: Record<string, string[]>;
}

/** The audit as the caller may adjust it: what would be written, and why it cannot be yet (null: it can). */
export interface SkillAuditView {
  mapped: DraftSkills['mapped'];
  excluded: DraftSkills['excluded'];
  problem: string | null;
  /** The changes applied so far (relative to the audit's own result). */
  choice: SkillChoice;
}

export const NO_CHOICE: SkillChoice = { map: [], exclude: [] };

function firstSentence(text: string): string {
  const sentence = text.split(/(?<=[.;])\s/)[0] ?? text;
  return sentence.replace(/[.;]$/, '').trim();
}

function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 2);
}

/** The phase a skill fits best (BM25 over the phases' titles, steps, inputs and outputs), or null. */
function bestPhaseFor(name: string, description: string, phases: DraftPhase[]): DraftPhase | null {
  const search = new MiniSearch<{ id: string; text: string }>({ fields: ['text'], tokenize, searchOptions: { prefix: true, fuzzy: 0.15 } });
  search.addAll(
    phases.map((phase) => ({
      id: phase.id,
      text: [
        phase.title,
        ...phase.inputs,
        ...phase.outputs,
        ...phase.steps.map((step) => (step.kind === 'model' ? step.text : step.kind === 'skill' ? step.skill : step.command)),
      ].join(' '),
    })),
  );
  const hit = search.search(`${name.replace(/-/g, ' ')} ${description}`, { combineWith: 'OR' })[0];
  return hit ? (phases.find((phase) => phase.id === hit.id) ?? null) : null;
}

/**
 * Applies a choice to the audit's result. Each change that cannot be made (an unknown skill, a skill that is the only
 * step of a phase) is left out and named in `problems`, as are the audit's minimums (3 mapped,
 * 2 excluded); a plan is written only without problems. `applied`: the changes that were made.
 */
export function applySkillChoice(
  audit: AuditResult,
  index: SkillIndex,
  choice: SkillChoice,
): { skills: DraftSkills; phases: DraftPhase[]; problems: string[]; applied: SkillChoice } {
  const phases = audit.phases.map((phase) => ({ ...phase, steps: [...phase.steps] }));
  const mapped = audit.skills.mapped.map((skill) => ({ ...skill, phases: [...skill.phases] }));
  const excluded = audit.skills.excluded.map((skill) => ({ ...skill }));
  const problems: string[] = [];
  const applied: SkillChoice = { map: [], exclude: [] };
  const description = (name: string) => firstSentence(index.skills.get(name)?.description ?? '');

  for (const name of choice.exclude) {
    const at = mapped.findIndex((skill) => skill.name === name);
    if (at < 0) {
      if (!excluded.some((skill) => skill.name === name)) problems.push(`${name} is not an installed skill`);
      continue;
    }
    // A step the skill took over goes back to the model step it replaced; a phase left with no step cannot be.
    const restored = (step: DraftPhase['steps'][number]) =>
      step.kind === 'skill' && step.skill === name ? (step.replaced ? [{ kind: 'model' as const, text: step.replaced }] : []) : [step];
    const sole = mapped[at]!.phases.find((id) => phases.find((phase) => phase.id === id)?.steps.flatMap(restored).length === 0);
    if (sole) {
      problems.push(`${name} is the only step of ${sole}, so it stays mapped`);
      continue;
    }
    for (const phase of phases) phase.steps = phase.steps.flatMap(restored);
    mapped.splice(at, 1);
    applied.exclude.push(name);
    excluded.unshift({ name, reason: `excluded by hand in the skill audit${description(name) ? ` (${description(name)})` : ''}` });
  }
  for (const name of choice.map) {
    if (mapped.some((skill) => skill.name === name)) continue;
    const skill = index.skills.get(name);
    if (!skill) {
      problems.push(`${name} is not an installed skill`);
      continue;
    }
    // The phases the answers file names; else those that write what the skill writes; else the phase its description
    // fits best; when nothing matches, the last phase (where the result is assembled).
    const contract = skillContract(skill);
    const named = choice.at?.[name];
    if (named) {
      const unknown = named.filter((id) => !phases.some((phase) => phase.id === id));
      if (unknown.length > 0) {
        problems.push(
          `${name} cannot be mapped to ${unknown.join(', ')}: the plan has no such phase (its phases: ${phases[0]?.id}–${phases[phases.length - 1]?.id})`,
        );
        continue;
      }
    }
    const writers = contract.writes.length > 0 ? phases.filter((phase) => placeFits(contract, phase)) : [];
    const fit = named ? null : writers.length === 0 ? bestPhaseFor(name, skill.description, phases) : null;
    const targets = named ? phases.filter((phase) => named.includes(phase.id)) : writers.length > 0 ? writers : [fit ?? phases[phases.length - 1]!];
    for (const phase of targets) placeSkill(phase, contract);
    applied.map.push(name);
    const at = excluded.findIndex((candidate) => candidate.name === name);
    if (at >= 0) excluded.splice(at, 1);
    const where = named
      ? ' (to the phases the answers file names)'
      : writers.length > 0
        ? ' (to the phases that write what it writes)'
        : fit
          ? ''
          : ' (to the last phase: no phase matched it)';
    mapped.push({ name, phases: targets.map((phase) => phase.id), why: `mapped by hand in the skill audit${where}: ${description(name) || name}` });
  }
  if (mapped.length < MIN_MAPPED) problems.push(`${mapped.length} skill(s) mapped; at least ${MIN_MAPPED} must be`);
  if (excluded.length < MIN_EXCLUDED) problems.push(`${excluded.length} skill(s) excluded; at least ${MIN_EXCLUDED} must be`);
  return { skills: { mapped, excluded }, phases, problems, applied };
}

/**
 * The choice after a person toggled `names` on the audit screen `view`: a mapped skill goes to exclude, an excluded
 * one to map; a toggle back to what the audit itself decided drops the change.
 */
export function toggleSkillChoice(view: SkillAuditView, names: string[]): SkillChoice {
  const map = new Set(view.choice.map);
  const exclude = new Set(view.choice.exclude);
  const mappedNow = new Set(view.mapped.map((skill) => skill.name));
  // What the audit mapped: mapped now and not by hand, or excluded by hand (even if that could not be done).
  const mappedByAudit = new Set([...[...mappedNow].filter((name) => !map.has(name)), ...exclude]);
  for (const name of names) {
    const toMapped = !mappedNow.has(name);
    map.delete(name);
    exclude.delete(name);
    if (toMapped && !mappedByAudit.has(name)) map.add(name);
    if (!toMapped && mappedByAudit.has(name)) exclude.add(name);
  }
  return { map: [...map], exclude: [...exclude] };
}

/** Whether a phase writes a file the skill's contract says it writes. */
function placeFits(contract: ReturnType<typeof skillContract>, phase: DraftPhase): boolean {
  const probe = { ...phase, steps: [...phase.steps] };
  const before = JSON.stringify(probe.steps);
  return placeSkill(probe, contract) > 0 && JSON.stringify(probe.steps) !== before && contract.writes.length > 0;
}

/** The `skills:` entry of an answers file: `{map: [names], exclude: [names]}` (a single name may be a string). */
export function parseSkillChoice(value: unknown): SkillChoice | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'skills must be a mapping like {map: [name], exclude: [name]}';
  const names = (key: string): string[] | string => {
    const entry = (value as Record<string, unknown>)[key];
    if (entry === undefined || entry === null) return [];
    const list = Array.isArray(entry) ? entry : [entry];
    if (!list.every((name) => typeof name === 'string' && name.trim() !== '')) return `skills.${key} must list skill names`;
    return list.map((name) => (name as string).trim());
  };
  const unknownKey = Object.keys(value).find((key) => key !== 'map' && key !== 'exclude');
  if (unknownKey) return `skills.${unknownKey} is not a setting; use skills.map and skills.exclude`;
  // `map: {seo-audit: P7, enrich-account: [P3, P4]}`: skills with the phases they go to.
  const given = (value as Record<string, unknown>)['map'];
  if (given !== null && typeof given === 'object' && !Array.isArray(given)) {
    const at: Record<string, string[]> = {};
    for (const [name, phases] of Object.entries(given as Record<string, unknown>)) {
      const ids = (Array.isArray(phases) ? phases : [phases]).map((id) => String(id).trim());
      if (ids.length === 0 || !ids.every((id) => /^P\d+[a-z]?$/.test(id))) return `skills.map.${name} must name phases like P3 (or a list of them)`;
      at[name] = ids;
    }
    const exclude = names('exclude');
    if (typeof exclude === 'string') return exclude;
    const both = Object.keys(at).find((name) => exclude.includes(name));
    if (both) return `${both} is in both skills.map and skills.exclude`;
    return { map: Object.keys(at), exclude, at };
  }
  const map = names('map');
  const exclude = names('exclude');
  if (typeof map === 'string') return map;
  if (typeof exclude === 'string') return exclude;
  const both = map.find((name) => exclude.includes(name));
  if (both) return `${both} is in both skills.map and skills.exclude`;
  return { map, exclude };
}
