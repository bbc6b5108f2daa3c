/**
 * The start-up snapshot (src/cli/snapshot.ts, scripts/snapshot.mjs, the launcher src/cli/deepplan.sh): `lint` and
 * `status` started from it must say exactly what the program says when started the usual way (dist/cli/main.js), on
 * plans of four workloads with one defect each, in every format, with the environment and folder of the run (not of
 * the build), and the launcher must fall back to the usual start whenever the snapshot cannot serve.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASES } from './corpus/bases.js';
import { DEFECTS } from './corpus/defects.js';
import { CLI, makeRepo, PROJECT_ROOT } from './support/fixtures.js';
import { closeTerminals, hasTmux, openTerminal } from './support/tmux.js';

const LAUNCHER = join(PROJECT_ROOT, 'dist', 'cli', 'deepplan');
const SNAPSHOT = join(PROJECT_ROOT, 'dist', 'snapshot');
const folders: string[] = [];
afterAll(() => {
  closeTerminals();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A PATH with no Node on it: the launcher can then only start a command from the snapshot (it brings its own Node). */
let noNode: string;

function run(file: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Ran {
  const result = spawnSync(file, args, { cwd: options.cwd, encoding: 'utf8', env: { HOME: options.cwd, PATH: process.env['PATH'] ?? '', ...options.env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The same command started from the snapshot (with no Node on PATH) and the usual way; both results. */
function both(args: string[], options: { cwd: string; env?: Record<string, string> }): { snapshot: Ran; usual: Ran } {
  return {
    snapshot: run(LAUNCHER, args, { cwd: options.cwd, env: { ...options.env, PATH: noNode } }),
    usual: run(process.execPath, [CLI, ...args], options),
  };
}

/** One repository per workload: its files and, under plans/, the base plan and each of its single-defect plans. */
function workloadRepos(): Array<{ name: string; root: string; plans: string[] }> {
  return BASES.map((base) => {
    const plans: Record<string, string> = { [`plans/${base.name}.md`]: base.plan };
    for (const defect of DEFECTS.filter((candidate) => candidate.base === base.name)) {
      let text = base.plan;
      for (const [from, to] of defect.edits) text = text.replace(from, to);
      plans[`plans/${defect.id}.md`] = text;
    }
    const root = makeRepo({ ...base.files, ...plans });
    folders.push(root);
    return { name: base.name, root, plans: Object.keys(plans) };
  });
}

let repos: Array<{ name: string; root: string; plans: string[] }>;

/** A copy of a workload's repository to add plans to, and the text of its base plan. */
function copyOfRepository(repo: { root: string; plans: string[] }): { root: string; text: string } {
  const root = makeRepo();
  folders.push(root);
  cpSync(repo.root, root, { recursive: true });
  return { root, text: readFileSync(join(root, repo.plans[0]!), 'utf8') };
}

beforeAll(() => {
  if (!existsSync(join(SNAPSHOT, 'read.blob'))) throw new Error('dist/snapshot/read.blob is missing: npm run build makes it (see its output)');
  noNode = mkdtempSync(join(tmpdir(), 'deepplan-no-node-'));
  folders.push(noNode);
  // The launcher needs readlink to find itself; nothing else of PATH.
  const readlink = spawnSync('sh', ['-c', 'command -v readlink'], { encoding: 'utf8' }).stdout.trim();
  symlinkSync(readlink, join(noNode, 'readlink'));
  repos = workloadRepos();
});

describe('lint and status started from the snapshot', () => {
  it("keeps no large buffer and no code cache of Node's modules: the blob stays near Node's heap plus the program", () => {
    // Node 24's own heap is ~2.2 MB of the blob and the program's adds ~3.4 MB; the code cache of Node's modules
    // (~3.7 MB, scripts/snapshot.mjs drops it) made every start ~5 % slower. A 5 MB read buffer that the warm-up left
    // in a module once made the blob 15.5 MB and every start of lint and status 12 ms slower. The tables of
    // linkify-it, fastest-levenshtein and entities (1.1 MB in all, LAZY_PACKAGES in scripts/build.mjs) are loaded on
    // first use, not restored: with them the blob was 6.7 MB and a start 3 % slower.
    expect(statSync(join(SNAPSHOT, 'read.blob')).size).toBeLessThan(6.25 * 1024 * 1024);
  });

  it('restores its code as one byte a character: the bundle is ASCII', () => {
    // One character above 0xFF (a dash in a regular expression) makes V8 keep the whole 0.75 MB source as two bytes a
    // character, 0.75 MB more for every start to read and restore.
    const code = readFileSync(join(SNAPSHOT, 'read.cjs'), 'utf8');
    const wide = /[^\x00-\x7f]/.exec(code);
    expect(wide === null ? null : code.slice(Math.max(0, wide.index - 40), wide.index + 10)).toBeNull();
  });

  it('start without a Node on PATH (the snapshot brings its own), where the usual start cannot', () => {
    const root = repos[0]!.root;
    const started = run(LAUNCHER, ['status', repos[0]!.plans[0]!], { cwd: root, env: { PATH: noNode } });
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const usual = run(LAUNCHER, ['audit', repos[0]!.plans[0]!], { cwd: root, env: { PATH: noNode } });
    expect(usual.code).not.toBe(0);
    expect(usual.stderr).toMatch(/node: not found/);
  });

  it("start one plan on V8's interpreter alone and with the build's hash seed, many plans with every compiler and a new seed (the launcher's flags)", () => {
    const { root, plans } = repos[0]!;
    /** The exec of the snapshot's Node, its arguments and environment, from strace's record. */
    const exec = (args: string[], env: Record<string, string> = {}) => {
      const trace = join(mkdtempSync(join(tmpdir(), 'deepplan-exec-')), 'trace');
      folders.push(trace.slice(0, -'/trace'.length));
      spawnSync('strace', ['-f', '-v', '-s', '256', '-e', 'trace=execve', '-o', trace, LAUNCHER, ...args], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
      const line = readFileSync(trace, 'utf8')
        .split('\n')
        .find((entry) => entry.includes('snapshot/node'));
      expect(line, `no exec of the snapshot's node for ${args.join(' ')}`).toBeDefined();
      return line!;
    };
    /** Whether both one-plan flags were given; one without the other fails. */
    const onePlan = (args: string[]) => {
      const line = exec(args);
      expect(line.includes('--max-opt=0'), line).toBe(line.includes('--no-rehash-snapshot'));
      return line.includes('--max-opt=0');
    };
    expect(onePlan(['lint', plans[0]!])).toBe(true);
    expect(onePlan(['status', plans[0]!])).toBe(true);
    // Many plans may start worker threads, from Node's own snapshot: their hash seed must be drawn anew.
    expect(onePlan(['lint', plans[0]!, plans[1]!])).toBe(false);
    expect(onePlan(['lint', 'plans'])).toBe(false);
    expect(onePlan(['lint', plans[0]!, '--format', 'json'])).toBe(false);
    // The C library's huge pages are asked for, and a tunable the user set is kept beside it.
    expect(exec(['status', plans[0]!], { GLIBC_TUNABLES: 'glibc.malloc.check=0' })).toContain('"GLIBC_TUNABLES=glibc.malloc.check=0:glibc.malloc.hugetlb=1"');
    expect(exec(['status', plans[0]!], { GLIBC_TUNABLES: '' })).toMatch(/"GLIBC_TUNABLES=glibc\.malloc\.hugetlb=1"/);
  });

  it('report what the usual start reports on four workloads of single-defect plans, in every format', () => {
    let findings = 0;
    for (const [index, repo] of repos.entries()) {
      // Every format once; text and JSON (the counted one) on every workload.
      for (const format of ['text', 'json', ...(index === 0 ? ['github', 'sarif'] : [])]) {
        const { snapshot, usual } = both(['lint', 'plans', '--format', format], { cwd: repo.root });
        expect(snapshot, `${repo.name} --format ${format}`).toEqual(usual);
        expect(usual.code).toBe(1);
        if (format === 'json') findings += (JSON.parse(usual.stdout) as { summary: { errors: number } }).summary.errors;
      }
      if (index > 0) continue;
      // No argument: the plans of the repository the command runs in (the build linted other ones).
      const { snapshot, usual } = both(['lint', '--quiet'], { cwd: repo.root });
      expect(snapshot).toEqual(usual);
    }
    expect(findings).toBeGreaterThanOrEqual(DEFECTS.length);
  }, 180_000);

  it('decode character references as the usual start does (their table is loaded on first use, not restored)', () => {
    const repo = repos[0]!;
    const plan = join(repo.root, repo.plans[0]!);
    const text = readFileSync(plan, 'utf8');
    // A named, a decimal and a hexadecimal reference in the first phase's title, and a name no entity has.
    writeFileSync(join(repo.root, 'plans', 'entities.md'), text.replace('### P1. ', '### P1. &amp; &copy; &#169; &#xA9; &notanentity; '));
    for (const args of [
      ['lint', 'plans/entities.md', '--format', 'json'],
      ['status', 'plans/entities.md', '--json'],
    ]) {
      const { snapshot, usual } = both(args, { cwd: repo.root });
      expect(snapshot, args.join(' ')).toEqual(usual);
    }
    const status = JSON.parse(run(LAUNCHER, ['status', 'plans/entities.md', '--json'], { cwd: repo.root }).stdout) as {
      phases: { list: Array<{ title: string }> };
    };
    expect(status.phases.list[0]!.title).toMatch(/^& \u00a9 \u00a9 \u00a9 &notanentity; /);
    rmSync(join(repo.root, 'plans', 'entities.md'));
  });

  it('read each plan as status does, in text and JSON', () => {
    for (const repo of repos) {
      for (const plan of repo.plans.slice(0, 3)) {
        for (const extra of [[], ['--json']]) {
          const { snapshot, usual } = both(['status', plan, ...extra], { cwd: repo.root });
          expect(snapshot, `${repo.name} ${plan} ${extra.join(' ')}`).toEqual(usual);
          expect(usual.code).toBe(0);
        }
      }
    }
  }, 120_000);

  it('read the environment and the configuration of the run: colours, worker threads, a rule turned off', () => {
    const repo = repos[1]!;
    const four = repo.plans.slice(0, 4);
    const settings: Array<Record<string, string>> = [{ FORCE_COLOR: '1' }, { NO_COLOR: '1' }, { DEEPPLAN_LINT_WORKERS: '1' }];
    for (const env of settings) {
      const { snapshot, usual } = both(['lint', ...four], { cwd: repo.root, env });
      expect(snapshot, JSON.stringify(env)).toEqual(usual);
    }
    expect(both(['lint', ...four], { cwd: repo.root, env: { FORCE_COLOR: '1' } }).snapshot.stdout).toContain('\u001b[');
    const config = join(repo.root, 'deepplan.config.yaml');
    const before = both(['lint', ...four, '--format', 'json'], { cwd: repo.root }).snapshot;
    const rule = (JSON.parse(before.stdout) as { files: Array<{ findings: Array<{ ruleId: string }> }> }).files.flatMap((file) => file.findings)[0]!.ruleId;
    writeFileSync(config, `rules:\n  ${rule}: off\n`);
    try {
      const { snapshot, usual } = both(['lint', ...four, '--format', 'json'], { cwd: repo.root });
      expect(snapshot).toEqual(usual);
      expect(snapshot.stdout).not.toContain(`"ruleId":"${rule}"`);
    } finally {
      rmSync(config);
    }
  }, 120_000);

  it('spread 80 plans and more over worker threads as the usual start does', () => {
    const { root, text } = copyOfRepository(repos[2]!);
    mkdirSync(join(root, 'plans', 'many'), { recursive: true });
    for (let index = 0; index < 90; index++) writeFileSync(join(root, 'plans', 'many', `copy-${index}.md`), text);
    const { snapshot, usual } = both(['lint', 'plans', '--format', 'json'], { cwd: root, env: { DEEPPLAN_LINT_WORKERS: '2' } });
    expect(snapshot).toEqual(usual);
    expect((JSON.parse(snapshot.stdout) as { files: unknown[] }).files.length).toBeGreaterThanOrEqual(91);
  }, 120_000);

  it('write all of a long report to a reader that starts late (the restored process ends itself once its output is written)', () => {
    const { root, text } = copyOfRepository(repos[2]!);
    // 600 placeholders, one finding each: a JSON report larger than a pipe's buffer (64 kB).
    const constraints = Array.from({ length: 600 }, (_, index) => `- Constraint ${index + 1}: send it to <insert contact name> TODO`).join('\n');
    writeFileSync(join(root, 'plans', 'long-report.md'), text.replace('## Constraints\n', `## Constraints\n\n${constraints}\n`));
    const usual = run(process.execPath, [CLI, 'lint', 'plans/long-report.md', '--format', 'json'], { cwd: root });
    expect(usual.stdout.length).toBeGreaterThan(96 * 1024);
    for (const args of [
      ['lint', 'plans/long-report.md', '--format', 'json'],
      ['lint', 'plans/long-report.md'],
    ]) {
      const expected = args.length === 2 ? run(process.execPath, [CLI, ...args], { cwd: root }).stdout : usual.stdout;
      const late = spawnSync('sh', ['-c', `"${LAUNCHER}" ${args.join(' ')} | { sleep 0.5; cat; }`], {
        cwd: root,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        env: { HOME: root, PATH: `${noNode}:/usr/bin:/bin` },
      });
      expect(late.stdout).toBe(expected);
    }
  }, 120_000);

  it('fail as the usual start fails: a missing plan, a bad option, a broken configuration; --help is the same', () => {
    const root = repos[3]!.root;
    const cases = [
      ['lint', 'plans/missing.md'],
      ['status', 'plans/missing.md'],
      ['lint', '--format', 'yaml', 'plans'],
      ['status'],
      ['lint', '--help'],
      ['status', '--help'],
    ];
    for (const args of cases) {
      const { snapshot, usual } = both(args, { cwd: root });
      expect(snapshot, args.join(' ')).toEqual(usual);
    }
    writeFileSync(join(root, 'deepplan.config.yaml'), 'rulez:\n  x: off\n');
    const { snapshot, usual } = both(['lint', 'plans'], { cwd: root });
    rmSync(join(root, 'deepplan.config.yaml'));
    expect(snapshot).toEqual(usual);
    expect(snapshot.code).toBe(2);
    expect(snapshot.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});

describe.skipIf(!hasTmux)('in a terminal', () => {
  it('status draws what the usual start draws (the terminal is read when the command runs, not when the snapshot was built)', async () => {
    const repo = repos[0]!;
    // A plan with a log, so that the burn-down chart is drawn.
    cpSync(join(PROJECT_ROOT, 'plans', 'nightly-backup.md'), join(repo.root, 'plans', 'with-log.md'));
    const screens: string[] = [];
    for (const start of [`'${LAUNCHER}'`, `'${process.execPath}' '${CLI}'`]) {
      const terminal = openTerminal(`cd '${repo.root}' && ${start} status plans/with-log.md; echo DONE; sleep 30`, 100, 40);
      screens.push(await terminal.waitFor('DONE'));
      terminal.close();
    }
    expect(screens[0]).toBe(screens[1]);
    // The burn-down chart's Unicode cells: drawn only on a terminal.
    expect(screens[0]).toMatch(/[▁▂▃▄▅▆▇█│]/);
  }, 60_000);
});

describe('the launcher falls back to the usual start', () => {
  const plan = () => repos[0]!.plans[0]!;

  it('when DEEPPLAN_NO_SNAPSHOT is set', () => {
    const ran = run(LAUNCHER, ['status', plan()], { cwd: repos[0]!.root, env: { PATH: noNode, DEEPPLAN_NO_SNAPSHOT: '1' } });
    expect(ran.stderr).toMatch(/node: not found/);
    const usual = run(LAUNCHER, ['status', plan()], { cwd: repos[0]!.root, env: { DEEPPLAN_NO_SNAPSHOT: '1' } });
    expect(usual.code).toBe(0);
    expect(usual.stdout).toBe(run(process.execPath, [CLI, 'status', plan()], { cwd: repos[0]!.root }).stdout);
  });

  it('when dist/ is not the folder the snapshot was built for (a copy or a move)', () => {
    const moved = mkdtempSync(join(tmpdir(), 'deepplan-moved-'));
    folders.push(moved);
    // Hard links: the copy costs no space, and the Node beside the snapshot is the same file.
    expect(spawnSync('cp', ['-al', join(PROJECT_ROOT, 'dist'), join(moved, 'dist')]).status).toBe(0);
    symlinkSync(join(PROJECT_ROOT, 'package.json'), join(moved, 'package.json'));
    const launcher = join(moved, 'dist', 'cli', 'deepplan');
    expect(run(launcher, ['status', plan()], { cwd: repos[0]!.root, env: { PATH: noNode } }).stderr).toMatch(/node: not found/);
    const usual = run(launcher, ['status', plan()], { cwd: repos[0]!.root });
    expect(usual).toEqual(run(process.execPath, [CLI, 'status', plan()], { cwd: repos[0]!.root }));
    expect(usual.code).toBe(0);
  });

  it('and runs every other command the usual way, from a symlink as npm installs it', () => {
    const bin = mkdtempSync(join(tmpdir(), 'deepplan-bin-'));
    folders.push(bin);
    symlinkSync(LAUNCHER, join(bin, 'deepplan'));
    const version = run(join(bin, 'deepplan'), ['--version'], { cwd: repos[0]!.root });
    expect(version).toEqual({
      code: 0,
      stdout: `${(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`,
      stderr: '',
    });
    const status = run(join(bin, 'deepplan'), ['status', plan()], { cwd: repos[0]!.root, env: { PATH: noNode } });
    expect(status.code).toBe(0);
  });
});
