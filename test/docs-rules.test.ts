/**
 * docs/rules.md is checked against the rules it documents.
 *
 * What the document must look like:
 * - One `## <rule-id>` section per id of RULE_IDS, in catalog order, then `## parse`. Other `##` headings (the
 *   introduction's) are not written as ids, so any heading that looks like an id must be one of these.
 * - Each of those sections states `Default severity: **error**` (or `**warning**`) as the rule declares it.
 * - Each has at least one block fenced ```` ```markdown fails ```` and one fenced ```` ```markdown passes ````.
 * - Each `fails` block is followed (as the next fenced block) by a ```` ```text ```` block listing the findings it
 *   produces, one per line, as the text reporter shows them without the position: `<severity>  <message>  <rule-id>`.
 * - The introduction holds the example plan in a block fenced ```` ```markdown example-plan ````; it must be
 *   SMALL_PLAN (test/support/fixtures.ts) verbatim, since every snippet is applied to it.
 *
 * How a snippet (a fragment of a plan) is applied to SMALL_PLAN, in this order:
 * 1. File directives. A line `<!-- file: <path> lines=<n> -->` is taken out of the fragment; the repository the
 *    plan is linted in gets <path> with n lines of text. (phase-context-mode needs inputs of a known size.)
 * 2. Front matter. If the fragment starts with a `---` line, the lines up to the next `---` line are top-level
 *    front-matter keys: each replaces the key of the same name in SMALL_PLAN's front matter, its whole value (the
 *    indented lines under it) included; a key SMALL_PLAN does not have is added at the end. Other keys stay as
 *    they are.
 * 3. Body. The rest of the fragment, if any, starts with a heading; its level (`##` or `###`) is the fragment's
 *    level. The fragment is a contiguous piece of the plan: it replaces the stretch of SMALL_PLAN from the first
 *    to the last heading of that level that the fragment names and SMALL_PLAN has, each heading's part running to
 *    the next heading of the same or a higher level. `##` headings match section titles (case-insensitively);
 *    `### P<n>. Title` matches the phase with the same id, other `###` headings match the subsection with the same
 *    title (`### Excluded`). Headings SMALL_PLAN does not have travel with the text; sections SMALL_PLAN has between
 *    the first and last match are dropped (that is how a snippet shows a missing section). The fragment must name
 *    at least one heading SMALL_PLAN has.
 * 4. The result is linted with lintText as plans/example.md of a fresh repository made with
 *    makeRepo({ ...SMALL_PLAN_SKILLS, ...files, 'plans/example.md': plan }): the five skills SMALL_PLAN names are
 *    installed under .claude/skills/, nothing else is, and there is no deepplan.config.yaml (default severities).
 *
 * What is asserted:
 * - `fails`: at least one finding has the section's id, and every finding its ```text block lists is produced
 *   with that severity and that exact message.
 * - `passes`: no finding has the section's id, and no finding at all is an error (the plan lints with exit 0).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { PARSE_RULE_ID, RULE_IDS, ruleById } from '../src/rules/catalog.js';
import { SAME_ACTION_FAILURES, ITERATIONS_WITHOUT_PROGRESS } from '../src/rules/escape-hatch.js';
import { DIRECT_MAX_LINES, EXTRACT_MAX_LINES } from '../src/rules/phase-context-mode.js';
import { MAX_PHASES, MIN_SUBSTANTIAL_PHASES } from '../src/rules/phase-count.js';
import { FILE_OPS_BLOCK, FILE_OPS_WARN } from '../src/rules/phase-file-ops.js';
import { docsUrl, type Finding } from '../src/rules/rule.js';
import { MIN_EXCLUDED_SKILLS, MIN_MAPPED_SKILLS } from '../src/rules/skill-audit.js';
import { PROJECT_ROOT, SMALL_PLAN, SMALL_PLAN_SKILLS, edit, makeRepo } from './support/fixtures.js';

const DOC_PATH = join(PROJECT_ROOT, 'docs', 'rules.md');
const DOC = readFileSync(DOC_PATH, 'utf8');
const DOCUMENTED_IDS = [...RULE_IDS, PARSE_RULE_ID];

const repos: string[] = [];
afterAll(() => {
  for (const root of repos) rmSync(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// Reading the document

interface Block {
  info: string;
  body: string;
  line: number;
}

interface DocSection {
  heading: string;
  line: number;
  text: string;
  blocks: Block[];
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** Fenced blocks of Markdown text, with their info strings and the line they open on (1-based, from `firstLine`). */
function fencedBlocks(text: string, firstLine = 1): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  let open: { fence: string; info: string; line: number; body: string[] } | null = null;
  lines.forEach((line, index) => {
    const match = FENCE.exec(line);
    if (open) {
      if (match && match[1]![0] === open.fence[0] && match[1]!.length >= open.fence.length && match[2]!.trim() === '') {
        blocks.push({ info: open.info, body: open.body.join('\n'), line: open.line });
        open = null;
      } else {
        open.body.push(line);
      }
      return;
    }
    if (match) open = { fence: match[1]!, info: match[2]!.trim(), line: firstLine + index, body: [] };
  });
  if (open) throw new Error(`docs/rules.md: the fence opened on line ${(open as { line: number }).line} is never closed`);
  return blocks;
}

/** The document split at its `## ` headings (outside fenced blocks). */
function docSections(text: string): { intro: string; sections: DocSection[] } {
  const lines = text.split('\n');
  const sections: DocSection[] = [];
  let intro: string[] = [];
  let current: { heading: string; line: number; lines: string[] } | null = null;
  let fence: string | null = null;
  const finish = () => {
    if (!current) return;
    const body = current.lines.join('\n');
    sections.push({ heading: current.heading, line: current.line, text: body, blocks: fencedBlocks(body, current.line + 1) });
  };
  lines.forEach((line, index) => {
    const match = FENCE.exec(line);
    if (fence) {
      if (match && match[1]![0] === fence[0] && match[1]!.length >= fence.length && match[2]!.trim() === '') fence = null;
    } else if (match) {
      fence = match[1]!;
    } else if (/^## /.test(line)) {
      finish();
      current = { heading: line.slice(3).trim(), line: index + 1, lines: [] };
      return;
    }
    if (current) current.lines.push(line);
    else intro.push(line);
  });
  finish();
  return { intro: intro.join('\n'), sections };
}

/** GitHub's heading anchors: lower case, punctuation other than `-` and `_` dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const { sections: SECTIONS } = docSections(DOC);
const ID_LIKE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const RULE_SECTIONS = SECTIONS.filter((section) => ID_LIKE.test(section.heading));

interface ExpectedFinding {
  severity: string;
  message: string;
  ruleId: string;
}

interface Snippet {
  kind: 'fails' | 'passes';
  body: string;
  line: number;
  expected: ExpectedFinding[];
}

const FINDING_LINE = /^(error|warning) {2,}(.*?) {2,}([a-z][a-z0-9-]*)$/;

function snippetsOf(section: DocSection): Snippet[] {
  const snippets: Snippet[] = [];
  section.blocks.forEach((block, index) => {
    const kind = /^markdown\s+(fails|passes)$/.exec(block.info)?.[1] as Snippet['kind'] | undefined;
    if (!kind) return;
    const expected: ExpectedFinding[] = [];
    if (kind === 'fails') {
      const next = section.blocks[index + 1];
      if (!next || next.info !== 'text') {
        throw new Error(`docs/rules.md:${block.line}: a \`fails\` snippet must be followed by a \`text\` block of its findings`);
      }
      for (const line of next.body.split('\n')) {
        if (line.trim() === '') continue;
        const match = FINDING_LINE.exec(line.trim());
        if (!match) throw new Error(`docs/rules.md:${next.line}: "${line}" is not \`<severity>  <message>  <rule-id>\``);
        expected.push({ severity: match[1]!, message: match[2]!, ruleId: match[3]! });
      }
    }
    snippets.push({ kind, body: block.body, line: block.line, expected });
  });
  return snippets;
}

// ---------------------------------------------------------------------------------------------------------------
// Applying a fragment to SMALL_PLAN (the convention in the comment at the top)

const FILE_DIRECTIVE = /^<!--\s*file:\s*(\S+)\s+lines=(\d+)\s*-->\s*$/;

interface Applied {
  plan: string;
  files: Record<string, string>;
}

export function applyFragment(base: string, fragment: string): Applied {
  const files: Record<string, string> = {};
  const kept: string[] = [];
  for (const line of fragment.split('\n')) {
    const directive = FILE_DIRECTIVE.exec(line.trim());
    if (directive) {
      const count = Number(directive[2]);
      files[directive[1]!] = Array.from({ length: count }, (_, i) => `line ${i + 1}`).join('\n') + (count > 0 ? '\n' : '');
    } else {
      kept.push(line);
    }
  }
  let rest = kept.join('\n').replace(/^\s*\n/, '');
  let plan = base;
  if (/^---[ \t]*(\n|$)/.test(rest)) {
    const lines = rest.split('\n');
    const close = lines.findIndex((line, index) => index > 0 && /^---[ \t]*$/.test(line));
    if (close === -1) throw new Error('the fragment opens front matter but never closes it');
    plan = mergeFrontMatter(plan, lines.slice(1, close));
    rest = lines.slice(close + 1).join('\n');
  }
  if (rest.trim() !== '') plan = replaceBody(plan, rest.replace(/^\s*\n/, ''));
  return { plan, files };
}

interface YamlBlock {
  key: string | null;
  lines: string[];
}

/** Top-level front-matter entries: a `key:` line and the indented (or blank) lines under it. */
function yamlBlocks(lines: string[]): YamlBlock[] {
  const blocks: YamlBlock[] = [];
  for (const line of lines) {
    const key = /^([A-Za-z_][\w-]*)\s*:/.exec(line)?.[1] ?? null;
    if (key !== null || blocks.length === 0 || !/^(\s|$)/.test(line)) blocks.push({ key, lines: [line] });
    else blocks[blocks.length - 1]!.lines.push(line);
  }
  return blocks;
}

function mergeFrontMatter(plan: string, fragmentLines: string[]): string {
  const lines = plan.split('\n');
  if (lines[0] !== '---') throw new Error('the base plan does not start with front matter');
  const close = lines.findIndex((line, index) => index > 0 && line === '---');
  const blocks = yamlBlocks(lines.slice(1, close));
  for (const replacement of yamlBlocks(fragmentLines)) {
    if (replacement.key === null) throw new Error(`front-matter fragment line "${replacement.lines[0]}" is not a top-level key`);
    const at = blocks.findIndex((block) => block.key === replacement.key);
    if (at === -1) blocks.push(replacement);
    else blocks[at] = replacement;
  }
  return ['---', ...blocks.flatMap((block) => block.lines), ...lines.slice(close)].join('\n');
}

interface Part {
  key: string;
  start: number;
  end: number;
}

function headingKey(level: number, title: string): string {
  const phase = level === 3 ? /^(P\d+[a-z]?)\.\s/.exec(title) : null;
  return phase ? `phase ${phase[1]}` : title.trim().toLowerCase().replace(/\s+/g, ' ');
}

/** The parts of `text` headed by level-`level` headings, each up to the next heading of that level or higher. */
function partsOf(text: string, level: number): Part[] {
  const lines = text.split('\n');
  const offsets: number[] = [];
  let offset = 0;
  for (const line of lines) {
    offsets.push(offset);
    offset += line.length + 1;
  }
  const parts: Part[] = [];
  let current: Part | null = null;
  lines.forEach((line, index) => {
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading || heading[1]!.length > level) return;
    if (current) current.end = offsets[index]!;
    current = null;
    if (heading[1]!.length === level) {
      current = { key: headingKey(level, heading[2]!), start: offsets[index]!, end: text.length };
      parts.push(current);
    }
  });
  return parts;
}

function replaceBody(plan: string, fragment: string): string {
  const first = /^(#{2,3})\s/.exec(fragment);
  if (!first) throw new Error(`a fragment's body must start with a \`##\` or \`###\` heading: "${fragment.split('\n')[0]}"`);
  const level = first[1]!.length;
  const bodyStart = plan.indexOf('\n---\n', 4) + 5;
  const body = plan.slice(bodyStart);
  const planParts = partsOf(body, level);
  const named = partsOf(fragment, level)
    .map((part) => planParts.find((candidate) => candidate.key === part.key))
    .filter((part): part is Part => part !== undefined);
  if (named.length === 0) throw new Error(`the fragment names no ${'#'.repeat(level)} heading of the example plan`);
  const start = Math.min(...named.map((part) => part.start));
  const end = Math.max(...named.map((part) => part.end));
  const replacement = fragment.replace(/\s*$/, '\n');
  const after = body.slice(end);
  return plan.slice(0, bodyStart) + body.slice(0, start) + replacement + (after.length > 0 && !/^\n/.test(after) ? '\n' : '') + after;
}

function lintFragment(fragment: string): { plan: string; findings: Finding[] } {
  const { plan, files } = applyFragment(SMALL_PLAN, fragment);
  const root = makeRepo({ ...SMALL_PLAN_SKILLS, ...files, 'plans/example.md': plan });
  repos.push(root);
  return { plan, findings: lintText(plan, join(root, 'plans', 'example.md')) };
}

function describeFindings(findings: Finding[]): string {
  return findings.map((finding) => `${finding.line}: ${finding.severity}  ${finding.message}  ${finding.ruleId}`).join('\n') || '(none)';
}

// ---------------------------------------------------------------------------------------------------------------

describe('docs/rules.md structure', () => {
  it('has one `## <rule-id>` section per rule, in catalog order, then `## parse`', () => {
    expect(RULE_SECTIONS.map((section) => section.heading)).toEqual(DOCUMENTED_IDS);
  });

  it('uses headings whose anchors are the links the reporters print (docsUrl)', () => {
    for (const id of DOCUMENTED_IDS) {
      const section = RULE_SECTIONS.find((candidate) => candidate.heading === id);
      expect(section, `no ## ${id}`).toBeDefined();
      expect(docsUrl(id)).toBe(`docs/rules.md#${githubAnchor(section!.heading)}`);
    }
    // No introduction heading may take an id's anchor.
    const anchors = SECTIONS.map((section) => githubAnchor(section.heading));
    for (const id of DOCUMENTED_IDS) expect(anchors.filter((anchor) => anchor === id)).toHaveLength(1);
  });

  it("states each rule's default severity as the rule declares it", () => {
    for (const section of RULE_SECTIONS) {
      const declared = section.heading === PARSE_RULE_ID ? 'error' : ruleById(section.heading)!.severity;
      const stated = /Default severity: \*\*(error|warning)\*\*/.exec(section.text)?.[1];
      expect(stated, `## ${section.heading} must say "Default severity: **${declared}**"`).toBe(declared);
    }
  });

  it('gives every rule at least one failing snippet with its findings and one passing snippet', () => {
    for (const section of RULE_SECTIONS) {
      const snippets = snippetsOf(section);
      expect(snippets.filter((snippet) => snippet.kind === 'fails').length, `## ${section.heading}: fails`).toBeGreaterThan(0);
      expect(snippets.filter((snippet) => snippet.kind === 'passes').length, `## ${section.heading}: passes`).toBeGreaterThan(0);
      for (const snippet of snippets.filter((candidate) => candidate.kind === 'fails')) {
        expect(snippet.expected.length, `docs/rules.md:${snippet.line}: list the findings`).toBeGreaterThan(0);
        for (const expected of snippet.expected) expect(expected.ruleId, `docs/rules.md:${snippet.line}`).toBe(section.heading);
      }
    }
  });

  it('holds SMALL_PLAN verbatim as the example plan the snippets apply to', () => {
    const blocks = fencedBlocks(DOC).filter((block) => block.info === 'markdown example-plan');
    expect(blocks).toHaveLength(1);
    expect(`${blocks[0]!.body}\n`).toBe(SMALL_PLAN);
  });

  it('cites the numbers the rules use (their exported constants)', () => {
    const text = (id: string) => RULE_SECTIONS.find((section) => section.heading === id)!.text;
    const cites = (id: string, value: number | string) => {
      const shown = typeof value === 'number' ? value.toLocaleString('en-US') : value;
      expect(text(id), `## ${id} should cite ${shown}`).toMatch(new RegExp(`(^|[^\\d,])${shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\d,])`));
    };
    cites('phase-context-mode', DIRECT_MAX_LINES + 1);
    cites('phase-context-mode', EXTRACT_MAX_LINES);
    cites('phase-file-ops', FILE_OPS_WARN);
    cites('phase-file-ops', FILE_OPS_BLOCK);
    cites('phase-count', `${MIN_SUBSTANTIAL_PHASES} to ${MAX_PHASES}`);
    cites('skill-audit', MIN_MAPPED_SKILLS);
    cites('skill-audit', MIN_EXCLUDED_SKILLS);
    cites('escape-hatch', SAME_ACTION_FAILURES);
    cites('escape-hatch', ITERATIONS_WITHOUT_PROGRESS);
    cites('budget', 'ceil((max(2 × phases, actions) + success_criteria / 3 + 5) × 1.15)');
  });
});

describe('the fragment convention of this test', () => {
  it('leaves SMALL_PLAN clean, so every finding of a snippet comes from the snippet', () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/example.md': SMALL_PLAN });
    repos.push(root);
    expect(lintText(SMALL_PLAN, join(root, 'plans', 'example.md'))).toEqual([]);
  });

  it('replaces front-matter keys, sections, stretches of sections, phases and subsections as documented', () => {
    const fm = applyFragment(SMALL_PLAN, '---\nbudget:\n  max_iterations: 9\n  basis: formula\nbranch: x\n---').plan;
    expect(fm).toContain('budget:\n  max_iterations: 9\n  basis: formula\nscope:');
    expect(fm).toContain('updated: 2026-11-20T10:00:00Z\nbranch: x\n---\n');
    expect(fm.split('\n').length).toBe(SMALL_PLAN.split('\n').length + 1);

    const stretch = applyFragment(SMALL_PLAN, '## Request\n\nAsk.\n\n## Constraints\n\n- One.\n').plan;
    expect(stretch).toContain('## Request\n\nAsk.\n\n## Constraints\n\n- One.\n\n## Stakeholders');
    expect(stretch).not.toContain('## Success criteria');

    const phase = applyFragment(SMALL_PLAN, '### P2. Renamed\n- Done when: x\n\n1. step\n').plan;
    expect(phase).toContain('### P2. Renamed\n- Done when: x\n\n1. step\n\n### P3. Publish the page');
    expect(phase).toContain('### P1. Fetch the notes');

    const sub = applyFragment(SMALL_PLAN, '### Excluded\n\n| Skill | Reason |\n| --- | --- |\n| a | b |\n').plan;
    expect(sub).toContain('| a | b |\n\n## Phases');
    expect(sub).not.toContain('hubspot-sync');

    const file = applyFragment(SMALL_PLAN, '<!-- file: notes/big.md lines=3 -->\n### P1. Fetch\n');
    expect(file.files).toEqual({ 'notes/big.md': 'line 1\nline 2\nline 3\n' });
    expect(file.plan).not.toContain('<!-- file:');

    expect(() => applyFragment(SMALL_PLAN, '## Nothing like it\n')).toThrow(/names no ## heading/);
  });
});

describe.each(RULE_SECTIONS.map((section) => [section.heading, section] as const))('docs/rules.md ## %s', (id, section) => {
  const snippets = snippetsOf(section);
  it.each(snippets.map((snippet) => [`${snippet.kind} (docs/rules.md:${snippet.line})`, snippet] as const))('%s', (_name, snippet) => {
    const { plan, findings } = lintFragment(snippet.body);
    const context = `\n--- plan ---\n${plan}\n--- findings ---\n${describeFindings(findings)}`;
    const own = findings.filter((finding) => finding.ruleId === id);
    if (snippet.kind === 'fails') {
      expect(own.length, `the failing snippet yields no ${id} finding${context}`).toBeGreaterThan(0);
      for (const expected of snippet.expected) {
        const found = own.some((finding) => finding.message === expected.message && finding.severity === expected.severity);
        expect(found, `the documented finding "${expected.severity}  ${expected.message}" is not produced${context}`).toBe(true);
      }
    } else {
      expect(own, `the passing snippet yields ${id} findings${context}`).toEqual([]);
      expect(
        findings.filter((finding) => finding.severity === 'error'),
        `the passing snippet leaves errors${context}`,
      ).toEqual([]);
    }
  });
});

describe('the introduction of docs/rules.md', () => {
  const lintWith = (plan: string, config?: string) => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/example.md': plan, ...(config ? { 'deepplan.config.yaml': config } : {}) });
    repos.push(root);
    return lintText(plan, join(root, 'plans', 'example.md'));
  };
  const badBudget = applyFragment(SMALL_PLAN, '---\nbudget:\n  max_iterations: 5\n  basis: formula\n---').plan;

  it('names every severity setting the configuration accepts, and each does what it says', () => {
    expect(DOC).toMatch(/off\|warning\|error\|on/);
    const budgetOf = (config?: string) => lintWith(badBudget, config).filter((finding) => finding.ruleId === 'budget');
    expect(budgetOf().map((finding) => finding.severity)).toEqual(['error']);
    expect(budgetOf('rules:\n  budget: warning\n').map((finding) => finding.severity)).toEqual(['warning']);
    expect(budgetOf('rules:\n  budget: off\n')).toEqual([]);
    expect(budgetOf('rules:\n  budget: on\n').map((finding) => finding.severity)).toEqual(['error']);
  });

  it('a disable comment above the first heading covers the whole file, front matter included', () => {
    expect(DOC).toContain('<!-- deepplan-disable rule-id -->');
    const plan = edit(badBudget, '\n# Weekly account summary\n', '\n<!-- deepplan-disable budget -->\n\n# Weekly account summary\n');
    expect(lintWith(plan).filter((finding) => finding.ruleId === 'budget')).toEqual([]);
  });

  // The `# yaml-language-server: $schema=...` comment that plans/*.md carry is YAML, not the first heading.
  it('…also when the front matter starts with the yaml-language-server comment line', () => {
    const withSchema = edit(badBudget, /^---\n/, '---\n# yaml-language-server: $schema=../schema/plan.schema.json\n');
    const plan = edit(withSchema, '\n# Weekly account summary\n', '\n<!-- deepplan-disable budget -->\n\n# Weekly account summary\n');
    expect(lintWith(plan).filter((finding) => finding.ruleId === 'budget')).toEqual([]);
  });

  it('a disable comment further down covers the lines from it to its enable comment, and no others', () => {
    const badGate = edit(SMALL_PLAN, '- Depends on: P1\n', '- Depends on: P1\n- Gate: reviewer\n');
    const around = (plan: string, from: string, to: string) =>
      edit(edit(plan, from, `<!-- deepplan-disable phase-fields -->\n\n${from}`), to, `<!-- deepplan-enable phase-fields -->\n\n${to}`);
    const phaseFields = (plan: string) => lintWith(plan).filter((finding) => finding.ruleId === 'phase-fields');
    expect(phaseFields(badGate)).toHaveLength(1);
    expect(phaseFields(around(badGate, '### P2.', '### P3.'))).toEqual([]);
    expect(phaseFields(around(badGate, '### P1.', '### P2.'))).toHaveLength(1);
  });
});
