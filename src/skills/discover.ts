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
      try {
        if (!statSync(dir).isDirectory() || !existsSync(join(dir, 'SKILL.md'))) continue;
      } catch {
        continue;
      }
      const skill = readSkill(dir, entry);
      if ('problem' in skill) index.invalid.push(skill);
      else if (!index.skills.has(skill.name)) index.skills.set(skill.name, skill);
    }
  }
  return index;
}
