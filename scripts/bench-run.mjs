#!/usr/bin/env node
// `npm run bench:run`: what one `deepplan run` iteration costs the engine as the plan's log grows, and how the
// executor model's prompt grows with it.
//
// Targets:
//   1. The engine's own time per iteration (IterationReport.engineMs: reading, parsing, deciding, the locked atomic
//      writes; the action's command is excluded) on a plan with a 1,000-row log is at most 1.1 times the time on
//      the same plan with an empty log, and at most 1.2 times with a 10,000-row log (medians over many warm
//      iterations, one scripted step each).
//   2. The executor's prompt (buildIterationPrompt) at iteration 500 of a model step is at most 1.2 times the prompt
//      at iteration 5 (the log window and the running learnings are bounded; one learning per 10 rows here).
//   3. A whole `deepplan run --once` process (node dist/cli/main.js, a scripted step) on a plan with a 10,000-row log
//      takes at most 1.2 times as long as on the same plan with 10 rows. `deepplan status` is timed the same way,
//      for the record (no target here; bench:start times start-up).
// PASS/FAIL is printed per target; the script exits 1 when one fails or a generated plan does not lint clean.
//
// The engine runs in-process with `sandbox: false` (--no-sandbox) and no models, in runs of 10 iterations as
// `deepplan run --loop` would do them, each run from a fresh copy of its plan (written before the clock starts): the
// current phase has 10 scripted steps (a tool skill or a `run:` step, then `run:` steps writing a file each). The
// iterations of the plans alternate, so that all of them see the same machine state. The machine is often shared:
// the engine's minimum and its CPU time are printed beside the medians, as they move less with the load.
//
// Options: --runs N (200 measured iterations per plan, in runs of 10) --warmup N (20) --rows N (1000)
// --large-rows N (10000: the second engine plan and the whole-process plans; 0 leaves them out)
// --process-runs N (10 whole processes per command and plan) --learnings-every N (0: the engine plans have no
// running learnings; N > 0 adds one per N rows to them too) --keep (leave the repository on disk, with the engine
// plans as each run starts from in plans/*.start.md, e.g. to profile `deepplan run` on them) --dist DIR (dist: the
// build to time, e.g. one that `node scripts/build.mjs --out DIR` wrote, to compare two builds one run after the other).
// Run it through `npm run bench:run`: that builds dist/ first and puts the project's Node 24 on the PATH.

import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fmt, integerOption, iso, loadAverage, median, quantile, START, table } from './bench-common.mjs';

const { default: writeFileAtomic } = await import('write-file-atomic');

const PROJECT = join(dirname(fileURLToPath(import.meta.url)), '..');

const ENGINE_RATIO_TARGET = 1.1;
const ENGINE_LARGE_RATIO_TARGET = 1.2;
const PROCESS_RATIO_TARGET = 1.2;
/** The log of the small plan the whole processes run on. */
const PROCESS_SMALL_ROWS = 10;
const PROMPT_RATIO_TARGET = 1.2;
const PROMPT_EARLY = 5;
const PROMPT_LATE = 500;
const PROMPT_LEARNING_EVERY = 10;
/** Engine iterations run one after the other from a fresh copy of a plan. */
const BATCH = 10;

const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
    rows: { type: 'string', default: '1000' },
    'large-rows': { type: 'string', default: '10000' },
    'process-runs': { type: 'string', default: '10' },
    'learnings-every': { type: 'string', default: '0' },
    keep: { type: 'boolean', default: false },
    dist: { type: 'string', default: 'dist' },
  },
});
/** The build timed: dist/, or one that `node scripts/build.mjs --out DIR` wrote (to compare two builds). */
const DIST = resolve(PROJECT, options.dist);
const CLI = join(DIST, 'cli', 'main.js');
const dist = (path) => import(pathToFileURL(join(DIST, path)).href);

const RUNS = integerOption('bench-run', '--runs', options.runs, 1);
const WARMUP = integerOption('bench-run', '--warmup', options.warmup, 0);
const ROWS = integerOption('bench-run', '--rows', options.rows, 1);
const LARGE_ROWS = integerOption('bench-run', '--large-rows', options['large-rows'], 0);
const PROCESS_RUNS = integerOption('bench-run', '--process-runs', options['process-runs'], 1);
const LEARNINGS_EVERY = integerOption('bench-run', '--learnings-every', options['learnings-every'], 0);

// ---------------------------------------------------------------------------------------------------------------
// The repository and the plan (after test/support/fixtures.ts SMALL_PLAN and test/support/scripted.ts)

/** `node scripts/put.mjs <file> <text...>`: writes the text (a line per argument) to the file. */
const PUT_SCRIPT = `import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
const [file, ...lines] = process.argv.slice(2);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, lines.join('\\n') + '\\n');
`;

const skillFile = (name, extra = '') => `---\nname: ${name}\ndescription: The ${name} skill, for the benchmark.\n${extra}---\n\n# ${name}\n`;

const FILES = {
  'scripts/put.mjs': PUT_SCRIPT,
  'notes/accounts.md': '# Accounts\n\n- Acme\n- Globex\n- Initech\n',
  'deepplan.config.yaml': 'rules: {}\n',
  '.claude/skills/fetch-notes/SKILL.md': skillFile('fetch-notes', 'metadata:\n  run: node scripts/put.mjs notes/week.md\n'),
  '.claude/skills/write-summary/SKILL.md': skillFile('write-summary', 'metadata:\n  run: node scripts/put.mjs out/summary.md\n'),
  // It writes a local file, and says so: the unattended benchmark plan needs no human gate before it.
  '.claude/skills/publish-page/SKILL.md': skillFile('publish-page', 'metadata:\n  run: node scripts/put.mjs out/page.html\n  irreversible: false\n'),
  '.claude/skills/hubspot-sync/SKILL.md': skillFile('hubspot-sync'),
  '.claude/skills/newsletter-builder/SKILL.md': skillFile('newsletter-builder'),
};

/**
 * Four phases of the same shape: a scripted first step (a tool skill in P1 to P3, a `run:` step in P4: the engine
 * benchmark's actions with an empty log and at 1,000 rows), then a model step (the prompt benchmark's step, in P1 at
 * iteration 5 and in P4 at iteration 500).
 */
const PHASES = [
  {
    id: 'P1',
    first: 'notes/week.md',
    title: 'Fetch the notes',
    fields: [
      'Inputs: notes/accounts.md',
      'Outputs: notes/week.md',
      'Context: direct',
      'Depends on: none',
      'Done when: the notes are fetched. verify: `test -s notes/week.md`',
    ],
    steps: ['/fetch-notes "- Acme renewed" "- Globex paused"', 'Read notes/week.md and add a line for each account of notes/accounts.md that it misses.'],
    model: { file: 'notes/week.md', check: 'node scripts/put.mjs notes/check.txt week' },
  },
  {
    id: 'P2',
    first: 'out/summary.md',
    title: 'Write the summary',
    fields: [
      'Inputs: notes/week.md',
      'Outputs: out/summary.md',
      'Context: direct',
      'Depends on: P1',
      'Done when: one line per account. verify: `test -s out/summary.md`',
    ],
    steps: ['/write-summary "- Acme: renewed" "- Globex: paused" "- Initech: new"', 'Tighten out/summary.md: one line per account, the newest news first.'],
    model: { file: 'out/summary.md', check: 'node scripts/put.mjs out/check.txt summary' },
  },
  {
    id: 'P3',
    first: 'out/page.html',
    title: 'Render the page',
    fields: [
      'Inputs: out/summary.md',
      'Outputs: out/page.html',
      'Context: direct',
      'Depends on: P2',
      'Done when: the page is rendered. verify: `test -s out/page.html`',
    ],
    steps: ['/publish-page "<h1>Summary</h1>"', 'Check out/page.html against out/summary.md and fix every account line that differs.'],
    model: { file: 'out/page.html', check: 'node scripts/put.mjs out/check.txt page' },
  },
  {
    id: 'P4',
    first: 'out/published.txt',
    title: 'Record the URL',
    fields: [
      'Inputs: out/page.html',
      'Outputs: out/published.txt, out/archive.txt',
      'Context: direct',
      'Depends on: P3',
      'Done when: the URL is recorded. verify: `test -s out/published.txt`',
    ],
    steps: [
      'run: `node scripts/put.mjs out/published.txt https://wiki.example/summary`',
      'Write out/archive.txt: one line saying what was published, where, and for which week.',
    ],
    model: { file: 'out/archive.txt', check: 'node scripts/put.mjs out/check.txt archive' },
  },
];

const timeOf = (n) => iso(START + n * 7 * 60_000 + (n % 5) * 1_000);

/** The Action a step's row gets (as stepAction writes it for scripted steps). */
function scriptedAction(phase, index, extraSteps) {
  const step = stepsOf(phase, extraSteps)[index - 1];
  const run = /^run: `(.*)`$/.exec(step);
  return `${phase.id}.${index} ${run ? `run ${run[1]}` : step}`;
}

/** A phase's fields; its Outputs name the files its extra `run:` steps write. */
function fieldsOf(phase, extraSteps) {
  if (extraSteps === 0) return phase.fields;
  return phase.fields.map((field) => (field.startsWith('Outputs: ') ? `${field}, out/steps/${phase.id.toLowerCase()}-*.txt` : field));
}

/** A phase's steps, with `extraSteps` more `run:` steps between its scripted first step and its model step. */
function stepsOf(phase, extraSteps) {
  const extra = Array.from({ length: extraSteps }, (_, k) => `run: \`node scripts/put.mjs out/steps/${phase.id.toLowerCase()}-${k + 2}.txt step ${k + 2}\``);
  return [phase.steps[0], ...extra, phase.steps[1]];
}

/**
 * Rows of one phase: its scripted steps done one a row, then iterations of its model step (reads, writes, now and
 * then a failed check, never five rows without progress, every failed action distinct), the last one finishing the
 * phase when `finish`.
 */
function phaseRows(phase, count, firstNumber, finish, extraSteps) {
  const rows = [];
  const model = `${phase.id}.${extraSteps + 2}`;
  for (let k = 0; k < count; k++) {
    const n = firstNumber + k;
    if (k <= extraSteps) {
      const file = k === 0 ? phase.first : `out/steps/${phase.id.toLowerCase()}-${k + 1}.txt`;
      rows.push([phase.id, scriptedAction(phase, k + 1, extraSteps), 'ok', `step done; 1 file changed (${file})`]);
      continue;
    }
    const last = finish && k === count - 1;
    if (last) {
      rows.push([
        phase.id,
        `${model} write_file ${phase.model.file}`,
        'ok',
        `step done; 1 file changed (${phase.model.file}): final pass of iteration ${n}; Done when passes`,
      ]);
    } else if (n % 23 === 0) {
      rows.push([
        phase.id,
        `${model} run_command ${phase.model.check} --iteration ${n}`,
        'failed',
        `exit 1: check ${n} found an account line that differs from notes/accounts.md`,
      ]);
    } else if (n % 4 === 0) {
      rows.push([
        phase.id,
        `${model} read_file ${phase.model.file}`,
        'no-change',
        `nothing changed: read ${phase.model.file} (${(n % 9) + 1}.${n % 10} kB) to find the next line to fix`,
      ]);
    } else {
      rows.push([
        phase.id,
        `${model} write_file ${phase.model.file}`,
        'ok',
        `1 file changed (${phase.model.file}): rewrote the line of account ${n % 17} after iteration ${n}`,
      ]);
    }
  }
  return rows;
}

/**
 * A plan whose log has `rows` rows, the phases before `current` done (their rows split evenly) and `currentRows` rows
 * in phase `current` (0: its first step is next). Every phase has `extraSteps` more `run:` steps after its first.
 * One running learning per `learningsEvery` rows (0: none).
 */
function makePlan({ rows, current, currentRows, learningsEvery, extraSteps = 0 }) {
  const currentIndex = PHASES.findIndex((phase) => phase.id === current);
  const before = PHASES.slice(0, currentIndex);
  const log = [];
  const spread = rows - currentRows;
  if (spread > 0 && before.length === 0) throw new Error('rows before the first phase');
  if (spread < 0 || (before.length > 0 && spread < (2 + extraSteps) * before.length)) throw new Error(`${rows} rows cannot finish ${before.length} phase(s)`);
  before.forEach((phase, i) => {
    const count = Math.floor(spread / before.length) + (i < spread % before.length ? 1 : 0);
    log.push(...phaseRows(phase, count, log.length + 1, true, extraSteps));
  });
  log.push(...phaseRows(PHASES[currentIndex], currentRows, log.length + 1, false, extraSteps));
  if (log.length !== rows) throw new Error(`generated ${log.length} rows, expected ${rows}`);
  const learnings = [];
  if (learningsEvery > 0) {
    for (let n = learningsEvery; n <= rows + learningsEvery - 1; n += learningsEvery) {
      const at = Math.min(n, rows);
      const phase = log[at - 1]?.[0] ?? current;
      learnings.push(
        `${phase}.${extraSteps + 2}: account ${at % 17} is listed under its parent company in notes/accounts.md; match it by parent, not by name (iteration ${at})`,
      );
    }
  }
  const next = Math.min(currentRows, extraSteps + 1);
  const nextStep = stepsOf(PHASES[currentIndex], extraSteps)[next];
  const status = rows > 0 ? 'executing' : 'approved';
  const phaseStatus = (i) => (i < currentIndex ? 'done' : i === currentIndex && rows > 0 ? 'active' : 'pending');
  const text = `---
deepplan: 1
id: bench-run
title: Weekly account summary
status: ${status}
created: 2026-11-20
workstream: content
deliverable: content
quality_bar: structural
owner: Ana, account lead
budget:
  max_iterations: ${Math.max(2000, rows + 1000)}
  basis: formula
scope:
  write: [notes/**, out/**]
  commands: [node scripts/]
state:
  phase: ${current}
  iteration: ${rows}
  revision: ${2 * rows}
  next_action: "${current}.${next + 1}: ${nextStep.replace(/"/g, '\\"')}"
  blockers: []
  updated: ${rows > 0 ? timeOf(rows) : iso(START)}
---

# Weekly account summary

## Request

Summarise this week's account notes into one page for the team, publish it on the wiki and record where it went.

## Success criteria

- [ ] SC1: The notes of this week are fetched. verify: \`test -s notes/week.md\`
- [ ] SC2: The summary has one line per account. verify: \`test -s out/summary.md\`
- [ ] SC3: The page is published and its URL recorded. verify: \`test -s out/published.txt\`

## Constraints

- Only this week's notes.

## Stakeholders

- Ana — account lead, reads the summary

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |
| fetch-notes | P1 | Notes live in the CRM |
| write-summary | P2 | House style for summaries |
| publish-page | P3 | The team reads the wiki |

### Excluded

| Skill | Reason |
| --- | --- |
| hubspot-sync | HubSpot is deprecated |
| newsletter-builder | Not a newsletter |

## Phases

${PHASES.map(
  (phase, i) => `### ${phase.id}. ${phase.title}
${fieldsOf(phase, extraSteps)
  .map((field) => `- ${field}`)
  .join('\n')}
- Status: ${phaseStatus(i)}

${stepsOf(phase, extraSteps)
  .map((step, s) => `${s + 1}. ${step}`)
  .join('\n')}
`,
).join('\n')}
## Running learnings
${learnings.length ? `\n${learnings.map((learning) => `- ${learning}`).join('\n')}\n` : ''}
## Iteration log

| # | When | Phase | Action | Result | Signal | Notes |
| --- | --- | --- | --- | --- | --- | --- |
${log.map(([phase, action, result, notes], i) => `| ${i + 1} | ${timeOf(i + 1)} | ${phase} | ${action} | ${result} | CONTINUE | ${notes} |\n`).join('')}`;
  return text;
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring

const out = (text = '') => process.stdout.write(`${text}\n`);

let failed = false;
const fail = (message) => {
  failed = true;
  out(`FAIL: ${message}`);
};

const { runIteration } = await dist('execute/iteration.js');
const { loadConfig } = await dist('config/config.js');
const { parsePlan } = await dist('plan/parse.js');
const { buildIterationPrompt } = await dist('execute/prompt.js');
const { MODEL_TOOLS } = await dist('execute/executors.js');
const { nextAction } = await dist('execute/next.js');
const { stepFailures } = await dist('execute/history.js');

/** A repository with the benchmark's files (and a `.git` folder, so that it is its own repository). */
function makeRepository(dir) {
  mkdirSync(join(dir, '.git'), { recursive: true });
  mkdirSync(join(dir, 'plans'));
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const root = makeRepository(mkdtempSync(join(tmpdir(), 'deepplan-bench-run-')));

/** Lints the plans with the CLI (its exit code and errors): a benchmark on plans that do not lint clean means nothing. */
function lintClean(files) {
  const result = spawnSync(process.execPath, [CLI, 'lint', ...files, '--format', 'json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  let report;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    fail(`deepplan lint --format json did not print JSON (exit ${result.status}):\n${result.stdout}${result.stderr}`);
    return;
  }
  for (const file of report.files) {
    const errors = file.findings.filter((finding) => finding.severity === 'error');
    if (errors.length > 0)
      fail(
        `${file.path} does not lint clean: ${errors
          .slice(0, 5)
          .map((finding) => `${finding.line} ${finding.ruleId} ${finding.message}`)
          .join('; ')}`,
      );
  }
  if (result.status !== 0 && !failed) fail(`deepplan lint exited ${result.status}`);
}

/**
 * Target 3: whole `deepplan run --once` and `deepplan status` processes on plans with PROCESS_SMALL_ROWS and
 * LARGE_ROWS rows (a `run:` step next, the same plan otherwise), alternating, each run on a fresh copy of its plan.
 */
async function wholeProcesses() {
  const plans = [PROCESS_SMALL_ROWS, LARGE_ROWS].map((rows) => ({
    rows,
    name: `${rows.toLocaleString('en')} rows`,
    file: `plans/process-${rows}.md`,
    text: makePlan({ rows, current: 'P4', currentRows: 0, learningsEvery: LEARNINGS_EVERY }),
    times: { run: [], status: [] },
  }));
  for (const plan of plans) writeFileSync(join(root, plan.file), plan.text);
  lintClean(plans.map((plan) => plan.file));
  const commands = {
    run: (plan) => ['run', plan.file, '--once', '--no-sandbox'],
    status: (plan) => ['status', plan.file],
  };
  const time = (plan, command, record) => {
    writeFileSync(join(root, plan.file), plan.text);
    rmSync(join(root, 'out'), { recursive: true, force: true });
    const started = performance.now();
    const result = spawnSync(process.execPath, [CLI, ...commands[command](plan)], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const ms = performance.now() - started;
    const shown = `deepplan ${commands[command](plan).join(' ')}`;
    if (result.status !== 0) throw new Error(`${shown} exited ${result.status}: ${(result.stderr || result.stdout).trim().split('\n')[0]}`);
    const grew = readFileSync(join(root, plan.file), 'utf8').length > plan.text.length;
    if (command === 'run' && !grew) throw new Error(`${shown} wrote no row to ${plan.file}`);
    if (record) plan.times[command].push(ms);
  };
  for (let i = -1; i < PROCESS_RUNS; i++) {
    for (const command of Object.keys(commands)) for (const plan of i % 2 === 0 ? plans : [...plans].reverse()) time(plan, command, i >= 0);
  }
  const [small, large] = plans;
  out(`3. whole processes (node dist/cli/main.js, spawned), ${PROCESS_RUNS} of each per plan, alternating, the plan fresh each time:`);
  out(
    table([
      ['command', `${small.name} median`, `${small.name} min`, `${large.name} median`, `${large.name} min`, 'ratio (median)', 'ratio (min)'],
      ...Object.keys(commands).map((command) => {
        const [a, b] = [small.times[command], large.times[command]];
        const ratios = [(median(b) / median(a)).toFixed(3), (Math.min(...b) / Math.min(...a)).toFixed(3)];
        return [
          `deepplan ${commands[command]({ file: '<plan>' }).join(' ')}`,
          fmt(median(a)),
          fmt(Math.min(...a)),
          fmt(median(b)),
          fmt(Math.min(...b)),
          ...ratios,
        ];
      }),
    ]),
  );
  const ratio = median(large.times.run) / median(small.times.run);
  const verdict = ratio <= PROCESS_RATIO_TARGET ? 'PASS' : 'FAIL';
  out(`ratio run --once at ${large.name} / ${small.name}: ${ratio.toFixed(3)} (median); target <= ${PROCESS_RATIO_TARGET}: ${verdict}`);
  if (ratio > PROCESS_RATIO_TARGET) fail(`deepplan run --once takes ${ratio.toFixed(2)} times as long at ${large.name} as at ${small.name}`);
  out();
}

try {
  out(
    `deepplan run benchmark: Node ${process.version}, ${availableParallelism()} core(s) available (${cpus()[0]?.model?.trim() ?? 'unknown CPU'}), ${process.platform}/${process.arch}`,
  );
  out(`load average at the start: ${loadAverage()}`);
  out(`repository: ${root}`);
  out();

  // ------------------------------------------------------------------------------------------------------------
  // 1. Engine time per iteration

  // Runs of BATCH iterations, one after the other as `deepplan run --loop` does them: each run starts on a fresh copy
  // of its plan and does the current phase's BATCH scripted steps (P1.1 to P1.10 on the empty log, P4.1 to P4.10 on
  // the long ones).
  const engine = [
    {
      name: 'empty log',
      rows: 0,
      text: makePlan({ rows: 0, current: 'P1', currentRows: 0, learningsEvery: LEARNINGS_EVERY, extraSteps: BATCH - 1 }),
      file: 'plans/empty.md',
    },
    ...[ROWS, LARGE_ROWS]
      .filter((rows, i) => rows > 0 && (i === 0 || rows !== ROWS))
      .map((rows) => ({
        name: `${rows.toLocaleString('en')}-row log`,
        rows,
        text: makePlan({ rows, current: 'P4', currentRows: 0, learningsEvery: LEARNINGS_EVERY, extraSteps: BATCH - 1 }),
        file: `plans/rows-${rows}.md`,
      })),
  ];
  // Each engine plan runs in a repository of its own: the steps of the long plans write the same files.
  for (const plan of engine) {
    plan.root = makeRepository(join(root, 'engine', String(plan.rows)));
    writeFileSync(join(plan.root, plan.file), plan.text);
  }
  lintClean(engine.map((plan) => join(plan.root, plan.file)));
  // With --keep, the plans as each run of BATCH iterations starts from, to profile: copy one over its plan, then in the
  // repository `node --cpu-prof <project>/dist/cli/main.js run plans/rows-1000.md --loop --max-iterations 10
  // --no-sandbox`.
  if (options.keep) for (const plan of engine) writeFileSync(join(plan.root, plan.file.replace(/\.md$/, '.start.md')), plan.text);

  for (const plan of engine) {
    plan.config = loadConfig(plan.root);
    plan.engine = [];
    plan.action = [];
    plan.wall = [];
    plan.cpu = [];
    plan.floor = [];
    plan.actions = new Set();
    plan.bytes = Buffer.byteLength(plan.text);
  }
  const iterate = async (plan, first, record) => {
    const path = join(plan.root, plan.file);
    if (first) {
      writeFileSync(path, plan.text);
      rmSync(join(plan.root, 'out'), { recursive: true, force: true });
      rmSync(join(plan.root, 'notes', 'week.md'), { force: true });
    }
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const report = await runIteration({ planPath: path, root: plan.root, config: plan.config, models: null, sandbox: false, lockWaitMs: 5_000 });
    const wall = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const row = report.rows[report.rows.length - 1];
    if (report.signal !== 'CONTINUE' || !row || row.result !== 'ok') {
      throw new Error(
        `${plan.name}: the iteration ended ${report.signal} (${row ? `${row.action} → ${row.result}: ${row.notes}` : 'no row'}; ${report.blockers.join('; ')})`,
      );
    }
    plan.actions.add(row.action.split(' ')[0]);
    if (record) {
      plan.engine.push(report.engineMs);
      plan.action.push(report.actionMs);
      plan.wall.push(wall);
      plan.cpu.push((cpu.user + cpu.system) / 1000);
      plan.floor.push(await fileFloor(plan, path));
    }
  };
  // What an iteration's file I/O would cost at the least if every write replaced the whole file, as the store's writes
  // did before long logs were written in place (docs/execution.md, "Writes in place"), and as it still writes a short
  // plan: the reads and the atomic writes, of the plan as it is now, to a file of its own beside it. Two writes of its
  // bytes through write-file-atomic with fsync, and three reads of its head: a plan this process wrote last is not
  // read again whole (src/plan/store.ts, writtenHere), only its front matter (4 kB here).
  const head = Buffer.alloc(4096);
  const fileFloor = async (plan, path) => {
    const bytes = readFileSync(path);
    const started = performance.now();
    for (let read = 0; read < 3; read++) {
      const fd = openSync(path, 'r');
      fstatSync(fd);
      readSync(fd, head, 0, head.length, 0);
      closeSync(fd);
    }
    for (let write = 0; write < 2; write++) await writeFileAtomic(`${path}.floor`, bytes, { fsync: true });
    return performance.now() - started;
  };
  // The plans take turns iteration by iteration, in an order that rotates, so that none is always first after another.
  const batches = async (count, record) => {
    for (let batch = 0; batch < Math.ceil(count / BATCH); batch++) {
      for (let i = 0; i < BATCH; i++) {
        const turn = (batch * BATCH + i) % engine.length;
        for (const plan of [...engine.slice(turn), ...engine.slice(0, turn)]) await iterate(plan, i === 0, record);
      }
    }
  };
  await batches(WARMUP, false);
  await batches(RUNS, true);

  const [empty, ...long] = engine;
  const measured = Math.ceil(RUNS / BATCH) * BATCH;
  out(
    `1. engine time per iteration (IterationReport.engineMs, the action excluded), ${measured} iterations per plan after ${Math.ceil(WARMUP / BATCH) * BATCH} warm-up ones, in runs of ${BATCH} from a fresh copy of the plan:`,
  );
  out(
    table([
      ['plan', 'size', 'steps run', 'engine median', 'engine p90', 'engine min', 'action median', 'wall median', 'CPU median'],
      ...engine.map((plan) => [
        plan.name,
        `${(plan.bytes / 1024).toFixed(1)} kB`,
        `${[...plan.actions][0]} to ${[...plan.actions].pop()}`,
        fmt(median(plan.engine)),
        fmt(quantile(plan.engine, 0.9)),
        fmt(Math.min(...plan.engine)),
        fmt(median(plan.action)),
        fmt(median(plan.wall)),
        fmt(median(plan.cpu)),
      ]),
    ]),
  );
  out(
    "(wall = the whole runIteration call; CPU = this process's CPU time in it: the engine and starting the action, not the action's own process; it moves less with the machine's load than the wall times)",
  );
  for (const plan of long) {
    const target = plan.rows > 1_000 ? ENGINE_LARGE_RATIO_TARGET : ENGINE_RATIO_TARGET;
    const ratio = median(plan.engine) / median(empty.engine);
    const ratios = [
      `${(quantile(plan.engine, 0.9) / quantile(empty.engine, 0.9)).toFixed(3)} (p90)`,
      `${(Math.min(...plan.engine) / Math.min(...empty.engine)).toFixed(3)} (min)`,
      `${(median(plan.cpu) / median(empty.cpu)).toFixed(3)} (CPU median)`,
    ];
    out(`ratio ${plan.name} / empty log: ${ratio.toFixed(3)} (median), ${ratios.join(', ')}; target <= ${target}: ${ratio <= target ? 'PASS' : 'FAIL'}`);
    if (ratio > target) fail(`the engine takes ${ratio.toFixed(2)} times as long per iteration at ${plan.rows} rows as with an empty log`);
  }
  // What whole writes would cost: the ratio an engine writing whole files, every other cost flat, would show.
  out(
    `file I/O of an iteration if every write were whole (3 reads of its head, 2 atomic writes of its bytes with fsync; a long log is written in place instead), median: ${engine
      .map((plan) => `${plan.name} ${fmt(median(plan.floor))}`)
      .join(', ')}`,
  );
  for (const plan of long) {
    const floorRatio = (median(empty.engine) + median(plan.floor) - median(empty.floor)) / median(empty.engine);
    out(`  the ratio at ${plan.name} that whole writes' I/O alone would give: ${floorRatio.toFixed(3)}`);
  }
  out();

  // ------------------------------------------------------------------------------------------------------------
  // 2. Prompt size

  // Iteration 5 is the fifth row of P1; iteration 500 the fifth row of P4 (P1 to P3 done), so that the two prompts
  // are for the same point of a phase of the same shape and differ by what the log and the learnings bring. A third
  // plan, not a target, spends all 500 iterations in P1: every learning is then about the current phase, and the
  // learnings budget (LEARNINGS_BUDGET) is what bounds the prompt.
  const prompts = [
    {
      name: `iteration ${PROMPT_EARLY}`,
      text: makePlan({ rows: PROMPT_EARLY, current: 'P1', currentRows: PROMPT_EARLY, learningsEvery: PROMPT_LEARNING_EVERY }),
      file: 'plans/prompt-early.md',
    },
    {
      name: `iteration ${PROMPT_LATE}`,
      text: makePlan({ rows: PROMPT_LATE, current: 'P4', currentRows: PROMPT_EARLY, learningsEvery: PROMPT_LEARNING_EVERY }),
      file: 'plans/prompt-late.md',
    },
    {
      name: `iteration ${PROMPT_LATE}, all in P1 (not a target)`,
      text: makePlan({ rows: PROMPT_LATE, current: 'P1', currentRows: PROMPT_LATE, learningsEvery: PROMPT_LEARNING_EVERY }),
      file: 'plans/prompt-one-phase.md',
    },
  ];
  for (const plan of prompts) writeFileSync(join(root, plan.file), plan.text);
  lintClean(prompts.map((plan) => plan.file));
  for (const entry of prompts) {
    const plan = parsePlan(entry.text, { path: join(root, entry.file) });
    const next = nextAction(plan);
    if (next.kind !== 'step' || next.step.kind !== 'model')
      throw new Error(`${entry.name}: the next action is ${next.kind} ${next.step?.kind ?? ''}, not a model step`);
    const { phase, step } = next;
    // As iteration.ts builds it for the builtin executor (no observation cached and no inputs read: both have their
    // own fixed budgets, and leaving them out makes the log's share of the prompt the largest it can be).
    const rows = plan.log?.rows ?? [];
    const { failures, refused } = stepFailures(phase, step, rows);
    entry.prompt = buildIterationPrompt({
      plan,
      phase,
      step,
      redo: next.redo,
      skill: null,
      tools: [...MODEL_TOOLS],
      failures,
      observation: null,
      inputs: '',
      blockedActions: refused,
    });
    entry.step = `${phase.id}.${step.index}`;
    entry.rows = rows.length;
    entry.learnings = plan.learnings?.length ?? 0;
  }
  const [early, late, onePhase] = prompts;
  out(`2. executor prompt size (buildIterationPrompt) at a model step, one running learning per ${PROMPT_LEARNING_EVERY} rows (no inputs, no observation):`);
  out(
    table([
      ['plan', 'step', 'log rows', 'learnings', 'prompt chars', '~tokens (chars/4)', 'vs iteration 5'],
      ...prompts.map((entry) => [
        entry.name,
        entry.step,
        entry.rows,
        entry.learnings,
        entry.prompt.length,
        Math.round(entry.prompt.length / 4),
        `${(entry.prompt.length / early.prompt.length).toFixed(3)}x`,
      ]),
    ]),
  );
  const promptRatio = late.prompt.length / early.prompt.length;
  out(
    `ratio iteration ${PROMPT_LATE} / iteration ${PROMPT_EARLY}: ${promptRatio.toFixed(3)}; target <= ${PROMPT_RATIO_TARGET}: ${promptRatio <= PROMPT_RATIO_TARGET ? 'PASS' : 'FAIL'}`,
  );
  if (promptRatio > PROMPT_RATIO_TARGET)
    fail(`the prompt at iteration ${PROMPT_LATE} is ${promptRatio.toFixed(2)} times the prompt at iteration ${PROMPT_EARLY}`);
  const sections = (prompt) =>
    Object.fromEntries(
      prompt.split(/\n(?=## )/).map((part) => [part.split('\n')[0].replace(/^## /, '').replace(/:.*$/, '').replace(/\d+/g, 'N'), part.length]),
    );
  for (const entry of [late, onePhase]) {
    const [a, b] = [early, entry].map((candidate) => sections(candidate.prompt));
    const grew = Object.keys(b)
      .filter((key) => b[key] - (a[key] ?? 0) > 20)
      .map((key) => `${key} ${a[key] ?? 0} → ${b[key]}`);
    if (grew.length > 0) out(`sections larger than at iteration ${PROMPT_EARLY} (${entry.name}): ${grew.join('; ')} chars`);
  }
  out();

  // ------------------------------------------------------------------------------------------------------------
  // 3. Whole processes

  if (LARGE_ROWS > 0) await wholeProcesses();
  out(`load average at the end: ${loadAverage()}`);
} finally {
  if (options.keep) out(`\nrepository kept in ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
out(failed ? '\nbench:run FAILED (see FAIL above)' : '\nbench:run: every target met');
process.exitCode = failed ? 1 : 0;
