import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import MiniSearch from 'minisearch';
import { parse } from 'yaml';
import picomatch from 'picomatch';
import type { DraftPhase, DraftSkills, DraftStep } from '../plan/draft-types.js';
import { skillContract, type SkillContract } from './contract.js';
import type { Skill, SkillIndex } from './discover.js';

export const MIN_MAPPED = 3;
export const MIN_EXCLUDED = 2;

export interface AuditResult {
  skills: DraftSkills;
  /** Phases with the `/skill` steps the audit put in, so every mapped skill is invoked where it is mapped. */
  phases: DraftPhase[];
  /** What the audit decided and why, one line each. */
  notes: string[];
  /**
   * Set when the audit cannot reach 3 mapped and 2 excluded skills with what is installed: which phases found no
   * skill and why, and how to map one by hand.
   */
  shortfall: string | null;
}

const DEPRECATED = /\b(deprecated|legacy|do not use|don't use|obsolete|superseded|no longer (?:maintained|supported|used))\b/i;

const STOP_WORDS = new Set(
  'the and for with from one per each into its this that are was were has have had not but all any can our your their them then than when what which who will would should could about over under after before also only just more most some such very via use uses using out off own same both few'.split(
    ' ',
  ),
);

function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 2 && !STOP_WORDS.has(word));
}

function phaseText(phase: DraftPhase): string {
  return [
    phase.title,
    ...phase.steps.map((step) => (step.kind === 'model' ? step.text : step.kind === 'skill' ? step.skill : step.command)),
    ...(phase.hints ?? []),
  ].join(' ');
}

function firstSentence(text: string): string {
  const sentence = text.split(/(?<=[.;])\s/)[0] ?? text;
  return sentence.replace(/[.;]$/, '').trim();
}

/**
 * Why a skill must not be used, when it says so itself: its description, its metadata (`deprecated: true`,
 * `status: deprecated`) or the first lines of its instructions. null when it does not.
 */
export function deprecationOf(skill: Skill): string | null {
  if (DEPRECATED.test(skill.description)) return `deprecated by its own description (${firstSentence(skill.description)})`;
  const metadata = metadataOf(skill);
  const status = metadata['status'] ?? metadata['lifecycle'];
  if (metadata['deprecated'] === true || metadata['deprecated'] === 'true' || (typeof status === 'string' && DEPRECATED.test(status))) {
    const replaced =
      typeof metadata['replaced-by'] === 'string'
        ? `; replaced by ${metadata['replaced-by']}`
        : typeof metadata['replaced_by'] === 'string'
          ? `; replaced by ${metadata['replaced_by']}`
          : '';
    return `deprecated by its SKILL.md metadata${replaced} (${firstSentence(skill.description)})`;
  }
  const opening = skill.body
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .slice(0, 4)
    .join(' ');
  const said = DEPRECATED.exec(opening);
  if (said) return `its instructions say "${said[0]}" (${firstSentence(opening).slice(0, 100)})`;
  return null;
}

/** The `metadata:` of a skill's front matter (empty when it has none or it cannot be read). */
function metadataOf(skill: Skill): Record<string, unknown> {
  try {
    const text = readFileSync(join(skill.dir, 'SKILL.md'), 'utf8');
    const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
    const data = match ? (parse(match[1]!, { maxAliasCount: 20 }) as { metadata?: unknown } | null) : null;
    return data?.metadata && typeof data.metadata === 'object' ? (data.metadata as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A contract path (`enriched/<account>.yaml`, `drafts/{contact}.md`, `deals/*.yaml`) as a glob. */
function contractGlob(path: string): string {
  return path.replace(/^\.\//, '').replace(/<[^>]*>|\{[^}]*\}/g, '*');
}

/** A plan path as a sample file for matching (`drafts/*.md` → `drafts/x.md`). */
function sampleOf(path: string): string {
  return path
    .replace(/^\.\//, '')
    .replace(/\*\*\/?/g, 'x/')
    .replace(/\*/g, 'x');
}

function matcher(patterns: string[]): ((path: string) => boolean) | null {
  if (patterns.length === 0) return null;
  const globs = patterns.map(contractGlob);
  const test = picomatch(globs, { dot: true });
  return (path: string) => test(sampleOf(path)) || test(path.replace(/^\.\//, ''));
}

/** Paths a step names (code spans, or words with a slash). */
function pathsIn(text: string): string[] {
  return [...text.matchAll(/`?((?:[\w.@{}-]+\/)+[\w.@{}*-]+)`?/g)].map((match) => match[1]!.replace(/[.,;:]+$/, ''));
}

function stepWords(step: DraftStep): string {
  return step.kind === 'model' ? step.text : step.kind === 'skill' ? `${step.skill} ${step.args}` : step.command;
}

/** What a skill serves in a phase: the outputs it writes there and the inputs it reads there. */
interface Fit {
  writes: string[];
  reads: string[];
}

function fitOf(contract: SkillContract, phase: DraftPhase): Fit {
  const writes = matcher(contract.writes);
  const reads = matcher(contract.reads);
  return {
    writes: writes ? phase.outputs.filter(writes) : [],
    reads: reads ? phase.inputs.filter(reads) : [],
  };
}

/** The values a contract path's placeholders take in a plan path (`sites/<city>/<page>.md`, `sites/austin/home.md` → city austin, page home). */
function capturesOf(pattern: string, path: string): Array<{ name: string; value: string }> | null {
  const names: string[] = [];
  const source = pattern
    .replace(/^\.\//, '')
    .split(/(<[^>]*>|\{[^}]*\}|\*\*|\*)/)
    .map((part) => {
      if (part === '**') return '.*';
      if (part === '*') return '[^/]*';
      const placeholder = /^<([^>]*)>$|^\{([^}]*)\}$/.exec(part);
      if (placeholder) {
        names.push((placeholder[1] ?? placeholder[2] ?? '').toLowerCase());
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const match = new RegExp(`^${source}$`).exec(path.replace(/^\.\//, ''));
  return match ? names.map((name, index) => ({ name, value: match[index + 1]! })) : null;
}

/**
 * The arguments of a skill step for the work one step does. Each `<placeholder>` of the skill's declared arguments
 * takes the value the same placeholder has in the file the step reads or writes (`<page-file>`: the file itself);
 * without declared arguments, the entity's name (the first placeholder's value); none for a skill whose files have
 * no placeholder.
 */
function argumentsFor(contract: SkillContract, step: DraftStep, fit: Fit): string {
  const mentioned = pathsIn(stepWords(step));
  const found: Array<{ file: string; values: Array<{ name: string; value: string }> }> = [];
  for (const [paths, patterns] of [
    [fit.reads, contract.reads],
    [fit.writes, contract.writes],
  ] as const) {
    for (const file of mentioned.filter((path) => paths.includes(path) && !path.includes('*'))) {
      for (const pattern of patterns) {
        const values = capturesOf(pattern, file);
        if (values) found.push({ file, values });
      }
    }
  }
  if (found.length === 0) return '';
  const wanted = [...(contract.arguments ?? '').matchAll(/<([^>]+)>|\{([^}]+)\}/g)].map((match) => (match[1] ?? match[2]!).toLowerCase());
  if (wanted.length === 0) return found.find((entry) => entry.values.length > 0)?.values.at(-1)?.value ?? '';
  const args = wanted.map((name) => {
    if (/(?:^|[-_ ])(file|path)$/.test(name)) {
      const base = name.replace(/[-_ ]?(file|path)$/, '');
      return (found.find((entry) => entry.values.some((value) => value.name === base)) ?? found[0]!).file;
    }
    for (const entry of found) {
      const value = entry.values.find((candidate) => candidate.name === name);
      if (value) return value.value;
    }
    return null;
  });
  // An argument the files cannot fill (a flag, a date) is left to the skill's own default.
  return args.filter((arg): arg is string => arg !== null).join(' ');
}

/**
 * Puts a skill into a phase as the step that does the work it does: each model step that names a file the skill
 * writes (or, for a skill that declares no files, the phase's first model step) becomes `/skill <arguments>`. Returns
 * how many steps it became; 0 when the phase has no step the skill can take over (then a step is added first).
 */
export function placeSkill(phase: DraftPhase, contract: SkillContract, fit: Fit = fitOf(contract, phase)): number {
  let placed = 0;
  const names = (step: DraftStep) => pathsIn(stepWords(step));
  phase.steps = phase.steps.map((step) => {
    if (step.kind !== 'model') return step;
    const named = names(step);
    const serves =
      fit.writes.length > 0
        ? fit.writes.some((output) => named.includes(output))
        : fit.reads.length > 0
          ? fit.reads.some((input) => named.includes(input))
          : false;
    if (!serves) return step;
    placed++;
    return { kind: 'skill', skill: contract.name, args: argumentsFor(contract, step, fit), replaced: step.text };
  });
  if (placed > 0) return placed;
  const first = phase.steps.findIndex((step) => step.kind === 'model');
  if (first >= 0 && phase.steps.filter((step) => step.kind === 'model').length === 1 && fit.writes.length + fit.reads.length === 0) {
    phase.steps[first] = { kind: 'skill', skill: contract.name, args: '', replaced: (phase.steps[first] as { text: string }).text };
    return 1;
  }
  phase.steps.splice(first >= 0 ? first : 0, 0, { kind: 'skill', skill: contract.name, args: '' });
  return 0;
}

/** `P3–P15` for a run of consecutive phases, else a list. */
function phaseList(ids: string[]): string {
  if (ids.length <= 2) return ids.join(', ');
  return `${ids[0]}–${ids[ids.length - 1]} (${ids.length} phases)`;
}

type Search = MiniSearch<Skill & { id: string; words: string }>;

/** What one audit works on and what it has decided so far; each step of auditSkills adds to it. */
interface AuditRun {
  index: SkillIndex;
  skills: Skill[];
  contracts: Map<string, SkillContract>;
  /** Deprecated skills and why (never mapped). */
  deprecated: Map<string, string>;
  search: Search;
  /** How well each skill's description fits the request. */
  requestScores: Map<string, number>;
  /** The phases, with the steps the audit placed skills into. */
  phases: DraftPhase[];
  /** Phases that have a skill step. */
  served: Set<string>;
  /** Skill → the phases it is mapped to, and why. */
  mapping: Map<string, string[]>;
  why: Map<string, string>;
  notes: string[];
}

function startAudit(request: string, phases: DraftPhase[], index: SkillIndex): AuditRun {
  const skills = [...index.skills.values()];
  const deprecated = new Map(
    skills.flatMap((skill) => {
      const reason = deprecationOf(skill);
      return reason ? [[skill.name, reason] as const] : [];
    }),
  );
  const search: Search = new MiniSearch<Skill & { id: string; words: string }>({
    fields: ['words', 'description'],
    storeFields: ['name'],
    tokenize,
    searchOptions: { boost: { words: 2 }, prefix: true, fuzzy: 0.15 },
  });
  search.addAll(skills.map((skill) => ({ ...skill, id: skill.name, words: skill.name.replace(/-/g, ' ') })));
  return {
    index,
    skills,
    contracts: new Map(skills.map((skill) => [skill.name, skillContract(skill)])),
    deprecated,
    search,
    requestScores: new Map(search.search(request).map((hit) => [hit.id as string, hit.score])),
    phases: phases.map((phase) => ({ ...phase, steps: [...phase.steps] })),
    served: new Set(),
    mapping: new Map(),
    why: new Map(),
    notes: [],
  };
}

function mapSkill(run: AuditRun, name: string, id: string): void {
  const ids = run.mapping.get(name) ?? [];
  if (!ids.includes(id)) ids.push(id);
  run.mapping.set(name, ids);
}

/** 0. Skills the phases already invoke are mapped to those phases. */
function mapInvoked(run: AuditRun): void {
  for (const phase of run.phases) {
    for (const step of phase.steps) {
      if (step.kind !== 'skill') continue;
      if (!run.index.skills.has(step.skill)) run.notes.push(`${phase.id} invokes /${step.skill}, which is not installed`);
      mapSkill(run, step.skill, phase.id);
      run.why.set(step.skill, run.why.get(step.skill) ?? firstSentence(run.index.skills.get(step.skill)?.description ?? 'invoked by the plan'));
    }
  }
  for (const phase of run.phases) if (phase.steps.some((step) => step.kind === 'skill')) run.served.add(phase.id);
}

/** 1. By contract: a skill that writes what a phase writes does that phase's work (every such phase: one per entity group). */
function mapByContract(run: AuditRun): void {
  const { contracts, served } = run;
  const byContract: Array<{ name: string; phase: DraftPhase; fit: Fit; score: number }> = [];
  for (const skill of run.skills) {
    if (run.deprecated.has(skill.name) || run.mapping.has(skill.name)) continue;
    const contract = contracts.get(skill.name)!;
    if (contract.writes.length === 0 && contract.reads.length === 0) continue;
    for (const phase of run.phases) {
      if (served.has(phase.id)) continue;
      const fit = fitOf(contract, phase);
      // A skill that says what it writes serves a phase that writes it; one that only says what it reads serves a
      // phase that reads it only when its description fits the phase's work too.
      if (contract.writes.length > 0 ? fit.writes.length === 0 : fit.reads.length === 0) continue;
      const described = descriptionScore(skill, phase);
      if (contract.writes.length === 0 && described === 0) continue;
      byContract.push({ name: skill.name, phase, fit, score: fit.writes.length * 10 + fit.reads.length * 3 + described });
    }
  }
  byContract.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  for (const { name, phase, fit } of byContract) {
    if (served.has(phase.id)) continue;
    served.add(phase.id);
    placeSkill(phase, contracts.get(name)!, fit);
    mapSkill(run, name, phase.id);
    const contract = contracts.get(name)!;
    const declared = (patterns: string[], paths: string[]) => patterns.filter((pattern) => paths.some((path) => matcher([pattern])!(path))).map(contractGlob);
    const files =
      fit.writes.length > 0 ? `writes ${declared(contract.writes, fit.writes).join(', ')}` : `reads ${declared(contract.reads, fit.reads).join(', ')}`;
    run.why.set(name, `${firstSentence(run.index.skills.get(name)!.description)} (${files})`);
  }
  for (const [name, ids] of run.mapping) {
    if (byContract.some((entry) => entry.name === name && ids.includes(entry.phase.id)))
      run.notes.push(`mapped ${name} to ${phaseList(ids)} by its contract (the files it writes and reads) and made it the step that does that work`);
  }
}

/**
 * 2. By description: each phase still without a skill takes at most one skill that declares no files, each such
 * skill one phase; weak matches (under a quarter of the best) are left out.
 */
function mapByDescription(run: AuditRun): void {
  const { contracts, served } = run;
  const pairs: Array<{ phase: DraftPhase; name: string; score: number }> = [];
  for (const phase of run.phases) {
    if (served.has(phase.id)) continue;
    for (const hit of run.search.search(phaseText(phase))) {
      const name = hit.id as string;
      const contract = contracts.get(name)!;
      if (run.deprecated.has(name) || run.mapping.has(name)) continue;
      // A skill whose contract names the files it writes belongs only where those files are written.
      if (contract.writes.length > 0 && fitOf(contract, phase).writes.length === 0) continue;
      pairs.push({ phase, name, score: hit.score + (run.requestScores.get(name) ?? 0) * 0.5 });
    }
  }
  pairs.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  const floor = (pairs[0]?.score ?? 0) * 0.25;
  for (const { phase, name, score } of pairs) {
    if (score < floor || served.has(phase.id) || run.mapping.has(name)) continue;
    served.add(phase.id);
    const placed = placeSkill(phase, contracts.get(name)!);
    mapSkill(run, name, phase.id);
    run.why.set(name, firstSentence(run.index.skills.get(name)!.description));
    run.notes.push(
      `mapped ${name} to ${phase.id} (best match for "${phase.title}") and ${placed > 0 ? 'made it the step that does that work' : `added a /${name} step`}`,
    );
  }
}

type AuditSkills = AuditResult['skills'];

/** The Skills section: the mapped skills, and every other one excluded with its reason (deprecated ones first). */
function skillsSection(run: AuditRun): AuditSkills {
  const { deprecated, requestScores } = run;
  const mapped = [...run.mapping.entries()].map(([name, ids]) => ({ name, phases: ids, why: (run.why.get(name) ?? '').replace(/\|/g, '/') }));
  const excluded = run.skills
    .filter((skill) => !run.mapping.has(skill.name))
    .sort(
      (a, b) =>
        Number(deprecated.has(b.name)) - Number(deprecated.has(a.name)) ||
        (requestScores.get(b.name) ?? 0) - (requestScores.get(a.name) ?? 0) ||
        a.name.localeCompare(b.name),
    )
    .map((skill) => ({
      name: skill.name,
      reason: exclusionReason(skill, run.contracts.get(skill.name)!, deprecated.get(skill.name) ?? null, requestScores.get(skill.name)).replace(/\|/g, '/'),
    }));
  return { mapped, excluded };
}

/** Why the audit falls short of MIN_MAPPED mapped or MIN_EXCLUDED excluded skills, and what to do; null when it does not. */
function shortfallOf(run: AuditRun, { mapped, excluded }: AuditSkills): string | null {
  const { deprecated } = run;
  const problems: string[] = [];
  if (mapped.length < MIN_MAPPED) {
    const unserved = run.phases.filter((phase) => !run.served.has(phase.id));
    const what = (phase: DraftPhase) =>
      `${phase.id} "${phase.title}"${phase.outputs.length > 0 ? ` (writes ${phase.outputs.slice(0, 2).join(', ')}${phase.outputs.length > 2 ? ' …' : ''})` : ''}`;
    const unfit = excluded.filter((skill) => !deprecated.has(skill.name));
    problems.push(
      `${mapped.length} skill(s) fit the phases${mapped.length > 0 ? ` (${mapped.map((skill) => `${skill.name} → ${phaseList(skill.phases)}`).join('; ')})` : ''}; at least ${MIN_MAPPED} must be mapped. ` +
        `No skill was found for ${unserved.slice(0, 4).map(what).join(', ')}${unserved.length > 4 ? ` and ${unserved.length - 4} more` : ''}: no installed skill declares that it writes those files (metadata.writes in its SKILL.md) or describes that work` +
        (unfit.length > 0
          ? `; the others: ${unfit
              .slice(0, 3)
              .map((skill) => `${skill.name} (${skill.reason})`)
              .join('; ')}`
          : '') +
        (deprecated.size > 0 ? `; deprecated, never mapped: ${[...deprecated.keys()].join(', ')}` : ''),
    );
  }
  if (excluded.length < MIN_EXCLUDED)
    problems.push(`${excluded.length} skill(s) left to exclude; at least ${MIN_EXCLUDED} must be excluded (exclude one by hand: skills: {exclude: [name]})`);
  const howTo =
    'map one by hand in an answers file (deepplan plan --answers answers.yaml): skills: {map: [<skill>]} puts it on the phase its files or description fit, skills: {map: {<skill>: P3}} on that phase; or install a skill (.claude/skills/<name>/SKILL.md) whose metadata.writes names the files those phases write';
  return problems.length > 0
    ? `${problems.join('; ')} (searched ${run.index.searched.length} skill folders, ${run.skills.length} valid skills); ${howTo}`
    : null;
}

/**
 * The skill audit. Skills the phases already invoke are mapped to those phases. Every other installed skill is
 * matched by its contract (the files its SKILL.md says it writes and reads: `metadata.writes`/`reads`, or its
 * instructions' own sentences) to the phases that write and read those files, and by its description (BM25,
 * MiniSearch) to a phase that does that work; it takes over the step that does that work. Deprecated skills (by
 * their description, metadata or instructions) are never mapped; the rest are excluded with a reason.
 */
export function auditSkills(request: string, phases: DraftPhase[], index: SkillIndex): AuditResult {
  const run = startAudit(request, phases, index);
  mapInvoked(run);
  mapByContract(run);
  mapByDescription(run);
  const skills = skillsSection(run);
  for (const skill of index.invalid) run.notes.push(`skipped an invalid skill in ${skill.dir}: ${skill.problem}`);
  return { skills, phases: run.phases, notes: run.notes, shortfall: shortfallOf(run, skills) };
}

function descriptionScore(skill: Skill, phase: DraftPhase): number {
  const search = new MiniSearch<{ id: string; text: string }>({ fields: ['text'], tokenize, searchOptions: { prefix: true, fuzzy: 0.15 } });
  search.add({ id: phase.id, text: phaseText(phase) });
  return search.search(`${skill.name.replace(/-/g, ' ')} ${skill.description}`, { combineWith: 'OR' })[0]?.score ?? 0;
}

function exclusionReason(skill: Skill, contract: SkillContract, deprecated: string | null, score: number | undefined): string {
  if (deprecated) return deprecated;
  if (contract.writes.length > 0)
    return `no phase writes what it writes (${contract.writes.slice(0, 2).map(contractGlob).join(', ')}): ${firstSentence(skill.description)}`;
  if (score === undefined) return `nothing in the request calls for it (${firstSentence(skill.description)})`;
  return `related to the request, but no phase needs it: ${firstSentence(skill.description)}`;
}
