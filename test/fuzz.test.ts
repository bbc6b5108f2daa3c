/**
 * Fuzz test of `deepplan lint`: more than 1,000 mutated and hostile plans (byte flips, truncation, deleted
 * front-matter lines, YAML bombs, 10 MB and 5 MB + 1 byte files, binary data, deep nesting, pathological Markdown,
 * broken log tables) must each lint without a throw, within 1 s, to at least one error finding. Mutations that may by
 * chance leave a valid plan (random ASCII substitutions, at-the-limit inputs) are counted apart and only have to
 * lint without a throw within 1 s. A sample of the hostile files then goes through the real CLI.
 *
 * Every case is generated from one seed (DEEPPLAN_FUZZ_SEED, default below); a failure names the seed and the case,
 * and the same seed generates the same case again.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintFile, type FileResult } from '../src/lint/lint.js';
import { MAX_PLAN_BYTES } from '../src/plan/parse.js';
import { PARSE_RULE_ID, RULE_IDS } from '../src/rules/catalog.js';
import { CLI, PROJECT_ROOT, SMALL_PLAN, SMALL_PLAN_SKILLS, makeRepo, writeFile } from './support/fixtures.js';
import { edit, edits, LOG_TABLE } from './support/plan-text.js';
import { seededRandom } from './support/random.js';

const SEED = Number.parseInt(process.env['DEEPPLAN_FUZZ_SEED'] ?? '20261122', 10) >>> 0;
/** DEEPPLAN_FUZZ_VERBOSE=1 prints every case that takes longer than 100 ms. */
const VERBOSE = Boolean(process.env['DEEPPLAN_FUZZ_VERBOSE']);
const CASE_LIMIT_MS = 1000;
/** The `it` timeout: a category of a few hundred cases takes a few seconds; this leaves room for a loaded machine. */
const CATEGORY_TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------------------------------------------------------
// Seeded randomness

function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }
  float(): number {
    return this.next();
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  uint32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
  /** `count` distinct items, in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, count);
  }
  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }
  /** Printable ASCII, spaces and line breaks. */
  text(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += this.bool(0.05) ? '\n' : String.fromCharCode(this.int(0x20, 0x7e));
    return out;
  }
  /** Printable ASCII and line breaks, as bytes. */
  printable(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.bool(0.02) ? 0x0a : this.int(0x20, 0x7e);
    return out;
  }
  word(min = 3, max = 10): string {
    let out = '';
    const length = this.int(min, max);
    for (let i = 0; i < length; i++) out += String.fromCharCode(this.int(0x61, 0x7a));
    return out;
  }
}

/** The generator of one category: the same seed and category give the same cases in the same order. */
function categoryRng(category: string): Rng {
  return new Rng((SEED ^ hashString(category)) >>> 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Base plans (each lints without errors; asserted below) and the repository they are linted in

const EXAMPLE_SKILLS_DIR = join(PROJECT_ROOT, 'examples', '.claude', 'skills');
const MODOP_PLAN = readFileSync(join(PROJECT_ROOT, 'plans', 'modop-outreach.md'), 'utf8');
const NIGHTLY_PLAN = readFileSync(join(PROJECT_ROOT, 'plans', 'nightly-backup.md'), 'utf8');
const BASES: Record<string, string> = { small: SMALL_PLAN, modop: MODOP_PLAN, nightly: NIGHTLY_PLAN };
const LOG_HEADING = '## Iteration log';

function baseVariants(rng: Rng): { name: string; text: string } {
  const name = rng.pick(Object.keys(BASES));
  const text = BASES[name]!;
  const variant = rng.int(0, 3);
  if (variant === 1) return { name: `${name}+crlf`, text: text.replace(/\n/g, '\r\n') };
  if (variant === 2) return { name: `${name}+bom`, text: `\uFEFF${text}` };
  return { name, text };
}

/** Offsets just after each level-2 heading line that comes before the iteration log: places to put foreign text. */
function insertionPoints(text: string): number[] {
  const points: number[] = [];
  const logAt = text.indexOf(LOG_HEADING);
  for (const match of text.matchAll(/^## .*$/gm)) {
    if (match.index >= logAt) break;
    const lf = text.indexOf('\n', match.index);
    points.push(lf + 1);
  }
  return points;
}

function inject(rng: Rng, payload: string): { text: string; base: string } {
  const base = rng.pick(Object.keys(BASES));
  const text = BASES[base]!;
  const at = rng.pick(insertionPoints(text));
  return { text: `${text.slice(0, at)}\n${payload}\n\n${text.slice(at)}`, base };
}

/** The front matter's lines (between the fences) of a plan text with `\n` line ends. */
function frontMatterBounds(text: string): { start: number; end: number } {
  const start = text.indexOf('\n') + 1;
  const end = text.indexOf('\n---\n', start) + 1;
  return { start, end };
}

// ---------------------------------------------------------------------------------------------------------------
// Cases and how they are run

interface Case {
  /** `<category>#<n>`, unique. */
  id: string;
  /** The seed of the case's own generator. */
  seed: number;
  /** What was done, for the failure message. */
  note: string;
  content: string | Uint8Array;
  /** The plan must produce at least one error finding. */
  mustError: boolean;
  /** Further expectations on the findings; returns what is wrong, or null. */
  check?: (result: FileResult) => string | null;
}

interface CategoryStats {
  cases: number;
  mustError: number;
  maybeValid: number;
  withErrors: number;
  slowestMs: number;
  slowest: string;
  totalMs: number;
}

const stats = new Map<string, CategoryStats>();
let repo = '';
/** Must-error cases chosen for the CLI run: file name → in-process result. */
const cliSample = new Map<string, FileResult>();

function describeCase(c: Case): string {
  return `[seed ${SEED}] ${c.id} (case seed ${c.seed}; ${c.note})`;
}

function findingProblems(result: FileResult): string | null {
  for (const finding of result.findings) {
    if (finding.ruleId !== PARSE_RULE_ID && !RULE_IDS.includes(finding.ruleId)) return `unknown rule id ${finding.ruleId}`;
    if (finding.severity !== 'error' && finding.severity !== 'warning') return `bad severity ${String(finding.severity)}`;
    if (!Number.isInteger(finding.line) || finding.line < 1 || !Number.isInteger(finding.column) || finding.column < 1) {
      return `bad position ${finding.line}:${finding.column} of "${finding.message}"`;
    }
    if (typeof finding.message !== 'string' || finding.message.trim() === '') return `empty message from ${finding.ruleId}`;
    // The catch-alls of lintPlan and parsePlan: reaching them means a rule or the parser threw on this input.
    if (/^internal error in rule /.test(finding.message) || /^could not parse the file: /.test(finding.message)) {
      return `a rule or the parser threw: ${finding.ruleId}: ${finding.message.slice(0, 300)}`;
    }
  }
  return null;
}

/**
 * Writes each case as a file of the test repository, lints it in-process and checks it; returns the failures.
 * `sample` cases are also kept for the CLI run.
 */
async function runCategory(category: string, cases: Case[], sample = 0): Promise<string[]> {
  const failures: string[] = [];
  const stat: CategoryStats = { cases: 0, mustError: 0, maybeValid: 0, withErrors: 0, slowestMs: 0, slowest: '', totalMs: 0 };
  stats.set(category, stat);
  const ids = new Set(cases.map((c) => c.id));
  expect(ids.size, `case ids of ${category} are unique`).toBe(cases.length);
  const sampled = new Set(
    categoryRng(`${category}/cli`).sample(
      cases.filter((c) => c.mustError).map((c) => c.id),
      sample,
    ),
  );
  for (const c of cases) {
    const file = `cases/${category}/${c.id.replace('#', '-')}.md`;
    writeFile(repo, file, c.content);
    let result: FileResult;
    const started = performance.now();
    try {
      result = await lintFile(file, repo);
    } catch (error) {
      failures.push(`${describeCase(c)}: lintFile threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      rmSync(join(repo, file), { force: true });
      continue;
    }
    const ms = performance.now() - started;
    if (VERBOSE && ms > 100) console.log(`${ms.toFixed(0).padStart(5)} ms  ${c.id}  ${c.note.slice(0, 100)}`);
    stat.cases++;
    stat.totalMs += ms;
    if (c.mustError) stat.mustError++;
    else stat.maybeValid++;
    if (ms > stat.slowestMs) {
      stat.slowestMs = ms;
      stat.slowest = c.id;
    }
    const errors = result.findings.filter((finding) => finding.severity === 'error');
    if (errors.length > 0) stat.withErrors++;
    const problems: string[] = [];
    if (ms > CASE_LIMIT_MS) problems.push(`took ${ms.toFixed(0)} ms (limit ${CASE_LIMIT_MS} ms)`);
    const malformed = findingProblems(result);
    if (malformed) problems.push(malformed);
    if (c.mustError && errors.length === 0) {
      problems.push(`no error finding (findings: ${JSON.stringify(result.findings.map((f) => `${f.ruleId}: ${f.message}`)).slice(0, 300)})`);
    }
    const extra = c.check?.(result);
    if (extra) problems.push(extra);
    if (problems.length > 0) failures.push(`${describeCase(c)}: ${problems.join('; ')}`);
    if (sampled.has(c.id)) {
      const name = `${c.id.replace('#', '-')}.md`;
      writeFile(repo, `cli-sample/${name}`, c.content);
      cliSample.set(name, result);
    }
    // The large cases would otherwise keep tens of megabytes on disk until the end.
    if (typeof c.content !== 'string' && c.content.byteLength > 1_000_000) rmSync(join(repo, file), { force: true });
  }
  return failures;
}

function report(failures: string[]): string {
  return `${failures.length} failing case(s):\n${failures.slice(0, 15).join('\n')}${failures.length > 15 ? '\n…' : ''}`;
}

function errorsOf(result: FileResult) {
  return result.findings.filter((finding) => finding.severity === 'error');
}

function hasError(result: FileResult, ruleId: string, message?: RegExp): boolean {
  return errorsOf(result).some((finding) => finding.ruleId === ruleId && (message === undefined || message.test(finding.message)));
}

function expectParseError(message?: RegExp): (result: FileResult) => string | null {
  return (result) =>
    hasError(result, PARSE_RULE_ID, message)
      ? null
      : `expected a parse error${message ? ` matching ${message}` : ''}, got ${JSON.stringify(errorsOf(result).map((f) => `${f.ruleId}: ${f.message}`)).slice(0, 300)}`;
}

function makeCases(category: string, count: number, build: (rng: Rng, index: number) => Omit<Case, 'id' | 'seed'>): Case[] {
  const rng = categoryRng(category);
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const seed = rng.uint32();
    cases.push({ id: `${category}#${i}`, seed, ...build(new Rng(seed), i) });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------------------------
// Generators

/** XOR 0x80 on ASCII bytes whose neighbours are ASCII and stay so: each flipped byte is invalid UTF-8 on its own. */
function flipCase(rng: Rng): Omit<Case, 'id' | 'seed'> {
  const base = baseVariants(rng);
  const bytes = Buffer.from(base.text, 'utf8');
  const flips = rng.int(1, 8);
  const chosen: number[] = [];
  while (chosen.length < flips) {
    const at = rng.int(0, bytes.length - 1);
    const ascii = (i: number) => i < 0 || i >= bytes.length || bytes[i]! < 0x80;
    if (!ascii(at) || !ascii(at - 1) || !ascii(at + 1)) continue;
    if (chosen.some((other) => Math.abs(other - at) < 2)) continue;
    chosen.push(at);
  }
  for (const at of chosen) bytes[at] = bytes[at]! ^ 0x80;
  const first = Math.min(...chosen);
  const line = bytes.subarray(0, first).toString('latin1').split('\n').length;
  return {
    note: `${base.name}, flipped bytes at ${chosen.sort((a, b) => a - b).join(', ')}`,
    content: bytes,
    mustError: true,
    check: (result) => {
      const error = errorsOf(result).find((finding) => finding.ruleId === PARSE_RULE_ID && /not valid UTF-8/.test(finding.message));
      if (!error) return 'expected a "not valid UTF-8" parse error';
      if (!error.message.includes(`offset ${first}`) || error.line !== line) {
        return `expected the first bad byte at offset ${first} (line ${line}), got "${error.message}" at line ${error.line}`;
      }
      return null;
    },
  };
}

/** Cut anywhere before the `## Iteration log` heading (bytes, so a cut may also split a character). */
function truncateCase(rng: Rng): Omit<Case, 'id' | 'seed'> {
  const base = baseVariants(rng);
  const bytes = Buffer.from(base.text, 'utf8');
  const cut = rng.int(0, bytes.indexOf(LOG_HEADING) - 1);
  return {
    note: `${base.name} cut to ${cut} bytes`,
    content: bytes.subarray(0, cut),
    mustError: true,
    // Either the file is unreadable, or its front matter is cut, or the log section is missing.
    check: (result) =>
      errorsOf(result).some((finding) => [PARSE_RULE_ID, 'front-matter', 'sections'].includes(finding.ruleId))
        ? null
        : 'expected a parse, front-matter or sections error',
  };
}

const REQUIRED_TOP = ['deepplan', 'id', 'title', 'status', 'created', 'workstream', 'deliverable', 'quality_bar', 'budget', 'state'];
const REQUIRED_CHILDREN: Record<string, string[]> = {
  budget: ['max_iterations', 'basis'],
  state: ['phase', 'iteration', 'revision'],
  // Required for plans with quality_bar adversarial (modop-outreach), and then its fields are.
  review: ['verdict', 'rounds', 'reviewer'],
};

function requiredLines(text: string): number[] {
  const { start, end } = frontMatterBounds(text);
  const lines = text.slice(start, end).split('\n');
  const firstLine = text.slice(0, start).split('\n').length - 1;
  const required: number[] = [];
  let parent = '';
  lines.forEach((line, index) => {
    const top = /^([a-z_]+):/.exec(line);
    if (top) {
      parent = top[1]!;
      if (REQUIRED_TOP.includes(parent) || (parent === 'review' && /quality_bar: adversarial/.test(text))) required.push(firstLine + index);
      return;
    }
    const child = /^ {2}([a-z_]+):/.exec(line);
    if (child && REQUIRED_CHILDREN[parent]?.includes(child[1]!)) required.push(firstLine + index);
  });
  return required;
}

function deleteLinesCase(rng: Rng): Omit<Case, 'id' | 'seed'> {
  const name = rng.pick(Object.keys(BASES));
  const text = BASES[name]!;
  const lines = text.split('\n');
  const candidates = requiredLines(text);
  const doomed = rng.sample(candidates, rng.int(1, 3));
  const kept = lines.filter((_, index) => !doomed.includes(index));
  return {
    note: `${name} without ${doomed.map((index) => JSON.stringify(lines[index])).join(', ')}`,
    content: kept.join('\n'),
    mustError: true,
    check: (result) => (hasError(result, 'front-matter') || hasError(result, 'review-required') ? null : 'expected a front-matter (or review-required) error'),
  };
}

/** Adds `lines` to the front matter of a base plan, replacing its `title:` line when `title` is given. */
function withFrontMatter(rng: Rng, lines: string, title?: string): { text: string; base: string } {
  const base = rng.pick(Object.keys(BASES));
  let text = BASES[base]!;
  if (title !== undefined) text = edit(text, /^title: .*$/m, `title: ${title}`);
  const { end } = frontMatterBounds(text);
  return { text: `${text.slice(0, end)}${lines}\n${text.slice(end)}`, base };
}

function yamlBombCase(rng: Rng, index: number): Omit<Case, 'id' | 'seed'> {
  return { ...yamlBomb(rng, index), check: (result) => (hasError(result, 'front-matter') ? null : 'expected a front-matter error') };
}

function yamlBomb(rng: Rng, index: number): Omit<Case, 'id' | 'seed'> {
  switch (index % 5) {
    case 0: {
      // Billion laughs: each level lists the one below `width` times; the title points at the top (a list, never a
      // string, so even a YAML reader without an alias limit would leave an invalid title).
      const levels = rng.int(4, 10);
      const width = rng.int(3, 10);
      const anchors = [`lol0: &lol0 "${rng.word()}"`];
      for (let i = 1; i < levels; i++)
        anchors.push(
          `lol${i}: &lol${i} [${Array(width)
            .fill(`*lol${i - 1}`)
            .join(', ')}]`,
        );
      const { text, base } = withFrontMatter(rng, anchors.join('\n'));
      return { note: `${base}, billion laughs ${width}^${levels}`, content: rewriteTitleLast(text, `*lol${levels - 1}`), mustError: true };
    }
    case 1: {
      // Flow collections nested thousands deep, as the title (closed or not).
      const depth = rng.int(1_000, 15_000);
      const [open, close] = rng.pick([
        ['[', ']'],
        ['{a: ', '}'],
        ['[{x: ', '}]'],
      ] as const);
      const value = open.repeat(depth) + (rng.bool() ? close.repeat(depth) : '');
      const { text, base } = withFrontMatter(rng, '', value);
      return { note: `${base}, title nested ${depth} deep with ${open}`, content: text, mustError: true };
    }
    case 2: {
      // A huge anchor, aliased more often than the limit allows.
      const size = rng.int(4_000, 40_000);
      const refs = rng.int(101, 600);
      const lines = `blob: &blob "${'x'.repeat(size)}"\nrefs: [${Array(refs).fill('*blob').join(', ')}]`;
      const { text, base } = withFrontMatter(rng, lines);
      return { note: `${base}, ${size}-character anchor aliased ${refs} times`, content: text, mustError: true };
    }
    case 3: {
      // Merge-key doubling: each map merges the one below twice.
      const levels = rng.int(10, 40);
      const lines = ['m0: &m0 {a: 1, b: 2}'];
      for (let i = 1; i < levels; i++) lines.push(`m${i}: &m${i}\n  <<: [*m${i - 1}, *m${i - 1}]\n  k${i}: [*m${i - 1}, *m${i - 1}]`);
      const { text, base } = withFrontMatter(rng, lines.join('\n'));
      return { note: `${base}, merge-key doubling over ${levels} levels`, content: rewriteTitleLast(text, `*m${levels - 1}`), mustError: true };
    }
    default: {
      // Thousands of aliases of one small anchor.
      const refs = rng.int(101, 5_000);
      const lines = `tiny: &tiny ${rng.word()}\nmany: [${Array(refs).fill('*tiny').join(', ')}]`;
      const { text, base } = withFrontMatter(rng, lines);
      return { note: `${base}, ${refs} aliases of one anchor`, content: text, mustError: true };
    }
  }
}

/** An alias must come after its anchor: moves the `title:` line to the end of the front matter. */
function rewriteTitleLast(text: string, value: string): string {
  const without = edit(text, /^title: .*\n/m, '');
  const { end } = frontMatterBounds(without);
  return `${without.slice(0, end)}title: ${value}\n${without.slice(end)}`;
}

function logRow(number: number, time: string, phase = 'P1', action = `P1.1 run node scripts/step-${number}.mjs`): string {
  return `| ${number} | ${time} | ${phase} | ${action} | ok | CONTINUE | note ${number} |`;
}

/** A valid plan padded with log rows (invalid ones: the file is refused before they are read) to exactly `size` bytes. */
function paddedPlan(size: number): Buffer {
  const row = `${logRow(1, '2026-11-20T10:02:11Z')}\n`;
  const head = Buffer.from(SMALL_PLAN, 'utf8');
  const out = Buffer.alloc(size, 0x20);
  head.copy(out, 0);
  let at = head.length;
  while (at + row.length <= size) at += out.write(row, at, 'utf8');
  out.fill(0x0a, at);
  return out;
}

function bigCases(): Case[] {
  const rng = categoryRng('big');
  const tenMb = 10 * 1024 * 1024;
  const specs: Array<{ note: string; content: () => Uint8Array }> = [
    { note: '10 MB: a plan with 10 MB of log rows', content: () => paddedPlan(tenMb) },
    { note: '10 MB of random printable text', content: () => new Rng(rng.uint32()).printable(tenMb) },
    { note: `5 MB + 1 byte (${MAX_PLAN_BYTES + 1} bytes): a plan with log rows`, content: () => paddedPlan(MAX_PLAN_BYTES + 1) },
    { note: '5 MB + 1 byte of random bytes', content: () => new Rng(rng.uint32()).bytes(MAX_PLAN_BYTES + 1) },
  ];
  return specs.map((spec, index) => {
    const content = spec.content();
    return {
      id: `big#${index}`,
      seed: SEED,
      note: spec.note,
      content,
      mustError: true,
      check: (result: FileResult) => {
        const size = content.byteLength;
        if (size <= MAX_PLAN_BYTES) return `the case is only ${size} bytes`;
        return expectParseError(/limited to 5/)(result);
      },
    };
  });
}

function binaryCase(rng: Rng, index: number): Omit<Case, 'id' | 'seed'> {
  let content: Buffer;
  let note: string;
  switch (index % 4) {
    case 0: {
      content = rng.bytes(rng.int(1, 65_536));
      content[rng.int(0, content.length - 1)] = 0;
      note = `${content.length} random bytes`;
      break;
    }
    case 1: {
      // PNG signature, an IHDR chunk, then random chunk data.
      const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const ihdr = Buffer.from([0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 1, 0, 0, 0, 1, 0, 8, 6, 0, 0, 0]);
      content = Buffer.concat([signature, ihdr, rng.bytes(rng.int(0, 20_000))]);
      note = `PNG, ${content.length} bytes`;
      break;
    }
    case 2: {
      const text = Buffer.from(baseVariants(rng).text, 'utf8');
      const at = rng.int(0, text.length);
      content = Buffer.concat([text.subarray(0, at), Buffer.from([0]), text.subarray(at)]);
      note = `a plan with a NUL byte at ${at}`;
      break;
    }
    default: {
      content = Buffer.alloc(rng.int(1, 4_096));
      note = `${content.length} NUL bytes`;
    }
  }
  return { note, content, mustError: true, check: expectParseError(/binary/) };
}

function nestingCase(rng: Rng, index: number): Omit<Case, 'id' | 'seed'> {
  let payload: string;
  let note: string;
  switch (index % 5) {
    case 0: {
      const depth = rng.int(33, 1_000);
      payload = `${'>'.repeat(depth)} quoted`;
      note = `block quote ${depth} deep`;
      break;
    }
    case 1: {
      const depth = rng.int(33, 1_000);
      payload = Array.from({ length: depth }, (_, i) => `${'> '.repeat(i + 1)}level ${i + 1}`).join('\n');
      note = `block quotes opening one by one to ${depth} deep`;
      break;
    }
    case 2: {
      const depth = rng.int(33, 1_000);
      payload = Array.from({ length: depth }, (_, i) => `${'  '.repeat(i)}- item ${i + 1}`).join('\n');
      note = `bullet list nested ${depth} deep`;
      break;
    }
    case 3: {
      const depth = rng.int(40, 1_000);
      payload = Array.from({ length: depth }, (_, i) => `${'   '.repeat(i)}1. step ${i + 1}`).join('\n');
      note = `ordered list nested ${depth} deep`;
      break;
    }
    default: {
      const depth = rng.int(17, 500);
      payload = `${'> - '.repeat(depth)}x`;
      note = `quote and list alternating ${depth * 2} deep`;
    }
  }
  const { text, base } = inject(rng, payload);
  return { note: `${base}, ${note}`, content: text, mustError: true, check: expectParseError() };
}

/** Each family exceeds one of the parser's limits at any size its range allows. */
const PATHOLOGICAL: Array<{ name: string; make: (rng: Rng) => string }> = [
  { name: 'many [', make: (rng) => `x ${'['.repeat(rng.int(10_001, 100_000))}` },
  { name: 'many *', make: (rng) => `x ${'*'.repeat(rng.int(10_001, 100_000))}` },
  { name: 'many <', make: (rng) => `x ${'<'.repeat(rng.int(10_001, 100_000))}` },
  { name: 'many _', make: (rng) => `x ${'_'.repeat(rng.int(2_001, 100_000))}` },
  { name: 'many backticks', make: (rng) => `x ${'`'.repeat(rng.int(10_001, 60_000))}` },
  {
    name: 'wide table',
    make: (rng) => {
      const columns = rng.int(2_600, 5_000);
      return [`|${' h |'.repeat(columns)}`, `|${' --- |'.repeat(columns)}`, `|${' c |'.repeat(columns)}`].join('\n');
    },
  },
  {
    name: 'one long line',
    make: (rng) => {
      const words: string[] = [];
      for (let length = -1, target = rng.int(10_001, 500_000); length < target; length += words.at(-1)!.length + 1) words.push(rng.word(2, 8));
      return words.join(' ');
    },
  },
  { name: '*_ alternating', make: (rng) => '*_'.repeat(rng.int(1_001, 50_000)) },
  { name: '*_ over many lines', make: (rng) => Array(rng.int(501, 990)).fill('*_a*_').join('\n') },
  { name: 'many ]', make: (rng) => ']'.repeat(rng.int(2_001, 9_999)) },
  { name: 'many [a](', make: (rng) => '[a]('.repeat(rng.int(1_001, 2_499)) },
  { name: 'many link references', make: (rng) => Array(rng.int(251, 990)).fill('[x][y] ![i][j]').join('\n') },
  { name: 'many list items', make: (rng) => Array.from({ length: rng.int(1_001, 20_000) }, (_, i) => `- item ${i}`).join('\n') },
  {
    name: 'many table rows',
    make: (rng) => ['| a | b |', '| --- | --- |', ...Array.from({ length: rng.int(1_001, 10_000) }, (_, i) => `| ${i} | x |`)].join('\n'),
  },
  {
    name: 'many table cells',
    make: (rng) => {
      const header = `|${' h |'.repeat(10)}`;
      return [header, `|${' - |'.repeat(10)}`, ...Array(rng.int(280, 990)).fill(`|${' c |'.repeat(10)}`)].join('\n');
    },
  },
  { name: 'container churn', make: (rng) => Array(rng.int(170, 990)).fill('> - > - > - x').join('\n') },
  { name: 'many headings', make: (rng) => Array.from({ length: rng.int(1_001, 10_000) }, (_, i) => `#### h${i}`).join('\n') },
  { name: 'many definitions', make: (rng) => Array.from({ length: rng.int(1_001, 8_000) }, (_, i) => `[r${i}]: https://e.x/${i}`).join('\n') },
  {
    name: 'long lines of entities',
    make: (rng) =>
      Array(rng.int(1, 12))
        .fill('&#'.repeat(rng.int(5_001, 20_000)))
        .join('\n'),
  },
  {
    name: 'long lines of backslashes',
    make: (rng) =>
      Array(rng.int(1, 12))
        .fill('\\'.repeat(rng.int(10_001, 40_000)))
        .join('\n'),
  },
  { name: 'over 64 kB of paragraphs', make: (rng) => Array.from({ length: rng.int(700, 990) }, () => rng.text(99).replace(/\n/g, ' ')).join('\n') },
  { name: 'many blank-separated paragraphs', make: (rng) => Array(rng.int(501, 10_000)).fill('p').join('\n\n') },
  { name: 'many disable comments', make: (rng) => Array(rng.int(201, 1_500)).fill('<!-- deepplan-disable budget -->').join('\n') },
];

/** The sizes the acceptance item names, once each, on top of the random sizes above. */
function namedPathologicalCases(): Case[] {
  const rng = categoryRng('pathological-named');
  const payloads: Array<[string, string]> = [
    ['100k [', '['.repeat(100_000)],
    ['100k *', '*'.repeat(100_000)],
    ['100k <', '<'.repeat(100_000)],
    ['a table with 5,000 columns', [`|${' h |'.repeat(5_000)}`, `|${' --- |'.repeat(5_000)}`, `|${' c |'.repeat(5_000)}`].join('\n')],
    ['a 500 kB single line', 'lorem ipsum '.repeat(Math.ceil(500_000 / 12)).slice(0, 500_000)],
    ['50k backticks', '`'.repeat(50_000)],
  ];
  return payloads.map(([note, payload], index) => {
    const { text, base } = inject(rng, payload);
    return { id: `pathological-named#${index}`, seed: SEED, note: `${base}, ${note}`, content: text, mustError: true, check: expectParseError() };
  });
}

function pathologicalCase(rng: Rng, index: number): Omit<Case, 'id' | 'seed'> {
  const family = PATHOLOGICAL[index % PATHOLOGICAL.length]!;
  const payload = family.make(rng);
  const { text, base } = inject(rng, payload);
  return { note: `${base}, ${family.name} (${payload.length} characters)`, content: text, mustError: true, check: expectParseError() };
}

function timeAt(start: number, seconds: number): string {
  return new Date(start + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const LOG_BREAKS = ['cells', 'delimiter', 'header', 'number', 'time', 'result', 'signal', 'complete', 'action'] as const;

/** A valid log of `rows` rows for SMALL_PLAN (state.iteration set to match), with one thing broken. */
function brokenLogCase(rng: Rng, index: number): Omit<Case, 'id' | 'seed'> {
  const kind = LOG_BREAKS[index % LOG_BREAKS.length]!;
  const count = rng.int(kind === 'time' || kind === 'complete' ? 2 : 1, 12);
  const start = Date.parse('2026-11-20T10:00:00Z');
  const times: number[] = [];
  let seconds = 0;
  for (let i = 0; i < count; i++) times.push((seconds += rng.int(1, 3_600)));
  const rows = times.map((t, i) =>
    logRow(i + 1, timeAt(start, t))
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
  let header = ['#', 'When', 'Phase', 'Action', 'Result', 'Signal', 'Notes'];
  let delimiter = true;
  const target = rng.int(kind === 'time' ? 1 : 0, count - (kind === 'complete' ? 2 : 1));
  const row = rows[target]!;
  switch (kind) {
    case 'cells':
      if (rng.bool()) row.splice(rng.int(0, row.length - 1), 1);
      else row.push(...Array.from({ length: rng.int(1, 3) }, () => rng.word()));
      break;
    case 'delimiter':
      delimiter = false;
      break;
    case 'header':
      {
        const column = rng.int(0, 6);
        if (rng.bool()) header.splice(column, 1);
        else header[column] = `x${rng.word()}`;
      }
      break;
    case 'number':
      row[0] = rng.pick([String(target + 2 + rng.int(0, 5)), rng.word(), '0', `${target + 1}.5`]);
      break;
    case 'time':
      row[1] = rng.bool() ? timeAt(start, times[target - 1]! - rng.int(1, 10_000)) : rng.pick(['yesterday', '2026-13-45T99:99:99Z', '2026-11-20 10:00', '']);
      break;
    case 'result':
      row[4] = rng.pick(['done', 'OK', 'success', `x${rng.word()}`]);
      break;
    case 'signal':
      row[5] = rng.pick(['continue', 'DONE', 'BLOCKED', rng.word()]);
      break;
    case 'complete':
      row[5] = 'TASK_COMPLETE';
      break;
    case 'action':
      row[3] = rng.pick([`run node scripts/x.mjs`, `P9.1 ${rng.word()}`, rng.word(), `P1 x${rng.word()}`]);
      break;
  }
  const lines = [`| ${header.join(' | ')} |`];
  if (delimiter) lines.push(`|${' --- |'.repeat(header.length)}`);
  for (const cells of rows) lines.push(`| ${cells.join(' | ')} |`);
  const text = edits(SMALL_PLAN, [
    ['  iteration: 0\n', `  iteration: ${count}\n`],
    [LOG_TABLE, `${lines.join('\n')}\n`],
  ]);
  return {
    note: `${count} rows, broken ${kind} (row ${target + 1})`,
    content: text,
    mustError: true,
    check: (result) => (hasError(result, 'iteration-log') ? null : 'expected an iteration-log error'),
  };
}

/** Random printable ASCII (or a line break) over 1 to 6 characters of the front matter: the plan may stay valid. */
function frontMatterSubstitutionCase(rng: Rng): Omit<Case, 'id' | 'seed'> {
  const name = rng.pick(Object.keys(BASES));
  const chars = [...BASES[name]!];
  const { start, end } = frontMatterBounds(BASES[name]!);
  const changes: string[] = [];
  for (let n = rng.int(1, 6); n > 0; n--) {
    const at = rng.int(start, end - 1);
    const next = rng.bool(0.1) ? rng.pick(['\n', '\t', ':', '#', '&', '*', '!', '|', '>', '-', '[', '{', '"', "'"]) : String.fromCharCode(rng.int(0x20, 0x7e));
    changes.push(`${at}:${JSON.stringify(chars[at])}→${JSON.stringify(next)}`);
    chars[at] = next;
  }
  return { note: `${name}, ${changes.join(' ')}`, content: chars.join(''), mustError: false };
}

/** Random printable ASCII over 1 to 12 characters anywhere in the plan: it may stay valid. */
function anywhereSubstitutionCase(rng: Rng): Omit<Case, 'id' | 'seed'> {
  const name = rng.pick(Object.keys(BASES));
  const chars = [...BASES[name]!];
  const changes: number[] = [];
  for (let n = rng.int(1, 12); n > 0; n--) {
    const at = rng.int(0, chars.length - 1);
    chars[at] = rng.bool(0.15) ? rng.pick(['\n', '|', '#', '`', '-', '>', '*', '[', ']']) : String.fromCharCode(rng.int(0x20, 0x7e));
    changes.push(at);
  }
  return { note: `${name}, characters at ${changes.join(', ')}`, content: chars.join(''), mustError: false };
}

/**
 * Inputs just inside the parser's limits, where its time is highest: they may be valid (a plan with a long log,
 * a long body) and must still lint within the time limit.
 */
function atLimitCases(): Case[] {
  const rng = categoryRng('at-limit');
  const specs: Array<{ note: string; content: () => string | Uint8Array }> = [
    {
      note: 'exactly 5 MB: a plan whose log rows run to the size limit (more lines than the log may have)',
      content: () => paddedPlan(MAX_PLAN_BYTES),
    },
    {
      note: 'a 9,990-row log',
      content: () => {
        const rows = Array.from({ length: 9_990 }, (_, i) => logRow(i + 1, timeAt(Date.parse('2026-11-20T10:00:00Z'), i * 60)));
        return edit(SMALL_PLAN, '  iteration: 0\n', '  iteration: 9990\n') + rows.join('\n') + '\n';
      },
    },
    {
      note: '4 MB of unclosed deepplan-disable comments after the log table',
      content: () => SMALL_PLAN + '\n' + 'x <!-- deepplan-disable '.repeat(170_000),
    },
    {
      note: '700 more lines of plan text in a section',
      content: () => {
        const lines = MODOP_PLAN.split('\n').slice(34, 250);
        return inject(rng, Array.from({ length: 700 }, (_, i) => lines[i % lines.length]).join('\n')).text;
      },
    },
    { note: '1,880 emphasis markers in one paragraph', content: () => inject(rng, '*_'.repeat(940)).text },
    { note: '1,400 markers over 700 lines', content: () => inject(rng, Array(700).fill('*_').join('\n')).text },
    { note: '50 kB of entities in 10,000-character lines', content: () => inject(rng, Array(5).fill('&#'.repeat(4_990)).join('\n')).text },
    { note: '50 kB of `<a` in 10,000-character lines', content: () => inject(rng, Array(5).fill('<a'.repeat(4_990)).join('\n')).text },
    { note: '50 kB of backslashes in 10,000-character lines', content: () => inject(rng, Array(5).fill('\\'.repeat(9_990)).join('\n')).text },
    {
      note: 'a 900-column table',
      content: () => inject(rng, [`|${' h |'.repeat(900)}`, `|${' - |'.repeat(900)}`, `|${' c |'.repeat(900)}`].join('\n')).text,
    },
    { note: '700 list items', content: () => inject(rng, Array.from({ length: 700 }, (_, i) => `- item ${i}`).join('\n')).text },
    { note: 'quote and list churn, 840 levels', content: () => inject(rng, Array(140).fill('> - > - > - x').join('\n')).text },
    {
      note: '2,200 front-matter keys (about 28 kB)',
      content: () => withFrontMatter(rng, Array.from({ length: 2_200 }, (_, i) => `key${i}: ${i}`).join('\n')).text,
    },
    {
      note: 'a flow map of 2,200 keys in the front matter',
      content: () => withFrontMatter(rng, `many: {${Array.from({ length: 2_200 }, (_, i) => `k${i}: ${i}`).join(', ')}}`).text,
    },
    { note: 'title nested 32 deep', content: () => withFrontMatter(rng, '', `${'['.repeat(32)}${']'.repeat(32)}`).text },
  ];
  return specs.map((spec, index) => ({ id: `at-limit#${index}`, seed: SEED, note: spec.note, content: spec.content(), mustError: false }));
}

// ---------------------------------------------------------------------------------------------------------------

function exampleSkills(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(EXAMPLE_SKILLS_DIR)) {
    files[`.claude/skills/${name}/SKILL.md`] = readFileSync(join(EXAMPLE_SKILLS_DIR, name, 'SKILL.md'), 'utf8');
  }
  return files;
}

describe(`lint fuzz (seed ${SEED}; DEEPPLAN_FUZZ_SEED=<n> for another)`, () => {
  beforeAll(async () => {
    repo = makeRepo({ ...SMALL_PLAN_SKILLS, ...exampleSkills() });
    // The base plans lint clean here, so the errors below come from the mutations; this also warms the linter up.
    for (const [name, text] of Object.entries(BASES)) {
      writeFile(repo, `bases/${name}.md`, text);
      const result = await lintFile(`bases/${name}.md`, repo);
      expect(errorsOf(result), `base plan ${name}`).toEqual([]);
    }
  });

  afterAll(() => {
    const rows = [...stats].map(
      ([category, s]) =>
        `${category.padEnd(22)} ${String(s.cases).padStart(5)} cases (${s.mustError} must error, ${s.maybeValid} may be valid), ` +
        `${s.withErrors} with errors, mean ${(s.totalMs / Math.max(1, s.cases)).toFixed(1)} ms, slowest ${s.slowestMs.toFixed(0)} ms (${s.slowest})`,
    );
    console.log(`lint fuzz, seed ${SEED}\n${rows.join('\n')}`);
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('byte flips that make invalid UTF-8: a parse error at the first flipped byte', { timeout: CATEGORY_TIMEOUT_MS }, async () => {
    const failures = await runCategory('byte-flip', makeCases('byte-flip', 300, flipCase), 6);
    expect(failures, report(failures)).toEqual([]);
  });

  it('truncation before the iteration log', { timeout: CATEGORY_TIMEOUT_MS }, async () => {
    const failures = await runCategory('truncation', makeCases('truncation', 150, truncateCase), 6);
    expect(failures, report(failures)).toEqual([]);
  });

  it('required front-matter lines deleted', { timeout: CATEGORY_TIMEOUT_MS }, async () => {
    const failures = await runCategory('front-matter-deletion', makeCases('front-matter-deletion', 100, deleteLinesCase), 5);
    expect(failures, report(failures)).toEqual([]);
  });

  it('YAML bombs: billion laughs, flow nesting 1,000 to 15,000 deep, huge anchors, merge keys, alias floods', { timeout: CATEGORY_TIMEOUT_MS }, async () => {
    const failures = await runCategory('yaml-bomb', makeCases('yaml-bomb', 100, yamlBombCase), 8);
    expect(failures, report(failures)).toEqual([]);
  });

  it('10 MB and 5 MB + 1 byte files are refused by size', { timeout: CATEGORY_TIMEOUT_MS }, async () => {
    const failures = await runCategory('big', bigCases(), 2);
    expect(failures, report(failures)).toEqual([]);
  });

  it('binary data: random bytes with NULs, PNG, a plan with a NUL byte', { timeout: CATEGORY_TIMEOUT_MS }, async () => {
    const failures = await runCategory('binary', makeCases('binary', 100, binaryCase), 6);
    expect(failures, report(failures)).toEqual([]);
  });

  it('deep Markdown nesting: block quotes and lists up to 1,000 deep', { timeout: CATEGORY_TIMEOUT_MS }, async () => {
    const failures = await runCategory('nesting', makeCases('nesting', 60, nestingCase), 5);
    expect(failures, report(failures)).toEqual([]);
  });

  it('pathological Markdown inside an otherwise valid plan is refused before remark parses it', { timeout: CATEGORY_TIMEOUT_MS }, async () => {
    const cases = [...namedPathologicalCases(), ...makeCases('pathological', PATHOLOGICAL.length * 7, pathologicalCase)];
    const failures = await runCategory('pathological', cases, 8);
    expect(failures, report(failures)).toEqual([]);
  });

  it('broken iteration log tables', { timeout: CATEGORY_TIMEOUT_MS }, async () => {
    const failures = await runCategory('broken-log', makeCases('broken-log', LOG_BREAKS.length * 12, brokenLogCase), 5);
    expect(failures, report(failures)).toEqual([]);
  });

  it('random ASCII substitutions (may be valid): no throw, within the time limit', { timeout: CATEGORY_TIMEOUT_MS }, async () => {
    const failures = [
      ...(await runCategory('front-matter-ascii', makeCases('front-matter-ascii', 150, frontMatterSubstitutionCase))),
      ...(await runCategory('anywhere-ascii', makeCases('anywhere-ascii', 100, anywhereSubstitutionCase))),
    ];
    expect(failures, report(failures)).toEqual([]);
  });

  it('inputs just inside the parser limits (may be valid): no throw, within the time limit', { timeout: CATEGORY_TIMEOUT_MS }, async () => {
    const failures = await runCategory('at-limit', atLimitCases());
    expect(failures, report(failures)).toEqual([]);
  });

  it('counts at least 1,000 must-error cases, each with an error finding', () => {
    let mustError = 0;
    let withErrors = 0;
    for (const [category, s] of stats) {
      if (category === 'front-matter-ascii' || category === 'anywhere-ascii' || category === 'at-limit') continue;
      mustError += s.mustError;
      withErrors += s.withErrors;
    }
    expect(mustError).toBeGreaterThanOrEqual(1_000);
    expect(withErrors).toBe(mustError);
  });

  it('the CLI lints a sample of the hostile files: exit 1, one result per file, each with an error, no stack trace', { timeout: CATEGORY_TIMEOUT_MS }, () => {
    expect(cliSample.size).toBeGreaterThanOrEqual(45);
    const result = spawnSync(process.execPath, [CLI, 'lint', 'cli-sample', '--format', 'json'], {
      cwd: repo,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(result.stderr, `[seed ${SEED}] stderr`).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(result.stderr, `[seed ${SEED}] stderr`).not.toMatch(/\b(?:Type|Range|Reference|Syntax)?Error\b/);
    expect(result.status, `[seed ${SEED}] exit code; stderr: ${result.stderr.slice(0, 500)}`).toBe(1);
    const json = JSON.parse(result.stdout) as {
      files: Array<{ path: string; findings: Array<{ ruleId: string; severity: string; message: string; line: number }> }>;
      summary: { errors: number; warnings: number };
    };
    expect(json.files.map((file) => file.path).sort()).toEqual([...cliSample.keys()].map((name) => `cli-sample/${name}`).sort());
    for (const file of json.files) {
      const name = file.path.slice('cli-sample/'.length);
      const errors = file.findings.filter((finding) => finding.severity === 'error');
      expect(errors.length, `[seed ${SEED}] ${file.path} has an error finding`).toBeGreaterThan(0);
      // The CLI finds what lintFile found in-process in the same bytes: the same rules fail, and a file refused
      // unparsed is refused for the same reason. (Messages of YAML nested past the stack depth differ by process.)
      const inProcess = errorsOf(cliSample.get(name)!);
      const ruleIds = (list: Array<{ ruleId: string }>) => [...new Set(list.map((finding) => finding.ruleId))].sort();
      expect(ruleIds(errors), `[seed ${SEED}] ${file.path}`).toEqual(ruleIds(inProcess));
      const parseMessages = (list: Array<{ ruleId: string; message: string; line: number }>) =>
        list.filter((finding) => finding.ruleId === PARSE_RULE_ID).map((finding) => `${finding.line}: ${finding.message}`);
      expect(parseMessages(errors), `[seed ${SEED}] ${file.path}`).toEqual(parseMessages(inProcess));
    }
    expect(json.summary.errors).toBe(json.files.reduce((sum, file) => sum + file.findings.filter((f) => f.severity === 'error').length, 0));
  });
});
