import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import * as z from 'zod/mini';
import '../plan/zod.js';
import { yamlErrorMessage } from '../plan/text.js';

/** The Agent Skills front matter of a SKILL.md; other keys are allowed. */
const SkillFrontMatter = z.looseObject({
  name: z.string().check(z.minLength(1), z.maxLength(64), z.regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lower-case letters, digits and single hyphens')),
  description: z.string().check(z.minLength(1), z.maxLength(1024)),
  'allowed-tools': z.optional(z.union([z.string(), z.array(z.string())])),
  metadata: z.optional(z.record(z.string(), z.unknown())),
});

export interface Skill {
  name: string;
  description: string;
  dir: string;
  /** `metadata.run`: the command that makes this skill a tool. */
  run: string | null;
  /** `metadata.irreversible`: the skill declares that what it does cannot be undone (true) or that it can (false); null when unsaid. */
  irreversible: boolean | null;
  allowedTools: string[] | null;
  body: string;
}

export interface InvalidSkill {
  dir: string;
  problem: string;
}

export interface SkillIndex {
  skills: Map<string, Skill>;
  invalid: InvalidSkill[];
  searched: string[];
}

/** The directories searched for skills, most specific first: the repository's, configured ones, then the user's. */
export function skillDirectories(root: string, extra: string[] = [], home = homedir()): string[] {
  const dirs = [
    join(root, '.claude', 'skills'),
    join(root, '.agents', 'skills'),
    join(root, 'skills'),
    ...extra.map((dir) => (isAbsolute(dir) ? dir : resolve(root, dir))),
  ];
  if (home) dirs.push(join(home, '.claude', 'skills'), join(home, '.agents', 'skills'));
  return [...new Set(dirs)];
}

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;

export function readSkill(dir: string, folderName: string): Skill | InvalidSkill {
  const file = join(dir, 'SKILL.md');
  let text: string;
  try {
    if (statSync(file).size > 1024 * 1024) return { dir, problem: 'SKILL.md is larger than 1 MB' };
    text = readFileSync(file, 'utf8');
  } catch {
    return { dir, problem: 'SKILL.md cannot be read' };
  }
  const match = FRONT_MATTER.exec(text);
  if (!match) return { dir, problem: 'SKILL.md has no YAML front matter' };
  const doc = parseDocument(match[1]!);
  if (doc.errors.length > 0) return { dir, problem: `SKILL.md front matter: ${yamlErrorMessage(doc.errors[0]!)}` };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 20 });
  } catch (error) {
    return { dir, problem: `SKILL.md front matter: ${(error as Error).message}` };
  }
  const result = SkillFrontMatter.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { dir, problem: `SKILL.md front matter: ${issue.path.join('.') || 'value'}: ${issue.message}` };
  }
  if (result.data.name !== folderName) {
    return { dir, problem: `SKILL.md names the skill "${result.data.name}" but its folder is "${folderName}"` };
  }
  const tools = result.data['allowed-tools'];
  const run = result.data.metadata?.['run'];
  const irreversible = result.data.metadata?.['irreversible'];
  return {
    name: result.data.name,
    description: result.data.description,
    dir,
    run: typeof run === 'string' && run.trim() !== '' ? run.trim() : null,
    irreversible: irreversible === true || irreversible === 'true' ? true : irreversible === false || irreversible === 'false' ? false : null,
    allowedTools: tools === undefined ? null : Array.isArray(tools) ? tools : tools.split(/[\s,]+/).filter(Boolean),
    body: text.slice(match[0].length),
  };
}

/** Finds every skill; the first directory that has a name wins. Invalid skills are listed, not fatal. */
export function discoverSkills(directories: string[]): SkillIndex {
  const index: SkillIndex = { skills: new Map(), invalid: [], searched: directories };
  for (const base of directories) {
    if (!existsSync(base)) continue;
    let entries: string[];
    try {
      entries = readdirSync(base).sort();
    } catch {
      continue;
    }
    for (const entry of entries) {
      const dir = join(base, entry);
      if (!isSkillFolder(dir)) continue;
      const skill = readSkill(dir, entry);
      if ('problem' in skill) index.invalid.push(skill);
      else if (!index.skills.has(skill.name)) index.skills.set(skill.name, skill);
    }
  }
  return index;
}

/** A folder holding a SKILL.md (an unreadable one is none). */
function isSkillFolder(dir: string): boolean {
  try {
    return statSync(dir).isDirectory() && existsSync(join(dir, 'SKILL.md'));
  } catch {
    return false;
  }
}

/**
 * The index discoverSkills finds, read as far as it is used: looking a skill up by name (`skills.get`, `skills.has`)
 * reads only the folders of that name, since a valid skill's folder bears its name; everything else (its size, a walk
 * over it, `invalid`) reads every folder first, as discoverSkills does. Linting one plan looks up the few skills the
 * plan names instead of parsing every SKILL.md of the repository and the user's folders (14 in this repository's
 * examples: about 3 % of a lint started from the snapshot).
 */
export function lazySkillIndex(directories: string[]): SkillIndex {
  let full: SkillIndex | null = null;
  const everything = (): SkillIndex => (full ??= discoverSkills(directories));
  const listings = new Map<string, Set<string> | null>();
  const looked = new Map<string, Skill | undefined>();
  /** The names in a skills folder, as discoverSkills lists them (an unreadable folder has none). */
  const listing = (base: string): Set<string> | null => {
    if (!listings.has(base)) {
      let names: Set<string> | null = null;
      try {
        if (existsSync(base)) names = new Set(readdirSync(base));
      } catch {
        names = null;
      }
      listings.set(base, names);
    }
    return listings.get(base) ?? null;
  };
  /** The skill discoverSkills would index under `name`: the first valid one in a folder of that name. */
  const lookUp = (name: string): Skill | undefined => {
    if (full) return full.skills.get(name);
    if (looked.has(name)) return looked.get(name);
    let found: Skill | undefined;
    for (const base of directories) {
      if (!listing(base)?.has(name)) continue;
      const dir = join(base, name);
      if (!isSkillFolder(dir)) continue;
      const skill = readSkill(dir, name);
      if (!('problem' in skill)) {
        found = skill;
        break;
      }
    }
    looked.set(name, found);
    return found;
  };
  return {
    skills: new LazySkills(lookUp, () => everything().skills),
    get invalid() {
      return everything().invalid;
    },
    searched: directories,
  };
}

/** A Map whose `get` and `has` ask `lookUp`, and whose every other use goes to the whole map `all` makes. */
class LazySkills extends Map<string, Skill> {
  constructor(
    private readonly lookUp: (name: string) => Skill | undefined,
    private readonly all: () => Map<string, Skill>,
  ) {
    super();
  }
  override get(name: string): Skill | undefined {
    return this.lookUp(name);
  }
  override has(name: string): boolean {
    return this.lookUp(name) !== undefined;
  }
  override get size(): number {
    return this.all().size;
  }
  override set(name: string, skill: Skill): this {
    this.all().set(name, skill);
    return this;
  }
  override delete(name: string): boolean {
    return this.all().delete(name);
  }
  override clear(): void {
    this.all().clear();
  }
  override forEach(callback: (skill: Skill, name: string, map: Map<string, Skill>) => void, thisArg?: unknown): void {
    this.all().forEach(callback, thisArg);
  }
  override keys(): MapIterator<string> {
    return this.all().keys();
  }
  override values(): MapIterator<Skill> {
    return this.all().values();
  }
  override entries(): MapIterator<[string, Skill]> {
    return this.all().entries();
  }
  override [Symbol.iterator](): MapIterator<[string, Skill]> {
    return this.all()[Symbol.iterator]();
  }
}
