/**
 * Keeps README.md and docs/*.md honest against the code:
 * - every relative link (and its #anchor) points to a file (and a heading) that exists; the docs pages the README's
 *   "Documentation" list promises exist and are listed;
 * - the complete example plan in docs/plan-format.md lints with no findings;
 * - every command `deepplan --help` lists has an "Examples:" section with a `$ deepplan <command>` line;
 * - every option that a deepplan command line in README.md (and the docs pages below) uses is one that command's
 *   --help lists.
 * The CLI checks drive the built CLI (dist/): build first.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import { makeRepo, PROJECT_ROOT, runCli, skillFile } from './support/fixtures.js';

/** The pages the README's Documentation list links; some are written by other parts of the project. */
const EXPECTED_PAGES = [
  'docs/plan-format.md',
  'docs/rules.md',
  'docs/providers.md',
  'docs/execution.md',
  'docs/calibration.md',
  'docs/ci.md',
  'docs/claude-code.md',
  'docs/screens.md',
  'docs/performance.md',
  'docs/scale-out.md',
  'docs/architecture.md',
  'CONTRIBUTING.md',
];

/** Pages whose command lines are checked against --help (besides README.md). */
const COMMAND_LINE_PAGES = ['README.md', 'docs/plan-format.md', 'docs/providers.md', 'docs/execution.md', 'docs/calibration.md', 'docs/performance.md'];

const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');

function markdownFiles(): string[] {
  const docs = readdirSync(join(PROJECT_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs.sort()];
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown helpers

interface Fence {
  info: string;
  body: string;
}

/** The text outside fenced code blocks (fenced lines blanked, so line numbers hold) and the fenced blocks. */
function splitFences(text: string): { prose: string; fences: Fence[] } {
  const lines = text.split('\n');
  const prose: string[] = [];
  const fences: Fence[] = [];
  let open: { marker: string; info: string; body: string[] } | null = null;
  for (const line of lines) {
    const match = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (open) {
      if (match && match[1]!.startsWith(open.marker) && match[1]![0] === open.marker[0] && match[2]!.trim() === '') {
        fences.push({ info: open.info, body: open.body.join('\n') });
        open = null;
      } else open.body.push(line);
      prose.push('');
    } else if (match) {
      open = { marker: match[1]!, info: match[2]!.trim(), body: [] };
      prose.push('');
    } else prose.push(line);
  }
  return { prose: prose.join('\n'), fences };
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 … for repeats. */
function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  for (const line of splitFences(text).prose.split('\n')) {
    const match = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!match) continue;
    const base = match[1]!
      .replace(/<[^>]+>/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const seen = counts.get(base) ?? 0;
    counts.set(base, seen + 1);
    anchors.add(seen === 0 ? base : `${base}-${seen}`);
  }
  return anchors;
}

interface Link {
  target: string;
  line: number;
}

/** Inline links and images outside code: `[text](target)`, `![alt](target "title")`. */
function linksOf(text: string): Link[] {
  const links: Link[] = [];
  splitFences(text)
    .prose.split('\n')
    .forEach((line, index) => {
      const withoutCode = line.replace(/(`+)[\s\S]*?\1/g, '');
      for (const match of withoutCode.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        links.push({ target: match[1]!, line: index + 1 });
      }
    });
  return links;
}

/** Links of `text` (the file at `path`, repository-relative) that do not resolve: a missing file or heading. */
function brokenLinks(path: string, text: string, readTarget: (path: string) => string | null): string[] {
  const broken: string[] = [];
  for (const link of linksOf(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) continue; // https:, mailto:
    const [file, anchor] = link.target.split('#', 2) as [string, string | undefined];
    const targetPath = file === '' ? path : relative(PROJECT_ROOT, resolve(PROJECT_ROOT, dirname(path), decodeURIComponent(file)));
    const where = `${path}:${link.line}: ${link.target}`;
    if (targetPath.startsWith('..')) {
      broken.push(`${where} (leaves the repository)`);
      continue;
    }
    const target = readTarget(targetPath);
    if (target === null) {
      broken.push(`${where} (no such file: ${targetPath})`);
      continue;
    }
    if (anchor && targetPath.endsWith('.md') && !headingAnchors(target).has(anchor)) broken.push(`${where} (no heading #${anchor} in ${targetPath})`);
  }
  return broken;
}

function readRepositoryFile(path: string): string | null {
  const full = join(PROJECT_ROOT, path);
  if (!existsSync(full)) return null;
  try {
    return readFileSync(full, 'utf8');
  } catch {
    return ''; // a folder: a link to it is fine, it has no headings
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Command lines and --help

interface CommandLine {
  source: string;
  command: string;
  options: string[];
}

/**
 * deepplan invocations in code: each fenced block's lines and each inline code span, from `deepplan <command>` (after
 * `$ `, `npx `, `VAR=value ` or `$(`) to the end of the command (a comment, a pipe, a redirection).
 */
function commandLines(path: string, text: string, groups: Set<string>): CommandLine[] {
  const { prose, fences } = splitFences(text);
  const candidates = [...fences.flatMap((fence) => fence.body.split('\n')), ...[...prose.matchAll(/(`+)([\s\S]*?)\1/g)].map((match) => match[2]!)];
  const found: CommandLine[] = [];
  for (const candidate of candidates) {
    for (const match of candidate.matchAll(/(?:^|[\s(])(?:npx\s+)?deepplan\s+(?=[a-z][a-z-]*(?:\s|$))/g)) {
      let rest = candidate.slice(match.index + match[0].length);
      // Quoted arguments are values, not options; then cut at a comment, a pipe, a redirection or a chain.
      rest = rest.replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, 'VALUE');
      rest = rest.split(/\s#|\s\||\s>|\s2>|&&|;|\)/)[0]!;
      const words = rest.trim().split(/\s+/);
      let command = words.shift()!;
      if (groups.has(command) && words[0] && /^[a-z]/.test(words[0])) command = `${command} ${words.shift()}`;
      const options = words.filter((word) => /^--?[a-zA-Z]/.test(word)).map((word) => word.split('=')[0]!);
      found.push({ source: `${path}: ${candidate.trim()}`, command, options });
    }
  }
  return found;
}

/** The options a --help text lists: `-f, --format <format>` gives -f and --format. */
function helpOptions(help: string): Set<string> {
  const options = new Set<string>();
  const section = help.split(/^Options:$/m)[1]?.split(/^\S.*:$/m)[0] ?? '';
  for (const line of section.split('\n')) {
    const match = /^\s{2}((?:-[a-zA-Z], )?--[a-z][a-z-]*)/.exec(line);
    if (!match) continue;
    for (const option of match[1]!.split(', ')) options.add(option);
  }
  return options;
}

/** The commands a --help text's "Commands:" section lists, without commander's own `help`. */
function helpCommands(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((match) => match[1]!).filter((name) => name !== 'help');
}

/** Every command path (`lint`, `hook stop`) with its --help text; a group's own help under its name too. */
async function collectHelp(): Promise<Map<string, string>> {
  const helps = new Map<string, string>();
  const top = await runCli(['--help'], PROJECT_ROOT);
  if (top.code !== 0) throw new Error(`deepplan --help exited ${top.code}: ${top.stderr}`);
  helps.set('', top.stdout);
  const queue = helpCommands(top.stdout);
  while (queue.length > 0) {
    const path = queue.shift()!;
    const result = await runCli([...path.split(' '), '--help'], PROJECT_ROOT);
    if (result.code !== 0) throw new Error(`deepplan ${path} --help exited ${result.code}: ${result.stderr}`);
    helps.set(path, result.stdout);
    for (const sub of helpCommands(result.stdout)) queue.push(`${path} ${sub}`);
  }
  return helps;
}

const isGroup = (helps: Map<string, string>, path: string) => helpCommands(helps.get(path) ?? '').length > 0;

// ---------------------------------------------------------------------------------------------------------------

describe('links', () => {
  it('finds a link to a missing file or heading (the checker can fail)', () => {
    const text =
      '[ok](docs/rules.md) [gone](docs/no-such-page.md) [anchor](docs/rules.md#budget) [bad anchor](docs/rules.md#no-such-rule)\n\n```md\n[in code](nowhere.md)\n```\n';
    const broken = brokenLinks('README.md', text, readRepositoryFile);
    expect(broken).toHaveLength(2);
    expect(broken[0]).toContain('no such file: docs/no-such-page.md');
    expect(broken[1]).toContain('no heading #no-such-rule');
  });

  it('computes GitHub heading anchors', () => {
    const anchors = headingAnchors('# A\n## Human gates, approve and --retry\n## `deepplan.config.yaml`\n## Steps\n## Steps\n```\n## not a heading\n```\n');
    expect([...anchors]).toEqual(['a', 'human-gates-approve-and---retry', 'deepplanconfigyaml', 'steps', 'steps-1']);
  });

  it('every page the README promises exists and is in its Documentation list', () => {
    const readme = read('README.md');
    const section = readme.split(/^## Documentation$/m)[1]?.split(/^## /m)[0] ?? '';
    const listed = new Set(linksOf(section).map((link) => link.target));
    for (const page of EXPECTED_PAGES) {
      expect(existsSync(join(PROJECT_ROOT, page)), `${page} is missing`).toBe(true);
      expect(listed.has(page), `README.md's Documentation list does not link ${page}`).toBe(true);
    }
    // And the list names no page this test does not know about.
    expect([...listed].filter((target) => !EXPECTED_PAGES.includes(target))).toEqual([]);
  });

  it.each(markdownFiles())('every relative link in %s resolves', (path) => {
    expect(brokenLinks(path, read(path), readRepositoryFile)).toEqual([]);
  });
});

describe('docs/plan-format.md', () => {
  const repos: string[] = [];
  afterAll(() => {
    for (const root of repos) rmSync(root, { recursive: true, force: true });
  });

  it('its complete example lints with no findings where its skills are installed', () => {
    const blocks = splitFences(read('docs/plan-format.md')).fences.filter((fence) => fence.info === 'markdown complete-example');
    expect(blocks).toHaveLength(1);
    const example = `${blocks[0]!.body}\n`;
    const plan = parsePlan(example, { path: 'plans/example.md' });
    const skills = [...(plan.skills?.mapped ?? []), ...(plan.skills?.excluded ?? [])].map((skill) => skill.name);
    expect(skills.length).toBeGreaterThanOrEqual(5);
    const root = makeRepo({
      'plans/example.md': example,
      ...Object.fromEntries(skills.map((name) => [`.claude/skills/${name}/SKILL.md`, skillFile(name)])),
    });
    repos.push(root);
    const findings = lintText(example, join(root, 'plans', 'example.md'));
    expect(findings.map((finding) => `${finding.line}: ${finding.severity} ${finding.message} (${finding.ruleId})`)).toEqual([]);
  });

  it('its complete example shows every kind of step and gate, a log and learnings', () => {
    const example = splitFences(read('docs/plan-format.md')).fences.find((fence) => fence.info === 'markdown complete-example')!.body;
    const plan = parsePlan(example, { path: 'plans/example.md' });
    const steps = new Set(plan.phases.flatMap((phase) => phase.steps.map((step) => step.kind)));
    expect([...steps].sort()).toEqual(['model', 'run', 'skill']);
    expect(new Set(plan.phases.map((phase) => phase.gate))).toEqual(new Set([null, 'human', 'review']));
    expect(plan.log?.rows.length).toBeGreaterThan(0);
    expect(plan.learnings?.length).toBeGreaterThan(0);
  });
});

describe('the command line and its documentation', () => {
  let helps: Map<string, string>;
  beforeAll(async () => {
    helps = await collectHelp();
  }, 120_000);

  it('finds the commands of deepplan --help', () => {
    const commands = [...helps.keys()].filter((path) => path !== '');
    for (const expected of ['lint', 'plan', 'review', 'run', 'approve', 'status', 'audit', 'doctor', 'calibrate', 'hook stop']) {
      expect(commands).toContain(expected);
    }
  });

  it('every command has an Examples: section with a line that runs it', () => {
    const missing: string[] = [];
    for (const [path, help] of helps) {
      if (path === '' || isGroup(helps, path)) continue;
      const examples = help.split(/^Examples:$/m)[1];
      const runsIt = new RegExp(`^\\s+\\$ (?:[A-Z_]+=\\S+ )*deepplan ${path.replace(/ /g, '\\s+')}(?:\\s|$)`, 'm');
      if (!examples || !runsIt.test(examples)) missing.push(path);
    }
    expect(missing).toEqual([]);
  });

  it('reports an option a command does not have (the check can fail)', () => {
    const groups = new Set([...helps.keys()].filter((path) => path !== '' && isGroup(helps, path)));
    const lines = commandLines('x.md', '```sh\nnpx deepplan lint plans --fromat json   # a typo\n$ deepplan hook stop --plan p.md\n```\n', groups);
    expect(lines.map((line) => line.command)).toEqual(['lint', 'hook stop']);
    expect(lines[0]!.options.filter((option) => !helpOptions(helps.get('lint')!).has(option))).toEqual(['--fromat']);
    expect(lines[1]!.options.every((option) => helpOptions(helps.get('hook stop')!).has(option))).toBe(true);
  });

  it.each(COMMAND_LINE_PAGES)('every deepplan command line in %s uses options its command has', (path) => {
    const groups = new Set([...helps.keys()].filter((key) => key !== '' && isGroup(helps, key)));
    const lines = commandLines(path, read(path), groups);
    if (path === 'README.md') expect(lines.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const line of lines) {
      const help = helps.get(line.command);
      if (help === undefined) {
        problems.push(`${line.source}: no command "${line.command}"`);
        continue;
      }
      const known = helpOptions(help);
      for (const option of line.options) if (!known.has(option)) problems.push(`${line.source}: deepplan ${line.command} has no ${option}`);
    }
    expect(problems).toEqual([]);
  });

  it("the README's Quick start is the three commands .ci/run runs", () => {
    const quickStart = read('README.md').split(/^## Quick start$/m)[1]!;
    const first = splitFences(quickStart).fences[0]!;
    expect(first.body.trim().split('\n')).toEqual(['npm ci', 'npm run demo', 'npm test']);
    const ci = read('.ci/run');
    for (const command of ['npm ci', 'npm run demo', 'npm test']) expect(ci).toContain(command);
  });
});
