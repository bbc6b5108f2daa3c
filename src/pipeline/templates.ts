import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { escapePath, globSync } from 'tinyglobby';
import { parse } from 'yaml';
import { z } from 'zod';
import { MAX_PHASES } from '../rules/phase-count.js';
import { pathSlug, type DraftCriterion, type DraftPhase, type DraftStep } from './draft.js';
import { fillPlaceholders as fill, readOverridable } from './prompts.js';

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

export const Template = z.object({
  deliverable: z.enum(['infrastructure', 'content', 'research', 'analytics']),
  title: z.string(),
  phases: z.array(TemplatePhase).min(1),
  criteria: z.array(z.object({ text: z.string(), verify: z.string().optional() })).min(1),
  scope: z.object({ write: z.array(z.string()), commands: z.array(z.string()).optional() }).optional(),
});
export type Template = z.infer<typeof Template>;
type TemplateEntry = Template['phases'][number];
type EntitySpec = z.infer<typeof EachEntity>;

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
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/**
 * The entities an `each.files` glob finds. A path segment that is one placeholder not in `values` is resolved to the
 * folder at that place whose name (slugified) appears as whole words in the slugified request, the longest such name
 * if several do; no folder named: no entities.
 */
export function findEntities(files: string, values: Record<string, string>, root: string, request: string): EntityMatch {
  const wanted = `-${slug(request)}-`;
  const resolved: Record<string, string> = {};
  const segments = fill(files, values).split('/');
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
    if (named.length === 0) return { entities: [], skipped: [], values: resolved, pattern: segments.join('/') };
    resolved[placeholder[1]!] = named[0]!;
    segments[index] = escapePath(named[0]!);
  }
  const pattern = segments.join('/');
  const all = globSync(pattern, { cwd: root, onlyFiles: true, expandDirectories: false })
    .sort()
    .map((file) => ({ name: basename(file).replace(/\.[^.]+$/, ''), file }));
  // An entity's name goes into step arguments that a shell runs and into output paths: plain names only.
  const plain = (entity: Entity) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(entity.name) && /^[A-Za-z0-9._/-]+$/.test(entity.file);
  return { entities: all.filter(plain), skipped: all.filter((entity) => !plain(entity)).map((entity) => entity.file), values: resolved, pattern };
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

function bodyOf(entry: z.infer<z.ZodObject<typeof PhaseBody>>, gate: DraftPhase['gate'], round: Record<string, string>): Body {
  return {
    title: fill(entry.title, round),
    inputs: entry.inputs.map((input) => fill(input, round)),
    outputs: entry.outputs.map((output) => fill(output, round)),
    gate,
    ...(entry.hints.length > 0 ? { hints: entry.hints.map((hint) => fill(hint, round)) } : {}),
    doneWhen: { text: fill(entry.done.text, round), ...(entry.done.verify ? { verify: fill(entry.done.verify, round) } : {}) },
    steps: entry.steps.map((step) => toStep(fill(step, round))),
  };
}

/** One phase for a group of entities: every entity's files and steps, in turn; Done when holds for each of them. */
function groupBody(entry: TemplateEntry, spec: EntitySpec, values: Record<string, string>, group: Entity[], from: number, total: number): Body {
  const rounds = group.map((entity) => ({ ...values, [spec.as]: entity.name, [`${spec.as}_file`]: entity.file }));
  const bodies = rounds.map((round) => bodyOf(entry, entry.gate, round));
  if (bodies.length === 1) return bodies[0]!;
  const range = { ...values, from: String(from), to: String(from + group.length - 1), total: String(total) };
  const listed = { ...values, [spec.as]: listOf(group.map((entity) => entity.name)), [`${spec.as}_file`]: listOf(group.map((entity) => entity.file)) };
  const title = spec.group_title
    ? fill(spec.group_title, range)
    : fill(entry.title, { ...values, [spec.as]: `${spec.as}s ${range.from}–${range.to} of ${total}`, [`${spec.as}_file`]: `${spec.as} files ${range.from}–${range.to} of ${total}` });
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
 */
export function groupSize(counts: number[], room: number): number {
  const largest = Math.max(1, ...counts);
  for (let size = 1; size < largest; size++) {
    if (counts.reduce((sum, count) => sum + Math.ceil(count / size), 0) <= room) return size;
  }
  return largest;
}

/**
 * The template's phases and criteria, numbered P1, P2, … in order, each depending on the one before: `each: source`
 * phases once per source, `each: {files, as}` phases once per entity the repository holds (grouped when there are
 * more than the phase cap allows, the `otherwise` form when there is none). `notes` say what was found, for the
 * person watching the pipeline.
 */
export function fillTemplate(
  template: Template,
  values: Record<string, string>,
  sources: string[],
  options: FillOptions = {},
): { phases: DraftPhase[]; criteria: DraftCriterion[]; title: string; notes: string[] } {
  const notes: string[] = [];
  // Entities first: the values their globs resolved (`{account_slug}`) fill every phase.
  const found = new Map<TemplateEntry, EntityMatch>();
  const known = { ...values };
  for (const entry of template.phases) {
    if (typeof entry.each !== 'object' || !options.root) continue;
    const match = findEntities(entry.each.files, known, options.root, options.request ?? '');
    Object.assign(known, match.values);
    found.set(entry, match);
  }
  const rounds = (entry: TemplateEntry) => (entry.each === 'source' ? sources.length : typeof entry.each === 'object' ? ((found.get(entry)?.entities.length ?? 0) > 0 ? null : entry.otherwise ? 1 : 0) : 1);
  const fixed = template.phases.reduce((sum, entry) => sum + (rounds(entry) ?? 0), 0);
  const perEntity = template.phases.filter((entry) => rounds(entry) === null).map((entry) => found.get(entry)!.entities.length);
  const size = groupSize(perEntity, (options.maxPhases ?? MAX_PHASES) - fixed);

  const bodies: Body[] = [];
  for (const entry of template.phases) {
    if (entry.each === 'source') {
      for (const source of sources) bodies.push(bodyOf(entry, entry.gate, { ...known, source, source_slug: pathSlug(source) }));
    } else if (typeof entry.each === 'object') {
      const spec = entry.each;
      const match = found.get(entry);
      const entities = match?.entities ?? [];
      if (entities.length === 0) {
        const where = match ? match.pattern : `${spec.files} (no repository to look in)`;
        notes.push(entry.otherwise ? `no ${spec.as} found in ${where}: "${fill(entry.otherwise.title, known)}" is one phase` : `no ${spec.as} found in ${where}: "${spec.as}" phases left out`);
        if (entry.otherwise) bodies.push(bodyOf(entry.otherwise, entry.gate, known));
        continue;
      }
      if (match!.skipped.length > 0) notes.push(`left out ${match!.skipped.length} file(s) whose names are not plain words (letters, digits, . _ -): ${match!.skipped.slice(0, 3).join(', ')}`);
      notes.push(
        size === 1
          ? `${entities.length} ${spec.as}(s) in ${match!.pattern}: one phase per ${spec.as}`
          : `${entities.length} ${spec.as}(s) in ${match!.pattern}: ${size} to a phase, to stay within ${options.maxPhases ?? MAX_PHASES} phases`,
      );
      for (let start = 0; start < entities.length; start += size) {
        bodies.push(groupBody(entry, spec, known, entities.slice(start, start + size), start + 1, entities.length));
      }
    } else {
      bodies.push(bodyOf(entry, entry.gate, known));
    }
  }
  const phases: DraftPhase[] = bodies.map((body, index) => ({
    id: `P${index + 1}`,
    title: body.title,
    inputs: body.inputs,
    outputs: body.outputs,
    context: 'direct',
    dependsOn: index > 0 ? [`P${index}`] : [],
    gate: body.gate,
    ...(body.hints ? { hints: body.hints } : {}),
    doneWhen: body.doneWhen,
    steps: body.steps,
  }));
  const criteria = template.criteria.map((criterion, index) => ({
    id: `SC${index + 1}`,
    text: fill(criterion.text, known),
    ...(criterion.verify ? { verify: fill(criterion.verify, known) } : {}),
  }));
  return { phases, criteria, title: fill(template.title, known), notes: [...new Set(notes)] };
}
