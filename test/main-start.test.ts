import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cliEnvironment, makeRepo, PROJECT_ROOT, SMALL_PLAN, SMALL_PLAN_SKILLS } from './support/fixtures.js';

/**
 * How the CLI starts (scripts/build.mjs, src/cli/main.ts): the bin is a launcher with no static import; the program and
 * each command are bundles that share chunks; a read-only command loads only the chunks it needs. Which sources went
 * into which chunk is esbuild's metafile (dist/build-meta.json); which chunks a command loads is recorded at run time
 * (test/support/record-imports.mjs). Together they say which sources a command loaded.
 */

const META = join(PROJECT_ROOT, 'dist', 'build-meta.json');
const RECORDER = join(PROJECT_ROOT, 'test', 'support', 'record-imports.mjs');

interface Metafile {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

let meta: Metafile;
const roots: string[] = [];

beforeAll(() => {
  const program = join(PROJECT_ROOT, 'dist', 'cli', 'program.js');
  if (!existsSync(META) || !existsSync(program) || !readFileSync(program, 'utf8').includes('../chunks/')) {
    throw new Error('dist/ is not the bundled build: run `npm run build` first (`npm test` does; `tsc -p tsconfig.build.json` does not bundle)');
  }
  meta = JSON.parse(readFileSync(META, 'utf8')) as Metafile;
});

afterAll(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function repo(): string {
  const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': SMALL_PLAN });
  roots.push(root);
  return root;
}

/** Runs the CLI with every module it resolves recorded; returns its exit code, the URLs, and the sources bundled into them. */
function loaded(args: string[], cwd: string, input = ''): { code: number | null; urls: string[]; sources: string[]; stdout: string } {
  const out = join(cwd, 'imports.txt');
  const result = spawnSync(process.execPath, ['--import', RECORDER, CLI, ...args], {
    cwd,
    input,
    encoding: 'utf8',
    env: cliEnvironment({ DEEPPLAN_IMPORTS_OUT: out }),
  });
  const urls = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  const sources = urls
    .filter((url) => url.startsWith('file:'))
    .flatMap((url) => Object.keys(meta.outputs[relative(PROJECT_ROOT, fileURLToPath(url)).split('\\').join('/')]?.inputs ?? {}));
  return { code: result.status, urls, sources, stdout: result.stdout };
}

const UI_AND_MODELS = /\/node_modules\/(ink|react|react-reconciler|@anthropic-ai|openai|@google\/genai|@dbos-inc)\//;
/** Sources only the commands that plan, review, run or draw screens need, and the write machinery (lock, atomic write). */
const OTHER_COMMANDS =
  /^(src\/(ui|pipeline|review|execute|hook|models|runners)\/|node_modules\/(remark-stringify|remark-gfm|ink|react|diff|minisearch|proper-lockfile|write-file-atomic)\/)/;

describe('what a read-only command loads', () => {
  it('lint loads its own command and chunks: no Ink, React, model SDK, planner, reviewer, engine or Markdown writer', () => {
    const { code, urls, sources } = loaded(['lint', 'plans/p.md'], repo());
    expect(code).toBe(0);
    // The recorder and the metafile see the bundle: the lint command, and the parser and rules inside its chunks.
    expect(urls.some((url) => url.endsWith('/dist/cli/lint-command.js'))).toBe(true);
    expect(sources.some((source) => source.startsWith('node_modules/micromark/'))).toBe(true);
    expect(sources.some((source) => source.startsWith('src/rules/'))).toBe(true);
    expect(urls.filter((url) => UI_AND_MODELS.test(url))).toEqual([]);
    expect(urls.filter((url) => /\/dist\/cli\/(?!main|program|lint-command)[^/]+\.js$/.test(url))).toEqual([]);
    expect([...new Set(sources.filter((source) => OTHER_COMMANDS.test(source)))]).toEqual([]);
    // Packages are bundled: none is resolved from node_modules one file at a time.
    expect(urls.filter((url) => url.includes('/node_modules/'))).toEqual([]);
  });

  it('status loads no rules, Ink, React, model SDK, planner, reviewer, engine or Markdown writer', () => {
    const { code, urls, sources } = loaded(['status', 'plans/p.md'], repo());
    expect(code).toBe(0);
    expect(urls.some((url) => url.endsWith('/dist/cli/status-command.js'))).toBe(true);
    expect(urls.filter((url) => UI_AND_MODELS.test(url))).toEqual([]);
    expect([...new Set(sources.filter((source) => OTHER_COMMANDS.test(source) || source.startsWith('src/rules/')))]).toEqual([]);
  });

  it('graph loads no Ink, React, model SDK, planner, reviewer, engine or write machinery', () => {
    const { code, urls, sources } = loaded(['graph', 'plans/p.md'], repo());
    expect(code).toBe(0);
    expect(urls.some((url) => url.endsWith('/dist/cli/graph-command.js'))).toBe(true);
    expect(urls.filter((url) => UI_AND_MODELS.test(url))).toEqual([]);
    expect([...new Set(sources.filter((source) => OTHER_COMMANDS.test(source)))]).toEqual([]);
  });

  it('the Claude Code hook with no loop running loads no Ink, React, model SDK, engine or write machinery', () => {
    const root = repo();
    const stop = JSON.stringify({ session_id: 'session-1', cwd: root, hook_event_name: 'Stop', transcript_path: join(root, 'transcript.jsonl') });
    const { code, urls, sources, stdout } = loaded(['hook', 'stop'], root, stop);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(urls.some((url) => url.endsWith('/dist/cli/hook-stop-command.js'))).toBe(true);
    expect(urls.filter((url) => UI_AND_MODELS.test(url))).toEqual([]);
    const heavy = /^(src\/(ui|pipeline|review|execute|models|runners)\/|node_modules\/(ink|react|proper-lockfile|write-file-atomic)\/)/;
    expect([...new Set(sources.filter((source) => heavy.test(source)))]).toEqual([]);
  });

  it('--version loads the program only', () => {
    const { code, urls } = loaded(['--version'], repo());
    expect(code).toBe(0);
    const files = urls.filter((url) => url.startsWith('file:') && !url.endsWith('/record-imports.mjs'));
    expect(files.filter((url) => /\/dist\/cli\/[^/]+\.js$/.test(url)).map((url) => url.replace(/.*\/dist\//, ''))).toEqual(['cli/main.js', 'cli/program.js']);
    expect(files.filter((url) => /\/dist\/cli\/[a-z-]+-command\.js$/.test(url))).toEqual([]);
  });
});

/** A node on PATH (or in the usual places) older than 22, the machine's own, if there is one. */
function oldNode(): string | null {
  const candidates = spawnSync('which', ['-a', 'node'], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
  for (const path of [...candidates, '/usr/local/bin/node', '/usr/bin/node']) {
    try {
      if (Number(/^v(\d+)/.exec(execFileSync(path, ['--version'], { encoding: 'utf8' }))?.[1] ?? 99) < 22) return path;
    } catch {
      // not there
    }
  }
  return null;
}

const OLD_NODE = oldNode();

describe('the launcher', () => {
  // The launcher copied into a package folder of its own, away from this repository's node_modules/node.
  function launcherCopy(): { root: string; launcher: string } {
    const root = mkdtempSync(join(tmpdir(), 'deepplan-launcher-'));
    roots.push(root);
    const launcher = join(root, 'deepplan', 'dist', 'cli', 'main.js');
    mkdirSync(dirname(launcher), { recursive: true });
    copyFileSync(CLI, launcher);
    return { root, launcher };
  }

  it.skipIf(!OLD_NODE)('on an old Node with no node package around it, says which Node it needs in one line (exit 2)', () => {
    const { launcher } = launcherCopy();
    const result = spawnSync(OLD_NODE!, [launcher, '--version'], { encoding: 'utf8', env: cliEnvironment() });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^deepplan: needs Node 22 or newer \(this is v\d+\.[^)]*\); install a current Node, or add one/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.skipIf(!OLD_NODE)("on an old Node, hands the command to the node package of the folder above (a project's node_modules)", () => {
    const { root, launcher } = launcherCopy();
    // A stand-in for node_modules/node/bin/node beside the installed package: it says what it was started with.
    const bundled = join(root, 'node_modules', 'node', 'bin', 'node');
    mkdirSync(dirname(bundled), { recursive: true });
    writeFileSync(bundled, '#!/bin/sh\necho "started: $* reexec=$DEEPPLAN_REEXEC"\nexit 3\n');
    chmodSync(bundled, 0o755);
    const result = spawnSync(OLD_NODE!, [launcher, 'lint', 'plans/p.md'], { encoding: 'utf8', env: cliEnvironment() });
    expect(result.stdout).toBe(`started: ${launcher} lint plans/p.md reexec=1\n`);
    expect(result.status).toBe(3);
  });

  it('imports nothing statically, so an old Node parses it and hands over before loading anything', () => {
    const text = readFileSync(CLI, 'utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(text.match(/^\s*import\s.*from\s/gm) ?? []).toEqual([]);
  });

  it("turns Node's compile cache on (NODE_COMPILE_CACHE moves it; NODE_DISABLE_COMPILE_CACHE turns it off)", () => {
    const cwd = repo();
    const on = mkdtempSync(join(tmpdir(), 'deepplan-cache-'));
    const off = mkdtempSync(join(tmpdir(), 'deepplan-cache-'));
    roots.push(on, off);
    const run = (env: Record<string, string>) => spawnSync(process.execPath, [CLI, 'lint', 'plans/p.md'], { cwd, encoding: 'utf8', env: cliEnvironment(env) });
    expect(run({ NODE_COMPILE_CACHE: on }).status).toBe(0);
    expect(run({ NODE_COMPILE_CACHE: off, NODE_DISABLE_COMPILE_CACHE: '1' }).status).toBe(0);
    const files = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
    // One cache entry per module compiled: the program, the command and its chunks.
    expect(files(on)).toBeGreaterThan(5);
    expect(files(off)).toBe(0);
  });
});
