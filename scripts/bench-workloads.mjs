// Realistic plans in realistic repositories, for the start-up benchmark (bench-start.mjs): the offline planner's five
// workloads of the tests (test/support/offline-planner-repos.ts: enrich 50 accounts, curate 120 articles, score 40
// deals, an SEO rollout, 74 articles; skills with contracts, records, source documents of 3,000 and 6,000 lines),
// each planned by the offline engine (`deepplan plan`, no model) into a plan of 19 to 25 phases. A plan none of the
// start-up snapshot's warm-up saw, in a repository whose skills and records the rules read, is what a user lints; the
// project's own small example plan alone says little about that.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const PROJECT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The workload builders of the tests, bundled from TypeScript into `dir` and imported. */
async function workloadBuilders(dir) {
  const out = join(dir, 'workloads.mjs');
  await build({
    entryPoints: [join(PROJECT, 'test', 'support', 'offline-planner-repos.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: out,
    logLevel: 'error',
  });
  return (await import(pathToFileURL(out).href)).WORKLOADS;
}

/**
 * Writes each workload's repository under `dir` and plans it with `cli` (dist/cli/main.js, offline): returns
 * `{ name, root, plan, bytes, phases }` per workload, `plan` the plan's path inside `root`. A workload the planner
 * declines is left out, with its one-line reason on stderr.
 */
export async function workloadPlans(dir, cli) {
  const plans = [];
  for (const make of await workloadBuilders(dir)) {
    const workload = make();
    const root = join(dir, workload.name.replace(/\W+/g, '-').toLowerCase());
    mkdirSync(join(root, '.git'), { recursive: true });
    for (const [path, text] of Object.entries(workload.files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const plan = 'plans/plan.md';
    const result = spawnSync(process.execPath, [cli, 'plan', '--request', workload.request, '--out', plan, '--no-review'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '', GOOGLE_API_KEY: '', GEMINI_API_KEY: '' },
    });
    if (result.status !== 0) {
      process.stderr.write(`bench: the offline planner declined ${workload.name}: ${(result.stderr || result.stdout).trim().split('\n').at(-1)}\n`);
      continue;
    }
    const text = readFileSync(join(root, plan), 'utf8');
    plans.push({ name: workload.name, root, plan, bytes: Buffer.byteLength(text), phases: (text.match(/^### P/gm) ?? []).length });
  }
  return plans;
}
