import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import MiniSearch from 'minisearch';
import { globSync } from 'tinyglobby';
import { parse as parseYaml } from 'yaml';
import { parsePlan } from '../plan/parse.js';
import { ENGINE_READ_ROOTS } from '../plan/protected.js';
import { skillContract, type SkillContract } from '../skills/contract.js';
import type { SkillIndex } from '../skills/discover.js';

// The skill contract moved to skills/contract.ts (the audit needs it, and skills/ may not import pipeline/).
export { skillContract, type SkillContract };

/**
 * Context gathering: the configured project documents and the earlier plans, searched with BM25 (MiniSearch)
 * against the request. Relevant running learnings of earlier plans are carried into the new plan.
 */

export interface Learning {
  text: string;
  /** The plan it comes from, repository-relative. */
  from: string;
}

export interface Gathered {
  documents: Array<{ path: string; score: number }>;
  learnings: Learning[];
}

const MAX_DOCUMENTS = 5;
const MAX_LEARNINGS = 5;
const MAX_DOCUMENT_BYTES = 256 * 1024;

function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 2);
}

function read(root: string, path: string): string | null {
  try {
    const text = readFileSync(join(root, path), 'utf8');
    return text.length > MAX_DOCUMENT_BYTES ? text.slice(0, MAX_DOCUMENT_BYTES) : text;
  } catch {
    return null;
  }
}

/**
 * The documents searched when `context.paths` is not configured and a planner model plans: the repository's prose,
 * outside the folders the engine reads.
 */
export const DEFAULT_DOCUMENT_PATTERNS = ['**/*.md', '**/*.markdown', '**/*.txt'];
/** At most this many of them are read and searched. */
const MAX_DEFAULT_DOCUMENTS = 2_000;

export function gatherContext(root: string, request: string, documentPatterns: string[]): Gathered {
  const documents =
    documentPatterns.length > 0
      ? globSync(documentPatterns, {
          cwd: root,
          onlyFiles: true,
          ignore: ['**/node_modules/**', '.git/**', ...(documentPatterns === DEFAULT_DOCUMENT_PATTERNS ? IGNORED : [])],
          deep: 8,
        })
          .sort()
          .slice(0, documentPatterns === DEFAULT_DOCUMENT_PATTERNS ? MAX_DEFAULT_DOCUMENTS : MAX_WALKED_FILES)
      : [];
  const docIndex = new MiniSearch<{ id: string; text: string }>({ fields: ['text'], tokenize, searchOptions: { prefix: true } });
  docIndex.addAll(
    documents.flatMap((path) => {
      const text = read(root, path);
      return text === null ? [] : [{ id: path, text }];
    }),
  );
  const relevantDocuments = docIndex
    .search(request)
    .slice(0, MAX_DOCUMENTS)
    .map((hit) => ({ path: hit.id as string, score: hit.score }));

  const learnings: Learning[] = [];
  for (const path of globSync(['plans/**/*.md'], { cwd: root, onlyFiles: true, ignore: ['plans/templates/**'] }).sort()) {
    const text = read(root, path);
    if (text === null) continue;
    for (const entry of parsePlan(text, { path }).learnings ?? []) learnings.push({ text: entry.text, from: path });
  }
  const learningIndex = new MiniSearch<{ id: number; text: string }>({ fields: ['text'], tokenize, searchOptions: { prefix: true } });
  learningIndex.addAll(learnings.map((learning, id) => ({ id, text: learning.text })));
  const hits = learningIndex.search(request);
  const floor = (hits[0]?.score ?? 0) * 0.3;
  const relevant = hits
    .filter((hit) => hit.score >= floor)
    .slice(0, MAX_LEARNINGS)
    .map((hit) => learnings[hit.id as number]!);
  return { documents: relevantDocuments, learnings: relevant };
}

/*
 * The planner's context pack: what a careful human planner would look up before writing the plan, within a stated
 * token budget. Each section has its own share of the budget; a section that would pass it is cut down in a way that
 * still says what was left out (a count, a naming pattern, a line count).
 */

/** The whole pack's token budget (about 4 characters a token), stated in the prompt and docs/providers.md. */
export const PLANNER_PACK_TOKENS = 16_000;

/** Each section's share of PLANNER_PACK_TOKENS. */
export const PACK_SHARES = { skills: 5_000, entities: 4_500, documents: 5_000, scope: 800, learnings: 700 } as const;
export type PackSectionName = keyof typeof PACK_SHARES;

export interface PackSection {
  name: PackSectionName;
  text: string;
  tokens: number;
}

export interface PlannerPack {
  sections: PackSection[];
  tokens: number;
  budget: number;
  /** The entity folders listed, for callers and tests. */
  entities: EntityFolder[];
  /** The skills' contracts, by name. */
  contracts: Map<string, SkillContract>;
}

/** About 4 characters a token (the same estimate as the cost cap's). */
export function tokensOf(text: string): number {
  return Math.ceil(text.length / 4);
}

/** A contract as the planner and the reviewer read it; `full: false` leaves out the body excerpt. */
export function formatContract(contract: SkillContract, full = true): string {
  const lines = [`### ${contract.name}${contract.deprecated ? ' (DEPRECATED: exclude it)' : ''}`, `- description: ${contract.description}`];
  if (contract.tool) lines.push(`- tool: the step runs \`${contract.tool} <arguments>\` from the repository root (no model)`);
  lines.push(`- arguments: ${contract.arguments ?? '(not declared)'}`);
  const source = contract.from === 'body' ? ' (from its instructions)' : '';
  if (contract.from === 'none') lines.push('- reads, writes: (not declared)');
  else {
    const list = (paths: string[]) =>
      paths.length > 0 ? `${paths.join(', ')}${source}` : contract.from === 'body' ? '(its instructions do not say)' : '(none declared)';
    lines.push(`- reads: ${list(contract.reads)}`);
    lines.push(`- writes: ${list(contract.writes)}`);
  }
  if (contract.allowedTools) lines.push(`- allowed-tools: ${contract.allowedTools.join(', ')}`);
  if (contract.irreversible) lines.push('- irreversible: what it does cannot be undone (a human gate must come before it)');
  if (full && contract.excerpt) lines.push('- instructions (excerpt):', ...contract.excerpt.split('\n').map((line) => `  > ${line}`.trimEnd()));
  return lines.join('\n');
}

/** A folder of like files, one per entity (contacts, accounts, deals, articles), that the request names. */
export interface EntityFolder {
  folder: string;
  files: string[];
  /** Why it was picked. */
  reason: string;
}

const ENTITY_EXTENSIONS = /\.(ya?ml|json|md|markdown|txt|csv|html?|eml)$/i;
const IGNORED = [
  '**/node_modules/**',
  '.git/**',
  '.deepplan/**',
  'dist/**',
  'plans/**',
  'reviews/**',
  'prompts/**',
  'calibration/**',
  '.claude/**',
  '.agents/**',
  '.codex/**',
  'skills/**',
  '.github/**',
];
const MAX_ENTITY_FOLDERS = 4;
const MAX_WALKED_FILES = 20_000;

function slugWords(text: string): string[] {
  const words = text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const slugs = new Set<string>();
  for (let index = 0; index < words.length; index++) {
    if (words[index]!.length >= 3) slugs.add(words[index]!);
    if (index + 1 < words.length) slugs.add(`${words[index]}-${words[index + 1]}`);
    if (index + 2 < words.length) slugs.add(`${words[index]}-${words[index + 1]}-${words[index + 2]}`);
  }
  return [...slugs];
}

function singularOf(word: string): string {
  if (/ies$/.test(word)) return `${word.slice(0, -3)}y`;
  if (/s$/.test(word) && !/ss$/.test(word)) return word.slice(0, -1);
  return word;
}

/** The repository's files, grouped by folder (bounded walk, engine folders left out). */
function filesByFolder(root: string): Map<string, string[]> {
  const byFolder = new Map<string, string[]>();
  const files = globSync(['**/*'], { cwd: root, onlyFiles: true, ignore: IGNORED, deep: 8 }).slice(0, MAX_WALKED_FILES);
  for (const file of files.sort()) {
    const slash = file.lastIndexOf('/');
    const folder = slash === -1 ? '' : file.slice(0, slash);
    if (!byFolder.has(folder)) byFolder.set(folder, []);
    byFolder.get(folder)!.push(file);
  }
  return byFolder;
}

/**
 * The entity folders a request names: a folder whose path the request gives, that holds a file the request names,
 * or whose own name is a word or a name of the request ("accounts", "Mod Op" → `mod-op/`). Each is listed in full.
 */
export function entityFolders(root: string, request: string, sources: string[] = [], byFolder = filesByFolder(root)): EntityFolder[] {
  const words = new Set(slugWords(request).flatMap((word) => [word, singularOf(word)]));
  const names = properNames(request);
  const lower = request.toLowerCase();
  const scored: Array<EntityFolder & { score: number }> = [];
  for (const [folder, all] of byFolder) {
    if (folder === '') continue;
    const files = all.filter((file) => ENTITY_EXTENSIONS.test(file));
    if (files.length < 2) continue;
    const segments = folder.toLowerCase().split('/');
    const last = segments.at(-1)!;
    let score = 0;
    let reason = '';
    if (lower.includes(folder.toLowerCase())) [score, reason] = [100, `the request names ${folder}/`];
    else if (sources.some((source) => source.startsWith(`${folder}/`)))
      [score, reason] = [60, `it holds ${sources.find((source) => source.startsWith(`${folder}/`))}`];
    else if (names.has(last)) [score, reason] = [50, `the request names ${last}`];
    else if (words.has(last) || words.has(singularOf(last))) [score, reason] = [30, `the request says "${last}"`];
    if (score === 0) continue;
    score += segments.slice(0, -1).filter((segment) => words.has(segment) || words.has(singularOf(segment))).length * 5;
    scored.push({ folder, files, reason, score });
  }
  scored.sort((a, b) => b.score - a.score || b.files.length - a.files.length || a.folder.localeCompare(b.folder));
  // A folder the request names (by path, by a file in it, by a proper name) wins over one that only shares a common
  // word with it: "the account lead" does not make every account an entity of a Brightline outreach.
  const floor = (scored[0]?.score ?? 0) - 20;
  return scored
    .filter((candidate) => candidate.score >= floor)
    .slice(0, MAX_ENTITY_FOLDERS)
    .map(({ folder, files, reason }) => ({ folder, files, reason }));
}

/** Slugs of the request's proper names: runs of capitalised words that do not open a sentence ("Mod Op" → mod-op). */
function properNames(request: string): Set<string> {
  const names = new Set<string>();
  for (const sentence of request.split(/(?<=[.!?:])\s+|\n/)) {
    const words = sentence.split(/\s+/).map((word) => word.replace(/^[^\w]+|[^\w-]+$/g, ''));
    for (let index = 1; index < words.length; index++) {
      if (!/^[A-Z]/.test(words[index]!)) continue;
      let end = index;
      while (end + 1 < words.length && /^[A-Z0-9]/.test(words[end + 1]!)) end++;
      for (let stop = index; stop <= Math.min(end, index + 2); stop++)
        names.add(
          words
            .slice(index, stop + 1)
            .join('-')
            .toLowerCase(),
        );
    }
  }
  return names;
}

const RECORD_KEYS = ['name', 'title', 'role', 'company', 'account', 'stage', 'owner', 'amount', 'status', 'industry', 'domain', 'segment'];

/** A few identifying fields of one entity file (YAML or JSON record, or a Markdown heading). */
function recordSummary(root: string, file: string): string {
  const text = read(root, file);
  if (text === null || text.length > 64 * 1024) return '';
  if (/\.(ya?ml|json)$/i.test(file)) {
    let data: unknown;
    try {
      data = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 20 });
    } catch {
      return '';
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) return '';
    const record = data as Record<string, unknown>;
    return RECORD_KEYS.filter((key) => ['string', 'number'].includes(typeof record[key]) && String(record[key]).length <= 60)
      .slice(0, 4)
      .map((key) => `${key}: ${String(record[key])}`)
      .join('; ');
  }
  const heading = /^#{1,2}\s+(.{1,80})$/m.exec(text);
  return heading ? heading[1]!.trim() : '';
}

/** The names' common shape: `deal-001.yaml … deal-200.yaml`, for a folder too large to list. */
function namingPattern(files: string[]): string {
  const names = files.map((file) => file.slice(file.lastIndexOf('/') + 1));
  let prefix = names[0] ?? '';
  for (const name of names) while (!name.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const extensions = [...new Set(names.map((name) => /\.[^.]+$/.exec(name)?.[0] ?? ''))];
  return `${prefix ? `names start with "${prefix}", ` : ''}${extensions.join('/') || 'no extension'} files`;
}

function entityText(root: string, folders: EntityFolder[], share: number): string {
  if (folders.length === 0) return '(no entity folder found: the request names no folder of like files)';
  const header = (entity: EntityFolder) => `### ${entity.folder}/ (${entity.files.length} files; ${entity.reason})`;
  const name = (file: string) => file.slice(file.lastIndexOf('/') + 1);
  // Most detail first: one line per entity with its identifying fields; then names only; then a summary.
  const detailed = folders
    .map((entity) =>
      [
        header(entity),
        ...entity.files.map((file) => {
          const summary = recordSummary(root, file);
          return `- ${name(file)}${summary ? ` (${summary})` : ''}`;
        }),
      ].join('\n'),
    )
    .join('\n\n');
  if (tokensOf(detailed) <= share) return detailed;
  const names = folders.map((entity) => `${header(entity)}\n${entity.files.map(name).join(', ')}`).join('\n\n');
  if (tokensOf(names) <= share) return names;
  return folders
    .map((entity) => {
      const all = entity.files.map(name);
      return `${header(entity)}\n${namingPattern(entity.files)}; the first: ${all.slice(0, 10).join(', ')}; the last: ${all.slice(-5).join(', ')}; list them with \`ls ${entity.folder}\``;
    })
    .join('\n\n');
}

/** Lines of a whole file (not only the part read for its excerpt); null when it cannot be read. */
function lineCount(root: string, path: string): number | null {
  try {
    const buffer = readFileSync(join(root, path));
    let count = 0;
    for (let at = buffer.indexOf(10); at !== -1; at = buffer.indexOf(10, at + 1)) count++;
    return buffer.length > 0 && buffer[buffer.length - 1] !== 10 ? count + 1 : count;
  } catch {
    return null;
  }
}

const DOCUMENT_LINES = 40;
const DOCUMENT_CHARS = 2_400;

function documentsText(root: string, paths: string[], share: number): string {
  if (paths.length === 0) return '(none)';
  const parts: string[] = [];
  const left: string[] = [];
  let used = 0;
  for (const path of paths) {
    const text = read(root, path);
    if (text === null) continue;
    const lines = text.split('\n');
    const count = lineCount(root, path) ?? (text.endsWith('\n') ? lines.length - 1 : lines.length);
    // Whole lines, up to DOCUMENT_LINES and DOCUMENT_CHARS (a single longer line is cut).
    const kept: string[] = [];
    let chars = 0;
    for (const line of lines.slice(0, Math.min(count, DOCUMENT_LINES))) {
      if (kept.length > 0 && chars + line.length + 1 > DOCUMENT_CHARS) break;
      kept.push(line.length > DOCUMENT_CHARS ? `${line.slice(0, DOCUMENT_CHARS)} …` : line);
      chars += line.length + 1;
    }
    const shown = kept.join('\n');
    const shownLines = kept.length;
    const part = `### ${path} (${count} lines${shownLines < count ? `; lines 1-${shownLines} shown` : ''})\n\`\`\`\`text\n${shown.trimEnd()}\n\`\`\`\``;
    if (used + tokensOf(part) > share) {
      left.push(`- ${path} (${count} lines)`);
      continue;
    }
    parts.push(part);
    used += tokensOf(part);
  }
  if (left.length > 0) parts.push(`Not shown (the pack's budget), by line count:\n${left.join('\n')}`);
  return parts.join('\n\n') || '(none)';
}

export interface PackInput {
  root: string;
  request: string;
  /** Files the request names. */
  sources: string[];
  /** Relevant project documents (context.paths, BM25). */
  documents: string[];
  skills: SkillIndex;
  learnings: Learning[];
  /** Allowed command prefixes for run: steps; null: any command (still sandboxed). */
  commands: string[] | null;
}

/** Files whose name is a name of the request (`crm/accounts/mod-op.yaml` for "Mod Op"): documents worth an excerpt. */
function namedFiles(byFolder: Map<string, string[]>, request: string, folders: EntityFolder[]): string[] {
  const words = new Set(slugWords(request).filter((word) => word.length >= 4 || word.includes('-')));
  const listed = new Set(folders.flatMap((folder) => folder.files));
  const found: string[] = [];
  for (const [, files] of byFolder) {
    for (const file of files) {
      const base = file
        .slice(file.lastIndexOf('/') + 1)
        .replace(/\.[^.]+$/, '')
        .toLowerCase();
      if (words.has(base) && ENTITY_EXTENSIONS.test(file) && !listed.has(file)) found.push(file);
    }
  }
  return found.slice(0, 6);
}

function relevance(contract: SkillContract, request: string): number {
  const words = new Set(tokenize(request));
  return tokenize(`${contract.name.replace(/-/g, ' ')} ${contract.description}`).filter((word) => words.has(word)).length;
}

/** Builds the planner's context pack. */
export function buildPlannerPack(input: PackInput): PlannerPack {
  const contracts = new Map([...input.skills.skills.values()].map((skill) => [skill.name, skillContract(skill)]));
  // Skills: the most relevant first with their full contract; past the share, contracts without the excerpt, then names.
  const ranked = [...contracts.values()].sort(
    (a, b) => Number(a.deprecated) - Number(b.deprecated) || relevance(b, input.request) - relevance(a, input.request) || a.name.localeCompare(b.name),
  );
  // Every skill's contract first (without its excerpt), most relevant first; then the excerpts while the share lasts;
  // skills past the share are named on one line.
  const reserve = 150;
  const chosen: Array<{ contract: SkillContract; full: boolean }> = [];
  const unlisted: string[] = [];
  let skillTokens = 0;
  for (const contract of ranked) {
    const cost = tokensOf(`${formatContract(contract, false)}\n\n`);
    if (skillTokens + cost > PACK_SHARES.skills - reserve) {
      unlisted.push(contract.name);
      continue;
    }
    chosen.push({ contract, full: false });
    skillTokens += cost;
  }
  for (const entry of chosen) {
    const extra = tokensOf(`${formatContract(entry.contract, true)}\n\n`) - tokensOf(`${formatContract(entry.contract, false)}\n\n`);
    if (skillTokens + extra > PACK_SHARES.skills - reserve) continue;
    entry.full = true;
    skillTokens += extra;
  }
  const skillParts = chosen.map((entry) => formatContract(entry.contract, entry.full));
  if (unlisted.length > 0) {
    let line = 'Also installed (names only; read their SKILL.md):';
    let left = unlisted.length;
    for (const name of unlisted) {
      if (tokensOf(`${line} ${name}, and ${left} more`) > reserve) break;
      line += ` ${name},`;
      left--;
    }
    skillParts.push(left > 0 ? `${line} and ${left} more` : line.replace(/,$/, ''));
  }
  const byFolder = filesByFolder(input.root);
  const entities = entityFolders(input.root, input.request, input.sources, byFolder);
  const documents = [...new Set([...input.sources, ...namedFiles(byFolder, input.request, entities), ...input.documents])];
  const scope = [
    `- scope.write: the top folders of the phases' outputs (\`drafts/a.md\` → \`drafts/**\`); never ${ENGINE_READ_ROOTS.filter((root) => !root.startsWith('deepplan.config')).join(', ')} (the engine reads them).`,
    input.commands && input.commands.length > 0
      ? `- scope.commands (a run: step must start with one of these prefixes): ${input.commands.map((prefix) => `\`${prefix}\``).join(', ')}`
      : '- scope.commands: none set, so any single command may run (sandboxed, no network); no chaining (; && | $( ) in one step.',
    '- verify commands are run by the engine, not limited to the prefixes: use plain checks (test, grep, ls | wc -l).',
  ].join('\n');
  const learnings = input.learnings.length > 0 ? input.learnings.map((learning) => `- ${learning.text} (from ${learning.from})`).join('\n') : '(none)';
  const sections: PackSection[] = [
    { name: 'skills', text: skillParts.join('\n\n') || '(none installed)' },
    { name: 'entities', text: entityText(input.root, entities, PACK_SHARES.entities) },
    { name: 'documents', text: documentsText(input.root, documents, PACK_SHARES.documents) },
    { name: 'scope', text: scope },
    { name: 'learnings', text: learnings.slice(0, PACK_SHARES.learnings * 4) },
  ].map((section) => ({ ...section, name: section.name as PackSectionName, tokens: tokensOf(section.text) }));
  return { sections, tokens: sections.reduce((sum, section) => sum + section.tokens, 0), budget: PLANNER_PACK_TOKENS, entities, contracts };
}

/**
 * The contracts of the skills a plan maps (its Skills table), for the reviewer: what each skill reads and writes, so
 * a phase that expects an output the skill never writes can be caught.
 */
export function mappedSkillContracts(mapped: string[], skills: SkillIndex): string {
  const parts = mapped.map((name) => {
    const skill = skills.skills.get(name);
    return skill ? formatContract(skillContract(skill), false) : `### ${name}\n- not installed`;
  });
  return parts.length > 0 ? parts.join('\n\n') : '(no skill is mapped)';
}
