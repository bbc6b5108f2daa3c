import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { escapePath, globSync, isDynamicPattern } from 'tinyglobby';
import { parse } from 'yaml';
import * as z from 'zod';
import { FILE_OPS_WARN } from '../rules/phase-file-ops.js';
import { MAX_PHASES } from '../rules/phase-count.js';
import { contextModeFor } from '../rules/phase-context-mode.js';
import { actionInText, forbiddenKinds } from '../rules/irreversible-action.js';
import { overlaps } from '../rules/plan-paths.js';
import { PipelineError } from './errors.js';
import { entityFolders } from './context.js';
import { pathSlug, stepText, type DraftCriterion, type DraftPhase, type DraftStep } from './draft.js';
import { fillPlaceholders as fill, readOverridable } from './prompts.js';
import { requestFacts } from './sufficiency.js';
import { MIN_TEMPLATE_SCORE, rankTemplates, type TemplateMatch } from './workstream.js';

/**
 * Offline plan templates (plans/templates/<name>.yaml): phases with `{placeholders}`. A phase with `each: source`
 * repeats once per source file named in the request; a phase with `each: {files, as}` repeats once per entity the
 * repository holds (one file each, e.g. one contact of the account the request names), and falls back to its
 * `otherwise:` form when there is none. A `prompts`-style override: a repository's own plans/templates/<name>.yaml
 * wins over the shipped one.
 */

const PLACEHOLDER_NAME = /^[a-z_]+$/;

const PhaseBody = {
  title: z.string(),
  inputs: z.array(z.string()).default([]),
  outputs: z.array(z.string()).default([]),
  steps: z.array(z.string()).min(1),
  done: z.object({ text: z.string(), verify: z.string().optional() }),
  /**
   * Words a skill serving this phase would use in its name or description ("newsletter", "render", "html"): the
   * offline skill audit matches skills on them as well as on the title and steps. Not written into the plan.
   */
  hints: z.array(z.string()).default([]),
};

/**
 * One phase per entity: `files` is a glob relative to the repository root whose matches are the entities; a path
 * segment that is a placeholder no value fills (`crm/contacts/{account_slug}/*.yaml`) is the folder there whose
 * name the request names. `as: contact` gives the phase `{contact}` (the file's name without its extension) and
 * `{contact_file}` (its path). Over the plan's phase cap, entities are grouped, titled `group_title`
 * (`{from}`, `{to}`, `{total}`).
 */
const EachEntity = z.object({
  files: z
    .string()
    .min(1)
    .refine((files) => !files.startsWith('/') && !files.split('/').includes('..'), 'a glob inside the repository (no leading / and no ..)'),
  as: z.string().regex(PLACEHOLDER_NAME, 'a placeholder name: lower-case letters and _'),
  group_title: z.string().optional(),
  /**
   * For `files: "{entity_folder}/*"`: folder names that hold this kind of entity (`[accounts, companies]`), for a
   * request that names neither a folder path nor the folder's name.
   */
  folders: z.array(z.string()).default([]),
});

const TemplatePhase = z
  .object({
    each: z.union([z.literal('source'), EachEntity]).optional(),
    gate: z.enum(['none', 'human', 'review']).default('none'),
    ...PhaseBody,
    /** The one-phase form of an `each: {files}` phase, used when the repository holds no such entity. */
    otherwise: z.object(PhaseBody).optional(),
  })
  .refine((phase) => phase.otherwise === undefined || (typeof phase.each === 'object' && phase.each !== null), {
    message: '`otherwise` belongs to a phase with `each: {files, as}`',
    path: ['otherwise'],
  });

/**
 * When the offline planner picks the template: `words` of a request that call for it, with their weights (paths are
 * not matched), and `job`, the one line the interview offers when the request does not say what the job is.
 * `needs` says, per placeholder only the request can fill (`target`), what the request must name.
 */
const Match = z.object({
  job: z.string(),
  words: z.record(z.string(), z.number().positive()),
  needs: z.record(z.string(), z.string()).default({}),
});

export const Template = z.object({
  match: Match.optional(),
  deliverable: z.enum(['infrastructure', 'content', 'research', 'analytics']),
  title: z.string(),
  phases: z.array(TemplatePhase).min(1),
  criteria: z.array(z.object({ text: z.string(), verify: z.string().optional() })).min(1),
  scope: z.object({ write: z.array(z.string()), commands: z.array(z.string()).optional() }).optional(),
});
export type Template = z.infer<typeof Template>;
type TemplateEntry = Template['phases'][number];
type EntitySpec = z.infer<typeof EachEntity>;

/** The names of the offline templates: the shipped ones and the repository's own plans/templates/*.yaml. */
export function templateNames(root: string | null): string[] {
  const names = new Set<string>();
  for (const dir of [new URL('../../plans/templates/', import.meta.url), ...(root ? [join(root, 'plans', 'templates')] : [])]) {
    try {
      for (const entry of readdirSync(dir).sort()) if (/^[a-z0-9][a-z0-9-]*\.yaml$/.test(entry)) names.add(entry.slice(0, -'.yaml'.length));
    } catch {
      // No such folder.
    }
  }
  return [...names];
}

/** A template's match words: its own, or (a repository's override without them) the shipped template's. */
function matchOf(name: string, root: string | null): z.infer<typeof Match> | null {
  let own: z.infer<typeof Match> | undefined;
  try {
    own = loadTemplate(name, root).match;
  } catch {
    // A template that does not load is never chosen; loading it by name says what is wrong with it.
    return null;
  }
  if (own) return own;
  try {
    return loadTemplate(name, null).match ?? null;
  } catch {
    return null;
  }
}

/** Every template with its job line, for the interview. */
export function templateJobs(root: string | null): Array<{ name: string; job: string }> {
  return templateNames(root).flatMap((name) => {
    const match = matchOf(name, root);
    return match ? [{ name, job: match.job }] : [];
  });
}

/**
 * The template that fits the request best, or null when none scores MIN_TEMPLATE_SCORE (then the offline planner
 * declines instead of filling a template that does not fit).
 */
export function chooseTemplate(request: string, root: string | null): TemplateMatch | null {
  const candidates = templateNames(root).flatMap((name) => {
    const match = matchOf(name, root);
    return match ? [{ name, words: match.words }] : [];
  });
  const best = rankTemplates(request, candidates)[0];
  return best && best.score >= MIN_TEMPLATE_SCORE ? best : null;
}

export function loadTemplate(name: string, root: string | null): Template {
  const found = readOverridable(`plans/templates/${name}.yaml`, root);
  if (!found) throw new Error(`no plan template named ${name}`);
  const result = Template.safeParse(parse(found.text));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`template ${found.source}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}

/** What the template engine may look at besides the values: the repository and the request. */
export interface FillOptions {
  /** The repository root the entity globs resolve in; without it, every `each: {files}` phase takes its one-phase form. */
  root?: string | null;
  /** The request, whose slug names the entity folder (`{account_slug}`). */
  request?: string;
  /** At most this many phases in all (default 25, the phase-count rule's cap): more entities are grouped. */
  maxPhases?: number;
  /** The template's name, for the messages that say which template could not be filled. */
  name?: string;
  /** Files the request names (for finding the entity folder). */
  sources?: string[];
}

export interface Entity {
  /** The file's name without its extension: `derick-schaefer`. */
  name: string;
  /** The file's path relative to the repository root: `crm/contacts/mod-op/derick-schaefer.yaml`. */
  file: string;
}

export interface EntityMatch {
  entities: Entity[];
  /** Files left out because their names are not plain words (they end up in commands and paths of the plan). */
  skipped: string[];
  /** Values the glob's placeholders were given (`{account_slug: 'mod-op'}`). */
  values: Record<string, string>;
  /** The glob with them filled in. */
  pattern: string;
  /** A placeholder segment no folder named in the request filled: the folders there were (for what it needs). */
  unnamed?: { placeholder: string; parent: string; folders: string[] };
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/**
 * The entities an `each.files` glob finds. A path segment that is one placeholder not in `values` is resolved to the
 * folder at that place whose name (slugified) appears as whole words in the slugified request, the longest such name
 * if several do; no folder named: no entities.
 */
export function findEntities(files: string, values: Record<string, string>, root: string, request: string, hints: string[] = []): EntityMatch {
  const wanted = `-${slug(request)}-`;
  const resolved: Record<string, string> = {};
  let fromFolder = false;
  if (files.includes('{entity_folder}') && values['entity_folder'] === undefined) {
    const folder = entityFolderFor(root, request, hints);
    if (!folder) return { entities: [], skipped: [], values: resolved, pattern: files };
    Object.assign(resolved, { entity_folder: folder, entity_parent: dirname(folder) === '.' ? '' : dirname(folder), entity_folder_name: basename(folder) });
    fromFolder = true;
  }
  const segments = fill(files, { ...values, ...resolved }).split('/');
  for (let index = 0; index < segments.length; index++) {
    const placeholder = /^\{([a-z_]+)\}$/.exec(segments[index]!);
    if (!placeholder) continue;
    const parent = segments.slice(0, index).join('/');
    if (/[*?[{]/.test(parent)) return { entities: [], skipped: [], values: resolved, pattern: segments.join('/') };
    let folders: string[];
    try {
      folders = readdirSync(parent ? `${root}/${parent}` : root, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    } catch {
      folders = [];
    }
    const named = folders
      .filter((folder) => slug(folder) !== '' && wanted.includes(`-${slug(folder)}-`))
      .sort((a, b) => slug(b).length - slug(a).length || a.localeCompare(b));
    if (named.length === 0)
      return { entities: [], skipped: [], values: resolved, pattern: segments.join('/'), unnamed: { placeholder: placeholder[1]!, parent, folders } };
    resolved[placeholder[1]!] = named[0]!;
    segments[index] = escapePath(named[0]!);
  }
  const pattern = segments.join('/');
  const all = globSync(pattern, { cwd: root, onlyFiles: true, expandDirectories: false })
    .sort()
    // A folder of entities may hold its own README or index: not an entity.
    .filter((file) => !(fromFolder && /^(readme|index|_)/i.test(basename(file))))
    .map((file) => ({ name: basename(file).replace(/\.[^.]+$/, ''), file }));
  // An entity's name goes into step arguments that a shell runs and into output paths: plain names only.
  const plain = (entity: Entity) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(entity.name) && /^[A-Za-z0-9._/-]+$/.test(entity.file);
  return { entities: all.filter(plain), skipped: all.filter((entity) => !plain(entity)).map((entity) => entity.file), values: resolved, pattern };
}

/**
 * What a placeholder that names an entity folder (`{account_slug}` in `crm/contacts/{account_slug}/*.yaml`) needs: the
 * name of a folder there, which the request does not name. A request that names the folder above them ("the 60
 * accounts in crm/contacts/") is told which folders there are (as findEntities listed them), and that the template
 * plans one at a time; any other request is not shown the other folders' names (a request for a new account is no
 * request for an existing one).
 */
function folderNeeded(name: string, matches: EntityMatch[], request: string): string {
  const unnamed = matches.find((match) => match.unnamed?.placeholder === name)?.unnamed;
  if (!unnamed || unnamed.parent === '') return 'the folder of the entities the request names';
  const { parent } = unnamed;
  const folders = unnamed.folders.filter((folder) => !folder.startsWith('.')).sort();
  if (!request.includes(parent) || folders.length < 2) return `the name of a folder in ${parent}/, which the request does not name`;
  const shown = folders.length > 3 ? `${folders.slice(0, 3).join(', ')}, \u2026` : folders.join(', ');
  return `the name of one of the ${folders.length} folders in ${parent}/ (${shown}), which the request does not name; the template plans one at a time`;
}

/** The lines of a file (0 when it cannot be read). */
function lineCount(path: string): number {
  try {
    const text = readFileSync(path, 'utf8');
    return text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  } catch {
    return 0;
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The folder of entities a request means: a folder path it gives (`crm/accounts/`), else the folder whose name is a
 * word of the request ("the 40 Stage 3 deals" → `crm/deals/stage-3/`), else one named like the template's kind of
 * entity (`hints`: accounts, companies). Folders are those of two or more like files (context.ts: entityFolders).
 */
export function entityFolderFor(root: string, request: string, hints: string[] = []): string | null {
  for (const match of request.matchAll(/(?<![\w/])((?:[\w.@-]+\/)*[\w.@-]+)\/?(?![\w/])/g)) {
    const path = match[1]!;
    if (!path.includes('/') && !match[0].endsWith('/')) continue;
    if (path.split('/').includes('..') || !isFolder(join(root, path))) continue;
    if (entityFolders(root, path).some((found) => found.folder === path)) return path;
  }
  const named = entityFolders(root, request).filter((found) => found.reason.startsWith('the request'));
  const kind = (folder: string) =>
    hints.some((hint) => basename(folder).toLowerCase() === hint.toLowerCase() || folder.toLowerCase().split('/').includes(hint.toLowerCase()));
  const best = named.find((found) => kind(found.folder)) ?? named[0];
  if (best) return best.folder;
  if (hints.length === 0) return null;
  return entityFolders(root, hints.join(' ')).find((found) => kind(found.folder))?.folder ?? null;
}

/**
 * The name the request gives for a placeholder only it can fill: `{target}`, the place or thing the work is for
 * that the repository does not hold yet ("roll it out to Denver" → Denver). null when it names none.
 */
export function targetOf(request: string, root: string | null, exclude: string[] = []): string | null {
  const skip = new Set(exclude.map((word) => word.toLowerCase()));
  const candidates: string[] = [];
  for (const match of request.matchAll(
    /\b(?:to|for|into|in|at)\s+(?:the\s+next\s+[a-z]+\s*[,:(—–-]?\s*(?:which\s+is\s+|i\.e\.\s+|namely\s+)?)?([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b/g,
  )) {
    const name = match[1]!;
    if (skip.has(name.toLowerCase()) || skip.has(name.split(/\s+/)[0]!.toLowerCase())) continue;
    if (
      /^(The|A|An|Our|Each|Every|All|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|May|June|July|August|September|October|November|December|Success|Constraints)$/.test(
        name,
      )
    )
      continue;
    // A place the repository already has a folder for is where the work comes from, not where it goes.
    if (root && globSync([`**/${slug(name)}`], { cwd: root, onlyDirectories: true, deep: 4, ignore: ['**/node_modules/**', '.git/**'] }).length > 0) continue;
    candidates.push(name);
  }
  return candidates[0] ?? null;
}

/** `a`, `a and b`, `a, b and c`. */
function listOf(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The verify commands of a group's entities, each of which must pass. */
function allOf(commands: string[]): string {
  const unique = [...new Set(commands)];
  return unique.length === 1 ? unique[0]! : unique.map((command) => (/\|\||;|&&/.test(command) ? `(${command})` : command)).join(' && ');
}

function toStep(text: string): DraftStep {
  const run = /^run:\s*`(.+)`$/.exec(text);
  if (run) return { kind: 'run', command: run[1]! };
  // `/skill-name args`: a skill step (a repository's template can name its own skills).
  const skill = /^\/([a-z0-9][a-z0-9-]*)(?:\s+(.*))?$/.exec(text);
  if (skill) return { kind: 'skill', skill: skill[1]!, args: skill[2] ?? '' };
  return { kind: 'model', text };
}

/** A phase of the plan before it is numbered: the filled title, files, steps and Done when. */
type Body = Omit<DraftPhase, 'id' | 'dependsOn' | 'context'>;

/**
 * The input that stands for the notes every `each: source` phase writes (their Outputs, once per source): the phase
 * that turns the sources into the plan's shared document (the brief, the rubric, the briefing) reads them, or the
 * notes are written for nobody. It is a whole item of `inputs:`, and stands for no file when the request names no
 * source. In a step, `{drawing_on_notes}` says the same (", drawing on notes/a.md and notes/b.md"; nothing without).
 */
const SOURCE_NOTES = '{source_notes}';
/** Where fillTemplate keeps the notes' paths among the placeholders' values: one a line. */
const SOURCE_NOTES_KEY = 'source_notes';

function bodyOf(entry: z.infer<z.ZodObject<typeof PhaseBody>>, gate: DraftPhase['gate'], round: Record<string, string>): Body {
  return {
    title: fill(entry.title, round),
    inputs: entry.inputs.flatMap((input) =>
      input.trim() === SOURCE_NOTES ? (round[SOURCE_NOTES_KEY] ?? '').split('\n').filter(Boolean) : [fill(input, round)],
    ),
    outputs: entry.outputs.map((output) => fill(output, round)),
    gate,
    ...(entry.hints.length > 0 ? { hints: entry.hints.map((hint) => fill(hint, round)) } : {}),
    doneWhen: { text: fill(entry.done.text, round), ...(entry.done.verify ? { verify: fill(entry.done.verify, round) } : {}) },
    steps: entry.steps.map((step) => toStep(fill(step, round))),
  };
}

/** Which entities a group phase holds: `group`, numbered from `from` of `total`. */
interface EntityGroup {
  group: Entity[];
  from: number;
  total: number;
}

/** One phase for a group of entities: every entity's files and steps, in turn; Done when holds for each of them. */
function groupBody(entry: TemplateEntry, values: Record<string, string>, { group, from, total }: EntityGroup): Body {
  const spec = entry.each as EntitySpec;
  const rounds = group.map((entity) => ({ ...values, [spec.as]: entity.name, [`${spec.as}_file`]: entity.file }));
  const bodies = rounds.map((round) => bodyOf(entry, entry.gate, round));
  if (bodies.length === 1) return bodies[0]!;
  const range = { ...values, from: String(from), to: String(from + group.length - 1), total: String(total) };
  const listed = { ...values, [spec.as]: listOf(group.map((entity) => entity.name)), [`${spec.as}_file`]: listOf(group.map((entity) => entity.file)) };
  const title = spec.group_title
    ? fill(spec.group_title, range)
    : fill(entry.title, {
        ...values,
        [spec.as]: `${spec.as}s ${range.from}–${range.to} of ${total}`,
        [`${spec.as}_file`]: `${spec.as} files ${range.from}–${range.to} of ${total}`,
      });
  const verifies = bodies.map((body) => body.doneWhen.verify).filter((verify): verify is string => verify !== undefined);
  const hints = [...new Set(bodies.flatMap((body) => body.hints ?? []))];
  return {
    title,
    inputs: [...new Set(bodies.flatMap((body) => body.inputs))],
    outputs: [...new Set(bodies.flatMap((body) => body.outputs))],
    gate: entry.gate,
    ...(hints.length > 0 ? { hints } : {}),
    doneWhen: { text: fill(entry.done.text, listed), ...(verifies.length === bodies.length ? { verify: allOf(verifies) } : {}) },
    steps: bodies.flatMap((body) => body.steps),
  };
}

/**
 * The group size that keeps the plan within `maxPhases`: the smallest size at which the entity phases fit in the
 * room the other phases leave (1 when they all fit one per entity; everything in one phase each when nothing fits).
 * `largest[i]`, when given, caps the groups of entity phase i (the most entities one phase holds within the file
 * operations limit); null when no size fits under those caps.
 */
export function groupSize(counts: number[], room: number, largest?: number[]): number;
export function groupSize(counts: number[], room: number, largest: number[] | undefined): number | null;
export function groupSize(counts: number[], room: number, largest?: number[]): number | null {
  const biggest = Math.max(1, ...counts);
  const phases = (size: number) => counts.reduce((sum, count, index) => sum + Math.ceil(count / Math.max(1, Math.min(size, largest?.[index] ?? size))), 0);
  for (let size = 1; size < biggest; size++) {
    if (phases(size) <= room) return size;
  }
  if (!largest) return biggest;
  return phases(biggest) <= room ? biggest : null;
}

/** The files a group's phase names: paths once each, a glob as what it matches in the repository (at least one). */
function operationsOf(body: Body, root: string | null | undefined): number {
  const files = new Set<string>();
  for (const pattern of [...body.inputs, ...body.outputs]) {
    const matched = root && isDynamicPattern(pattern) ? globSync(pattern, { cwd: root, onlyFiles: true, expandDirectories: false }) : [];
    if (matched.length === 0) files.add(pattern);
    for (const file of matched) files.add(file);
  }
  return files.size;
}

/** The most entities one phase of `entry` holds while it touches at most FILE_OPS_WARN files (at least one). */
function largestGroup(entry: TemplateEntry, values: Record<string, string>, entities: Entity[], root: string | null | undefined): number {
  let size = 1;
  while (
    size < entities.length &&
    operationsOf(groupBody(entry, values, { group: entities.slice(0, size + 1), from: 1, total: entities.length }), root) <= FILE_OPS_WARN
  )
    size++;
  return size;
}

/** `part 2 of 3` in a request: which plan of a series this one is. */
export function seriesPart(request: string): { part: number; of: number } | null {
  const match = /\bpart\s+(\d+)\s+of\s+(\d+)\b/i.exec(request);
  if (!match) return null;
  const part = Number(match[1]);
  const of = Number(match[2]);
  return part >= 1 && of >= 1 && part <= of && of <= 1000 ? { part, of } : null;
}

/** Entities `from`..`to` (1-based, inclusive) of part `part` of `of` even slices. */
function sliceOf<T>(items: T[], part: number, of: number): { items: T[]; from: number } {
  const size = Math.ceil(items.length / of);
  const start = Math.min(items.length, (part - 1) * size);
  return { items: items.slice(start, start + size), from: start + 1 };
}

/**
 * Why the entities do not fit one plan and how to plan them: a series of plans, each named by `part <n> of <k>` in
 * its request, run one after the other.
 */
/** What seriesAdvice weighs: the entity entries, what each matched, their counts and group sizes, the room left. */
interface SeriesFit {
  entries: TemplateEntry[];
  found: Map<TemplateEntry, EntityMatch>;
  counts: number[];
  largest: number[];
  room: number;
}

function seriesAdvice(template: Template, fit: SeriesFit, series: { part: number; of: number } | null): string {
  const { entries, found, counts, largest, room } = fit;
  const spec = entries[0]!.each as EntitySpec;
  const total = Math.max(...counts);
  const where = found.get(entries[0]!)!.pattern;
  const limits = `${MAX_PHASES} phases, each touching at most ${FILE_OPS_WARN} files`;
  let parts = 2;
  while (
    parts <= total &&
    groupSize(
      counts.map((count) => Math.ceil(count / parts)),
      room,
      largest,
    ) === null
  )
    parts++;
  if (room < entries.length || parts > total) {
    return `the ${template.title === '{request_title}' ? 'plan' : template.title} template leaves room for ${Math.max(0, room)} entity phase(s), too few for ${total} ${spec.as}(s) in ${where} (${limits}); shorten the template's fixed phases`;
  }
  const holds = Math.ceil(total / parts);
  const asked = series
    ? `part ${series.part} of ${series.of} holds ${Math.ceil(total / series.of)} of them, more than one plan holds`
    : 'more than one plan holds';
  return `${total} ${spec.as}(s) in ${where}: ${asked} (${limits}); plan them as a series of ${parts} plans of at most ${holds}, run one after the other: add "(part 1 of ${parts})" … "(part ${parts} of ${parts})" to the request and give each plan its own --out (plans/<id>-1.md … plans/<id>-${parts}.md)`;
}

/**
 * Each phase's Depends on, by what it needs. A fixed phase depends on the one before it, or, after a run of
 * per-entity phases, on every one of them that no later per-entity phase depends on (a closing phase waits for all).
 * A per-entity phase depends on the per-entity phases since the last fixed phase whose outputs it reads (rendering
 * contact 3's email waits for its draft), else on that fixed phase alone (the shared brief, the owner's go-ahead):
 * per-entity phases are siblings, which `deepplan run --parallel` runs at the same time.
 */
function dependencies(bodies: Body[], perEntity: Set<Body>): string[][] {
  const id = (index: number) => `P${index + 1}`;
  const depends: string[][] = [];
  let shared = -1;
  let block: number[] = [];
  bodies.forEach((body, index) => {
    if (!perEntity.has(body)) {
      const needed = new Set(block.flatMap((member) => depends[member]!));
      const leaves = block.filter((member) => !needed.has(id(member)));
      depends.push(leaves.length > 0 ? leaves.map(id) : index > 0 ? [id(index - 1)] : []);
      shared = index;
      block = [];
      return;
    }
    const producers = block.filter((member) => bodies[member]!.outputs.some((output) => body.inputs.some((input) => overlaps(input, output))));
    depends.push(producers.length > 0 ? producers.map(id) : shared >= 0 ? [id(shared)] : []);
    block.push(index);
  });
  return depends;
}

/**
 * The template's phases and criteria, numbered P1, P2, … in order, each depending on what it needs (dependencies()): `each: source`
 * phases once per source, `each: {files, as}` phases once per entity the repository holds (grouped when there are
 * more than the phase cap allows, the `otherwise` form when there is none). `notes` say what was found, for the
 * person watching the pipeline.
 */
const MEASURE_STOP = new Set([
  'the',
  'a',
  'an',
  'of',
  'in',
  'to',
  'is',
  'are',
  'has',
  'have',
  'its',
  'their',
  'and',
  'or',
  'for',
  'with',
  'on',
  'by',
  'be',
  'it',
  'that',
  'this',
  'file',
  'files',
]);

/**
 * The content words of a sentence, with plural and -ed/-ing endings taken off ("enriched accounts" → enrich, account;
 * "passes" and "pass" → pass, "pages" → page), a hyphenated word as its parts ("the seo-audit" → seo, audit).
 */
export function measureWords(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((word) => word.length > 1 && !MEASURE_STOP.has(word))
      .map((word) =>
        word
          .replace(/(?:ing|ed)$/, '')
          .replace(/(?<=ss|x|z|ch|sh)es$/, '')
          .replace(/(?<!s)s$/, ''),
      ),
  );
}

/**
 * The verify command that measures what a success sentence of the request says: when it joins several measures
 * ("every deal has a score and every rep has coaching notes") and a criterion measures each, all of their commands;
 * else that of the one criterion that measures the whole sentence (sameMeasure), or null.
 */
export function measuredBy(sentence: string, criteria: Array<{ text: string; verify?: string }>): string | null {
  const clauses = sentence.split(/\s*(?:;|,?\s+and\s+(?=(?:every|each|all|the|no|its|their)\b))\s*/i).filter((clause) => clause.trim() !== '');
  if (clauses.length > 1) {
    const each = clauses.map((clause) => sameMeasure(clause, criteria));
    if (each.every((verify) => verify !== null)) return allOf(each as string[]);
  }
  return sameMeasure(sentence, criteria);
}

/**
 * The verify command of the criterion that measures what a success sentence of the request says, when one shares at
 * least two of its content words and covers most of them; else null (the sentence is then checked by a person).
 */
function sameMeasure(sentence: string, criteria: Array<{ text: string; verify?: string }>): string | null {
  const wanted = measureWords(sentence);
  let best: { verify: string; shared: number } | null = null;
  for (const criterion of criteria) {
    if (!criterion.verify) continue;
    const have = measureWords(criterion.text);
    const shared = [...wanted].filter((word) => have.has(word)).length;
    if (shared >= 2 && shared * 3 >= wanted.size * 2 && (!best || shared > best.shared)) best = { verify: criterion.verify, shared };
  }
  return best?.verify ?? null;
}

export function fillTemplate(
  template: Template,
  values: Record<string, string>,
  sources: string[],
  options: FillOptions = {},
): { phases: DraftPhase[]; criteria: DraftCriterion[]; title: string; notes: string[] } {
  const notes: string[] = [];
  // What the request says: its approver, and the name of what the work is for (`{target}`), fill the phases too.
  const facts = requestFacts(options.request ?? '');
  const known: Record<string, string> = { approver: facts.approver?.name ?? 'the owner', ...values };
  // The notes the source phases write, for the phases that read them (SOURCE_NOTES).
  const sourceRound = (source: string) => ({ ...known, source, source_slug: pathSlug(source) });
  const sourceNotes = [
    ...new Set(
      template.phases.flatMap((entry) =>
        entry.each === 'source' ? sources.flatMap((source) => entry.outputs.map((output) => fill(output, sourceRound(source)))) : [],
      ),
    ),
  ];
  known[SOURCE_NOTES_KEY] = sourceNotes.join('\n');
  known['drawing_on_notes'] = sourceNotes.length > 0 ? `, drawing on ${listOf(sourceNotes)}` : '';
  if (JSON.stringify(template).includes('{target')) {
    const target = targetOf(options.request ?? '', options.root ?? null, facts.approver ? facts.approver.name.split(/\s+/) : []);
    if (target) Object.assign(known, { target, target_slug: slug(target) });
  }
  // Entities first: the values their globs resolved (`{account_slug}`) fill every phase.
  const found = new Map<TemplateEntry, EntityMatch>();
  for (const entry of template.phases) {
    if (typeof entry.each !== 'object' || !options.root) continue;
    const match = findEntities(entry.each.files, known, options.root, options.request ?? '', entry.each.folders);
    Object.assign(known, match.values);
    if (match.entities.length > 0 && known['entity_count'] === undefined) known['entity_count'] = String(match.entities.length);
    found.set(entry, match);
  }
  const entityKinds = template.phases.flatMap((entry) => (typeof entry.each === 'object' ? [entry] : []));
  if (entityKinds.length > 0 && entityKinds.every((entry) => (found.get(entry)?.entities.length ?? 0) === 0 && !entry.otherwise)) {
    // The template's work is per entity and there is none: a plan without them would be filler.
    const spec = entityKinds[0]!.each as EntitySpec;
    const where = found.get(entityKinds[0]!)?.pattern ?? spec.files;
    const example = spec.folders[0] ? ` (e.g. "the ${spec.as}s in ${spec.folders[0]}/")` : '';
    throw new PipelineError(
      `the ${options.name ?? 'offline'} template plans one phase per ${spec.as}, and no ${spec.as} was found${where.includes('{') ? ': the request names no folder of them' : ` in ${where}`}; name the folder that holds one file per ${spec.as} in the request${example}`,
    );
  }
  const rounds = (entry: TemplateEntry) =>
    entry.each === 'source'
      ? sources.length
      : typeof entry.each === 'object'
        ? (found.get(entry)?.entities.length ?? 0) > 0
          ? null
          : entry.otherwise
            ? 1
            : 0
        : 1;
  // Sizing gives each source too long to read directly an extraction sub-phase of its own: leave room for them.
  const extractions = options.root
    ? template.phases.filter((entry) => entry.each === 'source').length *
      sources.filter((source) => contextModeFor(lineCount(join(options.root!, source))) !== 'direct').length
    : 0;
  const maxPhases = (options.maxPhases ?? MAX_PHASES) - extractions;
  const fixed = template.phases.reduce((sum, entry) => sum + (rounds(entry) ?? 0), 0);
  const entityEntries = template.phases.filter((entry) => rounds(entry) === null);
  const counts = entityEntries.map((entry) => found.get(entry)!.entities.length);
  // How many entities one phase of each kind holds within the file-operation limit: grouping never makes a phase
  // that sizing would have to split again.
  const largest = entityEntries.map((entry) => largestGroup(entry, known, found.get(entry)!.entities, options.root));
  const series = entityEntries.length > 0 ? seriesPart(options.request ?? '') : null;
  const inPart = (count: number) => (series ? Math.ceil(count / series.of) : count);
  // In a series, the phases before the first entity phase belong to the first plan, those after the last one to the
  // last plan; each plan does its own slice of the entities. So a part holds only the fixed phases it has: the first
  // part those before and between, the last those between and after, the others those between.
  const first = template.phases.findIndex((entry) => rounds(entry) === null);
  const last = template.phases.length - 1 - [...template.phases].reverse().findIndex((entry) => rounds(entry) === null);
  const fixedIn = (from: number, to: number) => template.phases.slice(from, to).reduce((sum, entry) => sum + (rounds(entry) ?? 0), 0);
  const before = first < 0 ? 0 : fixedIn(0, first);
  const after = first < 0 ? 0 : fixedIn(last + 1, template.phases.length);
  const between = fixed - before - after;
  const fixedInPart = series ? between + (series.part === 1 ? before : 0) + (series.part === series.of ? after : 0) : fixed;
  const size = groupSize(counts.map(inPart), maxPhases - fixedInPart, largest);
  // A series' every part has room for the entity phases left by the fixed phases of its first or its last part.
  if (size === null)
    throw new PipelineError(
      seriesAdvice(template, { entries: entityEntries, found, counts, largest, room: maxPhases - between - Math.max(before, after) }, series),
    );

  const bodies: Body[] = [];
  /** The bodies planned once per entity (or group of them): siblings, not a chain (see dependencies()). */
  const perEntity = new Set<Body>();
  const forbidden = forbiddenKinds((options.request ?? '').split(/(?<=[.;!?])\s+|\n+/));
  /** Outputs of phases left out: criteria that check them go too. */
  const dropped: string[] = [];
  /** Done when checks of the part's last entity phase: the part's own success criterion. */
  let partChecks: string[] = [];
  let partRange = '';
  /** Each entity phase kind's Done when checks over the part's slice, with the files they check. */
  const sliceChecks: Array<{ outputs: string[]; verify: string }> = [];
  /** Done when checks of the fixed phases: an earlier plan of a series checks those it has among its criteria. */
  const fixedChecks: Array<{ text: string; verify: string }> = [];
  template.phases.forEach((entry, position) => {
    if (series && ((position < first && series.part > 1) || (position > last && series.part < series.of))) return;
    if (entry.each === 'source') {
      for (const source of sources) bodies.push(bodyOf(entry, entry.gate, sourceRound(source)));
    } else if (typeof entry.each === 'object') {
      const spec = entry.each;
      const match = found.get(entry);
      const all = match?.entities ?? [];
      if (all.length === 0) {
        const where = match ? match.pattern : `${spec.files} (no repository to look in)`;
        notes.push(
          entry.otherwise
            ? `no ${spec.as} found in ${where}: "${fill(entry.otherwise.title, known)}" is one phase`
            : `no ${spec.as} found in ${where}: "${spec.as}" phases left out`,
        );
        if (entry.otherwise) bodies.push(bodyOf(entry.otherwise, entry.gate, known));
        return;
      }
      const { items: entities, from } = series ? sliceOf(all, series.part, series.of) : { items: all, from: 1 };
      const group = Math.max(1, Math.min(size, largest[entityEntries.indexOf(entry)]!));
      if (match!.skipped.length > 0)
        notes.push(
          `left out ${match!.skipped.length} file(s) whose names are not plain words (letters, digits, . _ -): ${match!.skipped.slice(0, 3).join(', ')}`,
        );
      const where = series ? `; this plan (part ${series.part} of ${series.of}) does ${spec.as}s ${from}–${from + entities.length - 1}` : '';
      notes.push(
        group === 1
          ? `${all.length} ${spec.as}(s) in ${match!.pattern}: one phase per ${spec.as}${where}`
          : `${all.length} ${spec.as}(s) in ${match!.pattern}: ${group} to a phase, to stay within ${maxPhases} phases of at most ${FILE_OPS_WARN} files${where}`,
      );
      const checks: string[] = [];
      const outputs: string[] = [];
      for (let start = 0; start < entities.length; start += group) {
        const body = groupBody(entry, known, { group: entities.slice(start, start + group), from: from + start, total: all.length });
        if (body.doneWhen.verify) checks.push(body.doneWhen.verify);
        outputs.push(...body.outputs);
        bodies.push(body);
        perEntity.add(body);
      }
      if (checks.length > 0 && checks.length * group >= entities.length) sliceChecks.push({ outputs, verify: allOf(checks) });
      if (checks.length > 0) {
        partChecks = checks;
        partRange = `${spec.as}s ${from}–${from + entities.length - 1} of ${all.length}`;
      }
    } else {
      const body = bodyOf(entry, entry.gate, known);
      // A phase that does what the request forbids ("Nothing is published") is left out, not written in for a
      // reviewer to catch: the plan stops where the request's own constraint says.
      const action = [body.title, ...body.steps.map(stepText)].map(actionInText).find((found) => found !== null && forbidden.has(found.kind));
      if (action) {
        notes.push(`"${body.title}" left out: the request says "${forbidden.get(action.kind)}"`);
        dropped.push(...body.outputs);
        return;
      }
      if (body.doneWhen.verify) fixedChecks.push({ text: `${body.title}: ${body.doneWhen.text}`, verify: body.doneWhen.verify });
      bodies.push(body);
    }
  });
  const depends = dependencies(bodies, perEntity);
  const phases: DraftPhase[] = bodies.map((body, index) => ({
    id: `P${index + 1}`,
    title: body.title,
    inputs: body.inputs,
    outputs: body.outputs,
    context: 'direct',
    dependsOn: depends[index]!,
    gate: body.gate,
    ...(body.hints ? { hints: body.hints } : {}),
    doneWhen: body.doneWhen,
    steps: body.steps,
  }));
  // A plan of a series is done when its slice is; the template's criteria, about every entity, close the last one.
  const own =
    series && partChecks.length > 0
      ? [...(series.part < series.of ? fixedChecks : []), { text: `Part ${series.part} of ${series.of}: the ${partRange} are done`, verify: allOf(partChecks) }]
      : [];
  const templateCriteria = template.criteria
    .map((criterion) => ({ text: fill(criterion.text, known), ...(criterion.verify ? { verify: fill(criterion.verify, known) } : {}) }))
    .filter((criterion) => !dropped.some((output) => criterion.verify?.includes(output)));
  // A part of a series before the last leaves the template's criteria (about every entity) to the last part.
  const kept = series && series.part < series.of && own.length > 0 ? [] : templateCriteria;
  // The request's own success sentences are criteria of the plan, in its words; one that says what a criterion of the
  // plan checks ("every account enriched", "Every account has its enriched file") is checked by that command (never
  // by a criterion the plan leaves out: a part of a series cannot pass a check of every entity).
  const stated: Array<{ text: string; verify?: string }> = facts.success.map((text) => {
    const sentence = text.replace(/[.]+$/, '');
    const verify = measuredBy(text, [...kept, ...own]);
    // In a part before the last, a sentence about every entity is checked on the part's slice: by the Done when
    // checks of the phases that write the files the left-out criterion counts ("ls articles/*.md").
    const whole = !verify && kept !== templateCriteria ? sameMeasure(text, templateCriteria) : null;
    const slice = whole
      ? sliceChecks.find((kind) => kind.outputs.some((output) => dirname(output) !== '.' && whole.includes(`${dirname(output)}/`)))
      : undefined;
    if (slice)
      return { text: `${sentence}, for the ${partRange} in this part (the request's own measure; the last part checks all of them)`, verify: slice.verify };
    return { text: `${sentence} (the request's own measure)`, ...(verify ? { verify } : {}) };
  });
  const criteria: DraftCriterion[] = [...kept, ...own, ...stated].map((criterion, index) => ({ id: `SC${index + 1}`, ...criterion }));
  const title = fill(template.title, known);
  // A placeholder nothing filled means the request or the repository lacks what the template needs: say what.
  const left = new Set(
    [
      title,
      ...criteria.flatMap((criterion) => [criterion.text, criterion.verify ?? '']),
      ...phases.flatMap((phase) => [
        phase.title,
        ...phase.inputs,
        ...phase.outputs,
        phase.doneWhen.text,
        phase.doneWhen.verify ?? '',
        ...phase.steps.map(stepText),
      ]),
    ].flatMap((text) => [...text.matchAll(/\{([a-z_]+)\}/g)].map((match) => match[1]!)),
  );
  // `{request_title}` and the like are the caller's values to give.
  for (const name of Object.keys(values).concat(['request_title'])) left.delete(name);
  if (left.size > 0) {
    const needs = template.match?.needs ?? {};
    const what = [...left].map((name) =>
      needs[name]
        ? `{${name}}: ${needs[name]}`
        : name.startsWith('entity_') || name.endsWith('_slug')
          ? `{${name}}: ${folderNeeded(name, [...found.values()], options.request ?? '')}`
          : `{${name}}`,
    );
    throw new PipelineError(
      `the ${options.name ?? 'offline'} template cannot be filled from this request and repository: it needs ${what.join('; ')}; say it in the request`,
    );
  }
  return { phases, criteria, title, notes: [...new Set(notes)] };
}
