import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bubblewrapAvailable } from '../src/execute/sandbox.js';
import { cliEnvironment, makeRepo, PROJECT_ROOT, skillSet } from './support/fixtures.js';

/**
 * The README's "Add deepplan to your repository", done as a user would on a fresh machine: pack deepplan (dist/ is
 * built by `npm test`), put the tarball into a scratch repository, install it with the machine's own npm and Node
 * (node_modules/.bin of this project off PATH), then lint, plan and run there with no API key.
 */

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeout = 90_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The machine as a user has it: no API keys, no npm_* settings of the npm that runs this test, no project bin folder. */
function userEnvironment(): NodeJS.ProcessEnv {
  const env = cliEnvironment();
  for (const name of Object.keys(env)) if (/^npm_/i.test(name) || name === 'INIT_CWD') delete env[name];
  env['PATH'] = (env['PATH'] ?? '')
    .split(delimiter)
    .filter((entry) => !entry.includes('node_modules'))
    .join(delimiter);
  return env;
}

const ENV = userEnvironment();
const SANDBOX = !process.env['DEEPPLAN_TEST_NO_SANDBOX'] && bubblewrapAvailable() ? [] : ['--no-sandbox'];
const VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** A deal-review research repository: a source file, three skills that fit (one a tool skill) and two that do not. */
function scratchRepository(): string {
  return makeRepo({
    'package.json': `${JSON.stringify({ name: 'deal-desk', version: '1.0.0', private: true }, null, 2)}\n`,
    'src/intake.ts': 'export function intake(row: { name: string; email: string }) {\n  return { name: row.name.trim(), email: row.email.toLowerCase() };\n}\n',
    ...skillSet([
      ['compare-sources', 'Compares the notes of several sources and lists where they agree and differ.'],
      ['findings-report', 'Writes a findings report that answers the question first and cites its sources.'],
      ['newsletter-builder', 'Builds a newsletter issue from a content calendar.'],
      ['hubspot-sync', 'Deprecated, syncs contacts from HubSpot.'],
    ]),
    '.claude/skills/source-notes/SKILL.md':
      '---\nname: source-notes\ndescription: Reads a source file and writes notes on what it does, with line references.\nmetadata:\n  run: node scripts/source-notes.mjs\n---\n\n# source-notes\n\nA tool skill: writes notes/src-intake.md from src/intake.ts.\n',
    'scripts/source-notes.mjs':
      "import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';\nconst lines = readFileSync('src/intake.ts', 'utf8').split('\\n');\nmkdirSync('notes', { recursive: true });\nwriteFileSync('notes/src-intake.md', lines.map((line, index) => `- line ${index + 1}: ${line}`).join('\\n'));\n",
  });
}

describe('installing deepplan into a repository (README: Add deepplan to your repository)', () => {
  let repo = '';
  let packed = '';
  let install: Result;
  const deepplan = (args: string[]) => run('npx', ['deepplan', ...args], repo, ENV);

  beforeAll(async () => {
    if (!existsSync(join(PROJECT_ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run npm run build first');
    packed = mkdtempSync(join(tmpdir(), 'deepplan-pack-'));
    const pack = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', packed], PROJECT_ROOT, ENV);
    expect(pack.stderr + pack.stdout).toContain(`deepplan-${VERSION}.tgz`);
    repo = scratchRepository();
    mkdirSync(join(repo, 'vendor'));
    copyFileSync(join(packed, `deepplan-${VERSION}.tgz`), join(repo, 'vendor', `deepplan-${VERSION}.tgz`));
    // --prefer-offline: npm's cache (filled by this project's npm ci) serves what it holds.
    install = await run(
      'npm',
      ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', `./vendor/deepplan-${VERSION}.tgz`, 'node@24'],
      repo,
      ENV,
      150_000,
    );
  }, 180_000);

  // The scratch repository holds a Node binary (about 120 MB): leave nothing behind.
  afterAll(() => {
    for (const folder of [repo, packed]) if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('installs from the packed tarball and records it in package.json', () => {
    expect(install.stderr.split('\n').filter((line) => /ERR!/.test(line))).toEqual([]);
    expect(install.code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies['deepplan']).toBe(`file:vendor/deepplan-${VERSION}.tgz`);
    expect(pkg.devDependencies['node']).toMatch(/^\^24\./);
    expect(readdirSync(join(repo, 'node_modules', 'deepplan', 'dist', 'cli'))).toContain('main.js');
  });

  it("starts on the machine's own Node too: an old one hands over to the node package beside deepplan", async () => {
    // node_modules/.bin/deepplan run directly, with whatever Node the machine has on PATH.
    const result = await run(join(repo, 'node_modules', '.bin', 'deepplan'), ['--version'], repo, ENV);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(VERSION);
  });

  it('builds a start-up snapshot at install (postinstall) and starts lint from it, with no Node on PATH', async () => {
    const snapshot = join(repo, 'node_modules', 'deepplan', 'dist', 'snapshot');
    expect(readdirSync(snapshot)).toEqual(expect.arrayContaining(['node', 'read.blob', 'read.node']));
    const noNode = { ...ENV, PATH: '/nonexistent' };
    // No PATH: no readlink either, and the launcher, started by its own path, finds itself from that path.
    const lint = await run(join(repo, 'node_modules', 'deepplan', 'dist', 'cli', 'deepplan'), ['lint', '--help'], repo, noNode);
    expect(lint.stderr).toBe('');
    expect(lint.stdout).toMatch(/^Usage: deepplan lint/m);
  });

  it('sets the repository up, lints, plans and runs with no API key', async () => {
    const init = await deepplan(['init']);
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/^written\s+deepplan\.config\.yaml$/m);

    const lint = await deepplan(['lint']);
    expect(lint.stdout).toMatch(/plans\/example\.md: no issues found/);
    expect(lint.code).toBe(0);

    const request = 'Research for the deal review: what does src/intake.ts do? Success is one findings page. Read-only. Priya, the account lead, approves.';
    const plan = await deepplan(['plan', '--yes', '--request', request, '--out', 'plans/intake.md']);
    expect(plan.stderr).toMatch(/generation\s+\d+ phases from the research template/);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^plans\/intake\.md: \d+ phases, lints with 0 errors/m);
    // The offline engine makes no model call, and says so.
    expect(plan.stderr.trim().split('\n').at(-1)).toBe("model cost: $0.0000 (no calls to a provider's model)");

    const relint = await deepplan(['lint', '--format', 'json']);
    expect(relint.code).toBe(0);
    expect((JSON.parse(relint.stdout) as { summary: { errors: number } }).summary.errors).toBe(0);

    expect((await deepplan(['approve', 'plans/intake.md'])).code).toBe(0);
    // P1 is a model step and the executor is offline: the run stops for a person (exit 3).
    const first = await deepplan(['run', 'plans/intake.md', '--once', ...SANDBOX]);
    expect(first.stdout.trim().split('\n').at(-1)).toBe('BLOCKED_NEED_HUMAN');
    expect(first.code).toBe(3);

    // The person does P1 by hand and accepts it; the next iteration runs the tool skill in the sandbox.
    mkdirSync(join(repo, 'notes'), { recursive: true });
    writeFileSync(join(repo, 'notes', 'question.md'), 'What does src/intake.ts do with a deal form? Priya reads the answer before the deal review.\n');
    expect((await deepplan(['approve', 'plans/intake.md', 'P1', '--note', 'Priya: written by hand'])).code).toBe(0);
    const second = await deepplan(['run', 'plans/intake.md', '--once', ...SANDBOX]);
    expect(second.stderr).toMatch(/P2\.1 \/source-notes/);
    expect(second.stdout.trim().split('\n').at(-1)).toBe('CONTINUE');
    expect(second.code).toBe(0);
    expect(readFileSync(join(repo, 'notes', 'src-intake.md'), 'utf8')).toContain('- line 2:   return { name: row.name.trim()');
  }, 120_000);
});
