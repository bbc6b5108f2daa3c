import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { lintText } from '../../src/lint/lint.js';
import { parsePlan } from '../../src/plan/parse.js';
import { createRuleContext } from '../../src/rules/context.js';
import { countFileOperations, FILE_OPS_WARN } from '../../src/rules/phase-file-ops.js';
import { templateNames } from '../../src/pipeline/templates.js';
import { CLI, makeRepo } from './fixtures.js';
import { skillMd } from './plan-text.js';

/**
 * Repositories for entity scale (30, 50 and 200 entities of three workloads), each with tool skills whose shell
 * scripts write the outputs and a template of its own, and the helpers that plan one offline, run it to the end
 * with `deepplan run --loop` in the command sandbox and check the run: pre-flight, budget, file counts, lint.
 */

const exec = promisify(execFile);
const NODE = process.execPath;
const roots: string[] = [];

/** Removes every repository built by this module (call it from afterAll). */
export function removeScaleRepos(): void {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
}

export interface Workload {
  /** Folder of the entity files (the `each.files` glob's folder), with `{account_slug}` where the request names it. */
  entities: string;
  /** The folder as it is on disk. */
  folder: string;
  as: string;
  count: number;
  entity: (name: string) => string;
  /** Per-entity phases: the tool skill, the output folder and extension, and whether it reads the previous output. */
  stages: Array<{ skill: string; description: string; out: string; ext: string; reads: 'entity' | { dir: string; ext: string }; title: string }>;
  first: { skill: string; description: string; out: string; title: string };
  last: { skill: string; description: string; out: string; title: string };
}

/** 30 contacts at Brightline: draft and render one email each, behind the deal owner's go-ahead. */
export const CONTACTS_30: Workload = {
  entities: 'crm/contacts/{account_slug}',
  folder: 'crm/contacts/brightline',
  as: 'contact',
  count: 30,
  entity: (name) => `id: ${name}\nname: ${name}\ntitle: VP Operations\n`,
  first: {
    skill: 'owner-brief',
    description: 'Writes the deal owner brief for approval before any outreach.',
    out: 'handoff/owner.md',
    title: "Confirm the deal owner's go-ahead",
  },
  stages: [
    {
      skill: 'draft-outreach',
      description: 'Drafts one outreach email for a contact.',
      out: 'drafts',
      ext: 'md',
      reads: 'entity',
      title: 'Draft the email to',
    },
    {
      skill: 'render-email',
      description: 'Renders a drafted email as HTML with the signature.',
      out: 'html',
      ext: 'html',
      reads: { dir: 'drafts', ext: 'md' },
      title: 'Render the email to',
    },
  ],
  last: {
    skill: 'deal-handoff',
    description: 'Writes the handoff summary for the deal owner.',
    out: 'handoff/summary.md',
    title: 'Hand off to the deal owner',
  },
};
export const CONTACTS_30_REQUEST = 'Run an outreach for Brightline: one email per contact. Drafts only; nothing is sent. Priya, the VP Sales, approves.';

/** 50 CRM accounts to enrich with firmographics. */
export const ACCOUNTS_50: Workload = {
  entities: 'crm/accounts',
  folder: 'crm/accounts',
  as: 'account',
  count: 50,
  entity: (name) => `id: ${name}\nindustry: logistics\nemployees: 1200\n`,
  first: {
    skill: 'enrichment-scope',
    description: 'Writes the enrichment scope for the revenue lead to approve.',
    out: 'handoff/scope.md',
    title: 'Confirm the enrichment scope',
  },
  stages: [
    { skill: 'enrich-account', description: 'Enriches one CRM account with firmographics.', out: 'enriched', ext: 'yaml', reads: 'entity', title: 'Enrich' },
  ],
  last: {
    skill: 'enrichment-report',
    description: 'Writes the enrichment report for the revenue lead.',
    out: 'report/enrichment.md',
    title: 'Report the enrichment',
  },
};
export const ACCOUNTS_50_REQUEST =
  'Enrich the 50 accounts in crm/accounts with firmographics. Success: every account enriched. Only public sources; nothing is sent. Dana, the revenue lead, approves.';

/** 200 article briefs: write, keyword-check and link-check each article, then schedule them. */
export const ARTICLES_200: Workload = {
  entities: 'content/briefs',
  folder: 'content/briefs',
  as: 'article',
  count: 200,
  entity: (name) => `slug: ${name}\nkeyword: freight ${name}\nwords: 1200\n`,
  first: {
    skill: 'editorial-scope',
    description: 'Writes the editorial scope for the editor to approve.',
    out: 'handoff/editorial.md',
    title: 'Confirm the editorial scope',
  },
  stages: [
    { skill: 'write-article', description: 'Writes one article from its brief.', out: 'articles', ext: 'md', reads: 'entity', title: 'Write the article' },
    {
      skill: 'seo-check',
      description: 'Checks one article against its target keyword.',
      out: 'seo',
      ext: 'txt',
      reads: { dir: 'articles', ext: 'md' },
      title: 'Check the keyword of',
    },
    {
      skill: 'link-check',
      description: 'Checks the links of one article.',
      out: 'links',
      ext: 'txt',
      reads: { dir: 'articles', ext: 'md' },
      title: 'Check the links of',
    },
  ],
  last: { skill: 'editorial-calendar', description: 'Writes the editorial calendar of the articles.', out: 'calendar/plan.md', title: 'Schedule the articles' },
};
export const ARTICLES_200_REQUEST =
  'Write the 200 articles of the content plan from content/briefs. Success: every brief has an article. House style only; nothing is sent to readers yet. Omar, the editor, approves.';

const skill = (name: string, description: string, run?: string) => skillMd({ name, description, metadata: run ? { run } : {}, value: String });

/**
 * A repository of the workload: entity files, tool skills (shell scripts), two skills that do not fit, its own
 * template. It is a git repository with a user name of its own, so that an approval always has someone to name.
 */
export function buildScaleRepo(workload: Workload): string {
  const names = Array.from({ length: workload.count }, (_, index) => `${workload.as}-${String(index + 1).padStart(3, '0')}`);
  const files: Record<string, string> = {};
  for (const name of names) files[`${workload.folder}/${name}.yaml`] = workload.entity(name);
  // Tool skills: each writes its output for one entity (its argument), or the fixed file of the first and last phase.
  for (const stage of workload.stages) {
    files[`.claude/skills/${stage.skill}/SKILL.md`] = skill(stage.skill, stage.description, `sh scripts/${stage.skill}.sh`);
    files[`scripts/${stage.skill}.sh`] = `set -e\nmkdir -p ${stage.out}\nprintf 'entity: %s\\nstatus: done\\n' "$1" > ${stage.out}/"$1".${stage.ext}\n`;
  }
  for (const fixed of [workload.first, workload.last]) {
    files[`.claude/skills/${fixed.skill}/SKILL.md`] = skill(fixed.skill, fixed.description, `sh scripts/${fixed.skill}.sh`);
    files[`scripts/${fixed.skill}.sh`] =
      `set -e\nmkdir -p $(dirname ${fixed.out})\nprintf 'Approved: yes\\n%s entities\\n' "${workload.count}" > ${fixed.out}\n`;
  }
  files['.claude/skills/hubspot-sync/SKILL.md'] = skill('hubspot-sync', 'Deprecated: syncs contacts to HubSpot, which is no longer the system of record.');
  files['.claude/skills/slide-deck/SKILL.md'] = skill('slide-deck', 'Builds a quarterly slide deck from finance spreadsheets.');
  const stages = workload.stages.map((stage) => {
    const input = stage.reads === 'entity' ? '"{' + workload.as + '_file}"' : `"${stage.reads.dir}/{${workload.as}}.${stage.reads.ext}"`;
    return [
      `  - each: {files: "${workload.entities}/*.yaml", as: ${workload.as}}`,
      `    title: "${stage.title} {${workload.as}}"`,
      `    inputs: [${input}]`,
      `    outputs: ["${stage.out}/{${workload.as}}.${stage.ext}"]`,
      `    steps: ["/${stage.skill} {${workload.as}}"]`,
      `    done: {text: "{${workload.as}} is done", verify: "test -s ${stage.out}/{${workload.as}}.${stage.ext}"}`,
    ].join('\n');
  });
  const template = [
    'deliverable: content',
    'title: "{request_title}"',
    'scope:',
    `  write: [${[...workload.stages.map((stage) => `${stage.out}/**`), `${workload.first.out.split('/')[0]}/**`, `${workload.last.out.split('/')[0]}/**`].join(', ')}]`,
    '  commands: [sh scripts/]',
    'phases:',
    `  - title: ${workload.first.title}`,
    `    outputs: [${workload.first.out}]`,
    '    gate: human',
    `    steps: ["/${workload.first.skill}"]`,
    `    done: {text: the owner has the scope to approve, verify: "test -s ${workload.first.out}"}`,
    ...stages,
    `  - title: ${workload.last.title}`,
    `    outputs: [${workload.last.out}]`,
    `    steps: ["/${workload.last.skill}"]`,
    `    done: {text: the handoff exists, verify: "test -s ${workload.last.out}"}`,
    'criteria:',
    ...workload.stages.map(
      (stage) =>
        `  - {text: "Every ${workload.as} has its ${stage.out} file", verify: "test \\"$(ls ${stage.out}/*.${stage.ext} | wc -l)\\" -eq ${workload.count}"}`,
    ),
    `  - {text: "The owner saw the scope first", verify: "test -s ${workload.first.out}"}`,
    `  - {text: "The handoff exists", verify: "test -s ${workload.last.out}"}`,
    '',
  ].join('\n');
  // The planner picks a template by the kind of work; this repository answers every kind with its own.
  for (const name of templateNames(null)) files[`plans/templates/${name}.yaml`] = template;
  files['deepplan.config.yaml'] = 'execute:\n  timeout_ms: 30000\n';
  const root = makeRepo(files);
  roots.push(root);
  // makeRepo's bare .git folder becomes a real repository (git init fills the empty folder).
  execFileSync('git', ['init', '--quiet'], { cwd: root });
  execFileSync('git', ['config', 'user.name', 'Scale Test Approver'], { cwd: root });
  return root;
}

export async function scaleCli(root: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(NODE, [CLI, ...args], {
      cwd: root,
      env: { ...process.env, CI: '1', ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '', GEMINI_API_KEY: '' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const lineAt = (text: string, line: number) => text.split('\n')[line - 1] ?? '';

/**
 * What lint says of a plan, less the one warning the request's own success sentence draws (it is carried in the
 * requester's words, with no command to check it).
 */
export function findingsOf(text: string, path: string): string[] {
  return lintText(text, path)
    .filter(
      (finding) =>
        !(finding.ruleId === 'success-criteria-verifiable' && finding.severity === 'warning' && /the request's own measure/.test(lineAt(text, finding.line))),
    )
    .map((finding) => `${finding.ruleId}: ${finding.message}`);
}

export interface RunFigures {
  phases: number;
  /** Iterations used (log rows). */
  rows: number;
  budget: number;
  /** Rows logged before the last phase's first row. */
  beforeLast: number;
  /** The phases whose human gate was approved, in order. */
  gates: string[];
  /** Wall time of planning and running, in ms. */
  ms: number;
}

/**
 * Plans one request offline (`plan --yes`), checks it lints clean, approves it and runs it with `run --loop` to
 * TASK_COMPLETE, approving each human gate the run stops at. Then checks the run: no pre-flight row, no failed or
 * blocked row, the budget covers the run and was not spent before the last phase, every phase within the file
 * limit now that its outputs exist, lint clean after.
 */
export async function planAndRun(root: string, request: string, out: string, planArgs: string[] = []): Promise<RunFigures> {
  const started = Date.now();
  const planned = await scaleCli(root, ['plan', '--request', request, '--yes', ...planArgs, '--out', out]);
  expect(planned.code, `${planned.stdout}\n${planned.stderr}`).toBe(0);
  const path = join(root, out);
  const before = readFileSync(path, 'utf8');
  expect(findingsOf(before, path)).toEqual([]);
  const approved = await scaleCli(root, ['approve', out]);
  expect(approved.code, approved.stderr).toBe(0);
  const gates: string[] = [];
  let run = await scaleCli(root, ['run', out, '--loop']);
  // Each stop for a person is a human gate on the phase the run stands at; a plan has fewer gates than phases.
  while (run.stdout.trim().split('\n').pop() === 'BLOCKED_NEED_HUMAN' && gates.length < parsePlan(readFileSync(path, 'utf8')).phases.length) {
    const waiting = parsePlan(readFileSync(path, 'utf8'));
    const phase = waiting.meta.state!.phase!;
    expect(waiting.phases.find((candidate) => candidate.id === phase)?.gate, `${out} stopped at ${phase}: ${waiting.meta.state?.blockers?.join('; ')}`).toBe(
      'human',
    );
    const gate = await scaleCli(root, ['approve', out, phase, '--note', 'go ahead']);
    expect(gate.code, gate.stderr).toBe(0);
    gates.push(phase);
    run = await scaleCli(root, ['run', out, '--loop']);
  }
  const text = readFileSync(path, 'utf8');
  const plan = parsePlan(text);
  expect(run.stdout.trim().split('\n').pop(), `${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}\n${plan.meta.state?.blockers?.join('; ')}`).toBe(
    'TASK_COMPLETE',
  );
  const rows = plan.log!.rows;
  const budget = plan.meta.budget!.max_iterations;
  expect(rows.length).toBeLessThanOrEqual(budget);
  // The last phase ran within the budget: it was not spent before it.
  const last = plan.phases.at(-1)!.id;
  const beforeLast = rows.findIndex((row) => row.phase === last);
  expect(beforeLast, `${out}: no row of ${last}`).toBeGreaterThan(0);
  expect(beforeLast).toBeLessThan(budget);
  expect(rows.filter((row) => row.notes.includes('pre-flight'))).toEqual([]);
  expect(rows.filter((row) => row.result === 'failed' || row.result === 'blocked')).toEqual([]);
  // Every phase, counted as pre-flight counts it now that the outputs exist, is within the limits; lint agrees.
  const context = createRuleContext(root, loadConfig(root));
  for (const phase of plan.phases) expect(countFileOperations(phase, context, plan.phases), phase.id).toBeLessThanOrEqual(FILE_OPS_WARN);
  expect(findingsOf(text, path)).toEqual([]);
  return { phases: plan.phases.length, rows: rows.length, budget, beforeLast, gates, ms: Date.now() - started };
}
