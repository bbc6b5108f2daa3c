import MiniSearch from 'minisearch';
import type { DraftPhase, DraftSkills } from '../pipeline/draft.js';
import type { Skill, SkillIndex } from './discover.js';

export const MIN_MAPPED = 3;
export const MIN_EXCLUDED = 2;

export interface AuditResult {
  skills: DraftSkills;
  /** Phases with the `/skill` steps the audit added, so every mapped skill is invoked where it is mapped. */
  phases: DraftPhase[];
  /** What the audit decided and why, one line each. */
  notes: string[];
  /** Set when the audit cannot reach 3 mapped and 2 excluded skills with what is installed. */
  shortfall: string | null;
}

const DEPRECATED = /\b(deprecated|legacy|do not use|obsolete|superseded)\b/i;

const STOP_WORDS = new Set(
  'the and for with from one per each into its this that are was were has have had not but all any can our your their them then than when what which who will would should could about over under after before also only just more most some such very via use uses using out off own same both few'.split(' '),
);

function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 2 && !STOP_WORDS.has(word));
}

function phaseText(phase: DraftPhase): string {
  return [phase.title, ...phase.steps.map((step) => (step.kind === 'model' ? step.text : step.kind === 'skill' ? step.skill : step.command)), ...(phase.hints ?? [])].join(' ');
}

/**
 * The skill audit: skills the phases already invoke are mapped to those phases; other installed skills are ranked
 * against each phase with BM25 (MiniSearch) and the best matches mapped, with a `/skill` step added; the
 * rest are excluded with a reason, the most relevant first. Deprecated skills (by their description) are never mapped.
 */
export function auditSkills(request: string, phases: DraftPhase[], index: SkillIndex): AuditResult {
  const notes: string[] = [];
  const skills = [...index.skills.values()];
  const search = new MiniSearch<Skill & { id: string; words: string }>({
    fields: ['words', 'description'],
    storeFields: ['name'],
    tokenize,
    searchOptions: { boost: { words: 2 }, prefix: true, fuzzy: 0.15 },
  });
  search.addAll(skills.map((skill) => ({ ...skill, id: skill.name, words: skill.name.replace(/-/g, ' ') })));

  const mapping = new Map<string, Set<string>>();
  const why = new Map<string, string>();
  const updated = phases.map((phase) => ({ ...phase, steps: [...phase.steps] }));
  for (const phase of updated) {
    for (const step of phase.steps) {
      if (step.kind !== 'skill') continue;
      if (!index.skills.has(step.skill)) notes.push(`${phase.id} invokes /${step.skill}, which is not installed`);
      if (!mapping.has(step.skill)) mapping.set(step.skill, new Set());
      mapping.get(step.skill)!.add(phase.id);
      why.set(step.skill, why.get(step.skill) ?? index.skills.get(step.skill)?.description ?? 'invoked by the plan');
    }
  }

  // Relevance of every skill to the request as a whole, for mapping and for ordering the exclusions.
  const requestScores = new Map(search.search(request).map((hit) => [hit.id as string, hit.score]));
  // Every (phase, skill) match, best first; each phase without a skill step takes at most one skill, each skill one
  // phase, and weak matches (under a quarter of the best) are left out.
  const pairs: Array<{ phase: (typeof updated)[number]; name: string; score: number }> = [];
  for (const phase of updated) {
    if (phase.steps.some((step) => step.kind === 'skill')) continue;
    for (const hit of search.search(phaseText(phase))) {
      const name = hit.id as string;
      if (!DEPRECATED.test(index.skills.get(name)?.description ?? '')) pairs.push({ phase, name, score: hit.score + (requestScores.get(name) ?? 0) * 0.5 });
    }
  }
  pairs.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  const floor = (pairs[0]?.score ?? 0) * 0.25;
  const served = new Set<string>();
  for (const { phase, name, score } of pairs) {
    if (score < floor || served.has(phase.id) || mapping.has(name)) continue;
    served.add(phase.id);
    phase.steps.unshift({ kind: 'skill', skill: name, args: '' });
    mapping.set(name, new Set([phase.id]));
    why.set(name, index.skills.get(name)!.description);
    notes.push(`mapped ${name} to ${phase.id} (best match for "${phase.title}") and added a /${name} step`);
  }

  const mapped = [...mapping.entries()].map(([name, ids]) => ({ name, phases: [...ids], why: firstSentence(why.get(name) ?? '') }));
  const excluded = skills
    .filter((skill) => !mapping.has(skill.name))
    .sort((a, b) => (requestScores.get(b.name) ?? 0) - (requestScores.get(a.name) ?? 0) || a.name.localeCompare(b.name))
    .map((skill) => ({ name: skill.name, reason: exclusionReason(skill, requestScores.get(skill.name)) }));
  for (const skill of index.invalid) notes.push(`skipped an invalid skill in ${skill.dir}: ${skill.problem}`);

  const problems: string[] = [];
  if (mapped.length < MIN_MAPPED) problems.push(`${mapped.length} skill(s) fit the phases; at least ${MIN_MAPPED} must be mapped`);
  if (excluded.length < MIN_EXCLUDED) problems.push(`${excluded.length} skill(s) left to exclude; at least ${MIN_EXCLUDED} must be excluded`);
  return {
    skills: { mapped, excluded },
    phases: updated,
    notes,
    shortfall: problems.length > 0 ? `${problems.join('; ')} (searched ${index.searched.length} skill folders, ${skills.length} valid skills)` : null,
  };
}

function firstSentence(text: string): string {
  const sentence = text.split(/(?<=[.;])\s/)[0] ?? text;
  return sentence.replace(/[.;]$/, '').trim();
}

function exclusionReason(skill: Skill, score: number | undefined): string {
  if (DEPRECATED.test(skill.description)) return `deprecated by its own description (${firstSentence(skill.description)})`;
  if (score === undefined) return `nothing in the request calls for it (${firstSentence(skill.description)})`;
  return `related to the request, but no phase needs it: ${firstSentence(skill.description)}`;
}
