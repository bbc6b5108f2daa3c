#!/usr/bin/env node
// `npm run bench:start`: how long deepplan takes to start, timed as whole processes, side by side in the same run with
// `node -e 0` (the floor: Node starting and doing nothing) and markdownlint-cli2 on the same plan (a peer CI runs
// the same way).
//
// Acceptance (the issue, docs/performance.md): `deepplan lint <plan>` at most 0.3 × markdownlint-cli2's time; `lint`
// and `status` at most 3 × `node -e 0`; started with a Node older than 22 (the machine's own, when it has one), the
// hand-over to the project's Node costs less than the command itself (relaunched / direct < 2). The script prints
// PASS or FAIL per target and exits 1 when one is missed.
//
// `deepplan` is the bin as npm links it, dist/cli/deepplan: `lint` and `status` start from the start-up snapshot
// (dist/snapshot/, built by `npm run build`). The rows `node dist/cli/main.js ...` time the same commands started
// the usual way (every other command starts so); the hand-over from an old Node is measured on that path.
//
// The commands run in turn, round after round (A B C ... A B C ...), so a change in the machine's load reaches them
// all alike; each figure is the median of its runs. Wall time is what a user waits for; CPU time (user + system, from
// /proc/self/stat on Linux, in clock ticks of 10 ms, so given as a mean) varies less on a busy machine. Node's
// compile cache is on as deepplan turns it on; a separate row shows a start without it (the first after an install).
//
// The same targets are then judged on realistic plans (bench-workloads.mjs): the five workloads of the offline
// planner's tests, each planned offline into a plan of 19 to 25 phases in a repository with its skills, records and
// source documents, none of which the snapshot's warm-up saw. lint, status and markdownlint-cli2 run on each in its
// repository, in the same rounds as the rest.
//
// Options: --runs N (15) --warmup N (2) --plan FILE (plans/nightly-backup.md) --workloads N (5; 0 leaves them out)
// --dist DIR (dist: the build to time, e.g. one that `node scripts/build.mjs --out DIR` wrote, to compare two builds).
// Run it through `npm run bench:start`: that builds dist/ first and puts the project's Node 24 on the PATH.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { integerOption, loadAverage, median, table } from './bench-common.mjs';
import { workloadPlans } from './bench-workloads.mjs';

const PROJECT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MARKDOWNLINT = join(PROJECT, 'node_modules', 'markdownlint-cli2', 'markdownlint-cli2-bin.mjs');

const TARGETS = { peer: 0.3, floor: 3, relaunch: 2 };

const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '2' },
    plan: { type: 'string', default: 'plans/nightly-backup.md' },
    workloads: { type: 'string', default: '5' },
    dist: { type: 'string', default: 'dist' },
  },
});
const CLI = resolve(PROJECT, options.dist, 'cli', 'main.js');
/** The bin as npm links it: lint and status start from the start-up snapshot when the build made one. */
const LAUNCHER = resolve(PROJECT, options.dist, 'cli', 'deepplan');
const SNAPSHOT = resolve(PROJECT, options.dist, 'snapshot', 'read.blob');
const RUNS = integerOption('bench-start', '--runs', options.runs, 1);
const WARMUP = integerOption('bench-start', '--warmup', options.warmup, 0);
const WORKLOADS = integerOption('bench-start', '--workloads', options.workloads, 0);
const PLAN = resolve(PROJECT, options.plan);
if (!existsSync(PLAN)) {
  process.stderr.write(`bench-start: no such plan: ${options.plan}\n`);
  process.exit(2);
}
if (!existsSync(CLI)) {
  process.stderr.write(`bench-start: ${CLI} is missing: run it through \`npm run bench:start\` (it builds first)\n`);
  process.exit(2);
}

/**
 * CPU time (user + system, ms) of this process's children that have been waited for, from /proc/self/stat on Linux
 * (clock ticks of 10 ms); null elsewhere.
 */
function childrenCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return null;
  }
}

/** A Node older than 22 on PATH (or in the usual places), which deepplan hands over from; null when there is none. */
function oldNode() {
  let candidates = [];
  try {
    candidates = execFileSync('which', ['-a', 'node'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    // no `which`: try the usual places only
  }
  for (const path of [...candidates, '/usr/local/bin/node', '/usr/bin/node']) {
    try {
      const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
      if (Number(/^v(\d+)/.exec(version)?.[1] ?? 99) < 22) return { path, version };
    } catch {
      // not there
    }
  }
  return null;
}

const node = process.execPath;
const plan = PLAN;
const old = oldNode();
/** Everything deepplan and Node read from the environment that would change what is timed. */
const env = { ...process.env, NO_COLOR: '1' };
for (const name of ['DEEPPLAN_REEXEC', 'NODE_OPTIONS', 'NODE_COMPILE_CACHE', 'NODE_DISABLE_COMPILE_CACHE']) delete env[name];

const commands = [
  { key: 'floor', name: '`node -e 0`', file: node, args: ['-e', '0'] },
  { key: 'peer', name: 'markdownlint-cli2 <plan>', file: node, args: [MARKDOWNLINT, plan] },
  { key: 'lint', name: '`deepplan lint <plan>`', file: LAUNCHER, args: ['lint', plan] },
  { key: 'status', name: '`deepplan status <plan>`', file: LAUNCHER, args: ['status', plan] },
  { key: 'version', name: '`deepplan --version`', file: LAUNCHER, args: ['--version'] },
  { key: 'usual', name: '`node dist/cli/main.js lint <plan>` (no snapshot)', file: node, args: [CLI, 'lint', plan] },
  { key: 'usualStatus', name: '`node dist/cli/main.js status <plan>`', file: node, args: [CLI, 'status', plan] },
  {
    key: 'cold',
    name: '`node dist/cli/main.js lint <plan>`, no compile cache',
    file: node,
    args: [CLI, 'lint', plan],
    env: { NODE_DISABLE_COMPILE_CACHE: '1' },
  },
  ...(old
    ? [
        { key: 'oldFloor', name: `\`node -e 0\` on ${old.version}`, file: old.path, args: ['-e', '0'] },
        { key: 'relaunch', name: `\`deepplan lint <plan>\` started on ${old.version}`, file: old.path, args: [CLI, 'lint', plan] },
      ]
    : []),
];
if (!existsSync(SNAPSHOT)) process.stderr.write(`bench-start: ${SNAPSHOT} is missing: lint and status are timed without the snapshot\n`);

// The realistic plans, each in its repository (the commands run there).
const workDir = mkdtempSync(join(tmpdir(), 'deepplan-bench-start-'));
process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));
const workloads = WORKLOADS === 0 ? [] : (await workloadPlans(workDir, CLI)).slice(0, WORKLOADS);
for (const [index, workload] of workloads.entries()) {
  const at = { cwd: workload.root };
  workload.keys = { peer: `peer${index}`, lint: `lint${index}`, status: `status${index}` };
  commands.push(
    { key: workload.keys.peer, name: `markdownlint-cli2, ${workload.name}`, file: node, args: [MARKDOWNLINT, workload.plan], ...at },
    { key: workload.keys.lint, name: `\`deepplan lint\`, ${workload.name}`, file: LAUNCHER, args: ['lint', workload.plan], ...at },
    { key: workload.keys.status, name: `\`deepplan status\`, ${workload.name}`, file: LAUNCHER, args: ['status', workload.plan], ...at },
  );
}

function run(command) {
  const cpuBefore = childrenCpuMs();
  const started = performance.now();
  const result = spawnSync(command.file, command.args, { cwd: command.cwd ?? PROJECT, stdio: 'ignore', env: { ...env, ...command.env } });
  const ms = performance.now() - started;
  const cpuAfter = childrenCpuMs();
  if (result.error) throw result.error;
  return { ms, cpu: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore, status: result.status };
}

// Each deepplan command must do what is timed: a check run first, with its output kept.
for (const command of commands.filter((entry) => entry.args[0] === CLI || entry.file === LAUNCHER)) {
  const check = spawnSync(command.file, command.args, { cwd: command.cwd ?? PROJECT, encoding: 'utf8', env: { ...env, ...command.env } });
  // A realistic plan may carry warnings (exit 0) but no error.
  if (check.status !== 0) {
    process.stderr.write(`bench-start: ${command.name} exited ${check.status}:\n${check.stdout}${check.stderr}`);
    process.exit(1);
  }
}

const loadBefore = loadAverage();
const samples = new Map(commands.map((command) => [command.key, { ms: [], cpu: [] }]));
for (let round = 0; round < WARMUP + RUNS; round++) {
  for (const command of commands) {
    const { ms, cpu } = run(command);
    if (round < WARMUP) continue;
    samples.get(command.key).ms.push(ms);
    if (cpu !== null) samples.get(command.key).cpu.push(cpu);
  }
}
const loadAfter = loadAverage();

const wall = (key) => median(samples.get(key).ms);
const cpu = (key) => {
  const values = samples.get(key).cpu;
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : null;
};
const ms = (value) => (value === null ? 'n/a' : `${Math.round(value)} ms`);
const times = (value) => `${value.toFixed(2)} ×`;

process.stdout.write(`bench:start — ${RUNS} runs of each after ${WARMUP} warm-up, in turn; plan ${options.plan}\n`);
process.stdout.write(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; load average before ${loadBefore}, after ${loadAfter}\n\n`,
);
const ratio = (value, base) => (value === null || base === null ? 'n/a' : times(value / base));
process.stdout.write(
  `${table([
    ['command', 'wall, median', 'CPU, mean', '÷ node -e 0 (wall, CPU)', '÷ markdownlint-cli2 (wall, CPU)'],
    ...commands.map(({ key, name }) => [
      name,
      ms(wall(key)),
      ms(cpu(key)),
      `${ratio(wall(key), wall('floor'))}, ${ratio(cpu(key), cpu('floor'))}`,
      `${ratio(wall(key), wall('peer'))}, ${ratio(cpu(key), cpu('peer'))}`,
    ]),
  ])}\n\n`,
);

// Judged on wall time, what the issue measures; the CPU ratio is printed beside it (it moves less with the load).
let failed = false;
function target(label, [key, base], limit) {
  const value = wall(key) / wall(base);
  const pass = value <= limit;
  if (!pass) failed = true;
  process.stdout.write(`${pass ? 'PASS' : 'FAIL'}  ${label}: ${times(value)} wall, ${ratio(cpu(key), cpu(base))} CPU (target ≤ ${limit} ×)\n`);
}
target('lint ÷ markdownlint-cli2', ['lint', 'peer'], TARGETS.peer);
target('lint ÷ node -e 0', ['lint', 'floor'], TARGETS.floor);
target('status ÷ node -e 0', ['status', 'floor'], TARGETS.floor);
for (const workload of workloads) {
  const about = `${workload.name} (${workload.phases} phases, ${(workload.bytes / 1024).toFixed(1)} kB)`;
  target(`lint ÷ markdownlint-cli2, ${about}`, [workload.keys.lint, workload.keys.peer], TARGETS.peer);
  target(`lint ÷ node -e 0, ${about}`, [workload.keys.lint, 'floor'], TARGETS.floor);
  target(`status ÷ node -e 0, ${about}`, [workload.keys.status, 'floor'], TARGETS.floor);
}
if (old) {
  // The hand-over costs one start of the old Node plus spawning the new one; the command's own start must dominate.
  target(`lint started on ${old.version} ÷ lint on ${process.version}`, ['relaunch', 'usual'], TARGETS.relaunch);
} else {
  process.stdout.write('(no Node older than 22 on PATH: the hand-over is not measured)\n');
}
process.stdout.write(failed ? '\nbench:start: a target is missed (see FAIL above)\n' : '\nbench:start: every target met\n');
process.exitCode = failed ? 1 : 0;
