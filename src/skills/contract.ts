import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Skill } from './discover.js';

/**
 * A skill's contract, read from its SKILL.md. It lives in skills/ (not pipeline/) because the skill audit, which
 * rules/ and pipeline/ both use, needs it, and skills/ may depend only on plan/.
 */

/** Like the planner's document reader: a SKILL.md is read up to 256 KB. */
const MAX_SKILL_BYTES = 256 * 1024;

function readSkillFile(dir: string): string | null {
  try {
    const text = readFileSync(join(dir, 'SKILL.md'), 'utf8');
    return text.length > MAX_SKILL_BYTES ? text.slice(0, MAX_SKILL_BYTES) : text;
  } catch {
    return null;
  }
}

const DEPRECATED_SKILL = /\b(deprecated|legacy|do not use|obsolete|superseded)\b/i;
const EXCERPT_LINES = 12;
const EXCERPT_CHARS = 700;

/** What a skill promises: its arguments and the files it reads and writes, from its SKILL.md. */
export interface SkillContract {
  name: string;
  description: string;
  arguments: string | null;
  reads: string[];
  writes: string[];
  /** Where reads and writes come from: the front matter's metadata, or sentences of the body. */
  from: 'metadata' | 'body' | 'none';
  /** `metadata.run`: a tool skill runs this command with the step's arguments. */
  tool: string | null;
  allowedTools: string[] | null;
  irreversible: boolean | null;
  deprecated: boolean;
  excerpt: string;
}

function listOf(value: unknown): string[] {
  if (typeof value === 'string')
    return value
      .split(/,\s*|\n/)
      .map((item) => item.trim())
      .filter(Boolean);
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string' && item.trim() !== '').map((item) => item.trim());
  return [];
}

function frontMatterOf(dir: string): Record<string, unknown> {
  const text = readSkillFile(dir);
  const match = text === null ? null : /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  if (!match) return {};
  try {
    const data = parseYaml(match[1]!, { maxAliasCount: 20 }) as unknown;
    return data && typeof data === 'object' ? (data as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Paths a sentence of a skill's body names (`committee/contacts.yaml`, `drafts/<contact>.md`, `deals/*.yaml`). */
function pathsOfSentence(sentence: string): string[] {
  return [...sentence.matchAll(/`?((?:[\w.{}<>*-]+\/)+[\w.{}<>*-]*)`?/g)]
    .map((match) => match[1]!.replace(/[.,;:]+$/, ''))
    .filter((path) => !/^(https?:|\/\/)/.test(path) && path.includes('/'));
}

/** The contract of one skill: metadata `reads`, `writes`, `arguments` (or `argument-hint`), else the body's own words. */
export function skillContract(skill: Skill): SkillContract {
  const data = frontMatterOf(skill.dir);
  const metadata = (data['metadata'] && typeof data['metadata'] === 'object' ? data['metadata'] : {}) as Record<string, unknown>;
  let reads = listOf(metadata['reads']);
  let writes = listOf(metadata['writes']);
  let from: SkillContract['from'] = reads.length > 0 || writes.length > 0 ? 'metadata' : 'none';
  if (from === 'none') {
    // No declared contract: the body's sentences that say what it reads and writes.
    // Each path goes with the verb before it: "Reads a/*.yaml and writes b/x.md" reads a/*.yaml and writes b/x.md.
    for (const sentence of skill.body.split(/(?<=[.!?])\s+|\n/)) {
      for (const clause of sentence.split(/(?=\b(?:reads?|writes?|creates?|outputs?|saves?|produces?|loads?|takes?|uses?|appends?)\b)/i)) {
        if (/^(writes?|creates?|outputs?|saves?|produces?|appends?)\b/i.test(clause)) writes.push(...pathsOfSentence(clause));
        else if (/^(reads?|loads?|takes?|uses?)\b/i.test(clause)) reads.push(...pathsOfSentence(clause));
      }
    }
    reads = [...new Set(reads)];
    writes = [...new Set(writes)];
    if (reads.length > 0 || writes.length > 0) from = 'body';
  }
  const args = metadata['arguments'] ?? data['argument-hint'] ?? data['arguments'];
  const body = skill.body
    .split('\n')
    .filter((line, index, lines) => !(line.trim() === '' && (lines[index - 1] ?? '').trim() === ''))
    .filter((line) => !new RegExp(`^#\\s+${skill.name}\\s*$`).test(line.trim()))
    .join('\n')
    .trim();
  const lines = body.split('\n').slice(0, EXCERPT_LINES).join('\n');
  const excerpt = lines.length > EXCERPT_CHARS ? `${lines.slice(0, EXCERPT_CHARS).trimEnd()} …` : lines.length < body.length ? `${lines} …` : lines;
  return {
    name: skill.name,
    description: skill.description,
    arguments: typeof args === 'string' && args.trim() ? args.trim() : Array.isArray(args) ? listOf(args).join(' ') : null,
    reads,
    writes,
    from,
    tool: skill.run,
    allowedTools: skill.allowedTools,
    irreversible: skill.irreversible,
    deprecated: DEPRECATED_SKILL.test(skill.description),
    excerpt,
  };
}
