import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, SMALL_PLAN, SMALL_PLAN_SKILLS, edit, logRows, makeRepo, writeFile } from './support/fixtures.js';

// Worker threads load compiled JavaScript, so both paths are taken from dist/ (`npm test` builds it first): the
// sequential and the parallel run then execute the same code, and the test compares only the two paths.
type LintModule = typeof import('../src/lint/lint.js');
type PoolModule = typeof import('../src/lint/pool.js');

const DIST_LINT = join(PROJECT_ROOT, 'dist', 'lint', 'lint.js');
const DIST_POOL = join(PROJECT_ROOT, 'dist', 'lint', 'pool.js');
const DIST_WORKER = join(PROJECT_ROOT, 'dist', 'lint', 'worker.js');

let lint: LintModule;
let pool: PoolModule;

beforeAll(async () => {
  if (!existsSync(DIST_WORKER)) throw new Error('dist/lint/worker.js is missing: run `npm run build` first');
  lint = (await import(pathToFileURL(DIST_LINT).href)) as LintModule;
  pool = (await import(pathToFileURL(DIST_POOL).href)) as PoolModule;
});

const withLog = (rows: Array<[string, string, string, string, string, string?]>, text = SMALL_PLAN) =>
  edit(edit(`${text}${logRows(rows)}\n`, 'iteration: 0', `iteration: ${rows.length}`), 'revision: 0', `revision: ${rows.length}`);

/** Plans that break different rules, and files that are not plans at all. */
const BAD_PLANS: Record<string, string | Uint8Array> = {
  'no-request.md': edit(SMALL_PLAN, /## Request\n\n.*\n/, ''),
  'small-budget.md': edit(SMALL_PLAN, 'max_iterations: 15', 'max_iterations: 2'),
  'unknown-skill.md': edit(SMALL_PLAN, '1. /fetch-notes', '1. /no-such-skill'),
  'cycle.md': edit(SMALL_PLAN, '- Depends on: none', '- Depends on: P3'),
  'bad-log.md': withLog([
    ['2026-11-20T10:05:00Z', 'P1', 'P1.1 run x', 'ok', 'CONTINUE'],
    ['2026-11-20T10:01:00Z', 'P9', 'P2.1 run y', 'maybe', 'GO'],
  ]),
  'broken-yaml.md': edit(SMALL_PLAN, 'title: Weekly account summary', 'title: [unclosed'),
  'no-front-matter.md': '# Just a heading\n',
  'binary.md': new Uint8Array([0x2d, 0x2d, 0x2d, 0x0a, 0x00, 0x01, 0x02]),
  'latin1.md': new Uint8Array([0x2d, 0x2d, 0x2d, 0x0a, 0xe9, 0x0a]),
  'disabled.md': `<!-- deepplan-disable budget -->\n${edit(SMALL_PLAN, 'max_iterations: 15', 'max_iterations: 2')}`,
};

/**
 * Two repositories (the second turns a rule off and warns on another, so each worker must load each repository's
 * configuration), good and bad plans interleaved, 66 files in all.
 */
function mixedSet(): { cwd: string; files: string[] } {
  const first = makeRepo(SMALL_PLAN_SKILLS);
  const second = makeRepo({ ...SMALL_PLAN_SKILLS, 'deepplan.config.yaml': 'rules:\n  budget: off\n  skill-unknown: warn\n' });
  const files: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (const root of [first, second]) {
      for (const [name, text] of Object.entries(BAD_PLANS)) files.push(writeFile(root, `plans/r${round}/${name}`, text));
      files.push(writeFile(root, `plans/r${round}/good.md`, SMALL_PLAN));
    }
  }
  return { cwd: first, files };
}

describe('parallel lint (worker threads)', () => {
  it('gives exactly the sequential results, in the same order', async () => {
    const { cwd, files } = mixedSet();
    expect(files.length).toBe(66);
    const sequential = await lint.lintFiles(files, cwd, { threads: 1 });
    const parallel = await lint.lintFiles(files, cwd, { threads: 2, parallelThreshold: 1 });
    const allWorkers = await pool.lintInPool(files, cwd, lint.lintFile, { threads: 3, mainThread: false });

    // The set is really mixed: clean plans, rule findings, parse errors, findings from both repositories' settings.
    const ruleIds = new Set(sequential.files.flatMap((file) => file.findings.map((finding) => finding.ruleId)));
    for (const id of ['parse', 'front-matter', 'sections', 'budget', 'skill-unknown', 'phase-dependencies', 'iteration-log']) {
      expect(ruleIds).toContain(id);
    }
    expect(sequential.files.filter((file) => file.findings.length === 0).length).toBeGreaterThanOrEqual(6);
    expect(sequential.summary.errors).toBeGreaterThan(0);

    expect(parallel).toEqual(sequential);
    expect(JSON.stringify(parallel)).toBe(JSON.stringify(sequential));
    expect(allWorkers.files).toEqual(sequential.files);
    expect(allWorkers.perThread[0]).toBe(0);
    expect(allWorkers.perThread.slice(1).reduce((sum, count) => sum + count, 0)).toBe(files.length);
    expect(parallel.files.map((file) => resolve(cwd, file.path))).toEqual(files);
  });

  it('gives the same results below the threshold and with DEEPPLAN_LINT_WORKERS set', async () => {
    const { cwd, files } = mixedSet();
    const few = files.slice(0, 5);
    expect(await lint.lintFiles(few, cwd, { threads: 4 })).toEqual(await lint.lintFiles(few, cwd, { threads: 1 }));
    const previous = process.env['DEEPPLAN_LINT_WORKERS'];
    process.env['DEEPPLAN_LINT_WORKERS'] = '2';
    try {
      expect(await lint.lintFiles(files, cwd, { parallelThreshold: 1 })).toEqual(await lint.lintFiles(files, cwd, { threads: 1 }));
    } finally {
      if (previous === undefined) delete process.env['DEEPPLAN_LINT_WORKERS'];
      else process.env['DEEPPLAN_LINT_WORKERS'] = previous;
    }
  });

  it('throws the error the sequential run throws (the first file whose configuration cannot be read)', async () => {
    const { cwd, files } = mixedSet();
    const broken = makeRepo({ 'deepplan.config.yaml': 'rules: [unclosed\n' });
    const unknownRule = makeRepo({ 'deepplan.config.yaml': 'rules: {no-such-rule: off}\n' });
    const withBroken = [
      ...files.slice(0, 30),
      writeFile(broken, 'plans/a.md', SMALL_PLAN),
      ...files.slice(30),
      writeFile(unknownRule, 'plans/b.md', SMALL_PLAN),
    ];
    const sequential = await lint.lintFiles(withBroken, cwd, { threads: 1 }).then(
      () => null,
      (error: Error) => error,
    );
    expect(sequential).toBeInstanceOf(Error);
    const parallel = await lint.lintFiles(withBroken, cwd, { threads: 2, parallelThreshold: 1 }).then(
      () => null,
      (error: Error) => error,
    );
    expect(parallel).toBeInstanceOf(Error);
    expect(parallel!.name).toBe(sequential!.name);
    expect(parallel!.message).toBe(sequential!.message);
    expect(parallel!.constructor).toBe(sequential!.constructor);
  });
});
