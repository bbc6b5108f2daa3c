import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import { requestFacts } from '../src/pipeline/sufficiency.js';
import { offlineReview } from '../src/review/offline.js';
import { CLI, makeRepo, PROJECT_ROOT } from './support/fixtures.js';
import { WORKLOADS, type Workload } from './support/offline-planner-repos.js';

function deepplan(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', DEEPPLAN_OFFLINE: '1' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('what the request says', () => {
  it('finds labelled and unlabelled success, constraints, the approver and the quality bar', () => {
    const facts = requestFacts(
      'Codify the SEO setup and roll it out to Denver.\nSuccess: Denver passes the seo-audit.\nConstraints: keep the Austin pages unchanged; use the same URL scheme.\nThe quality bar is adversarial. Dana Ruiz, Head of Growth, approves.',
    );
    expect(facts).toEqual({
      success: ['Denver passes the seo-audit'],
      constraints: ['keep the Austin pages unchanged', 'use the same URL scheme'],
      approver: { name: 'Dana Ruiz', role: 'Head of Growth', sentence: 'Dana Ruiz, Head of Growth, approves.' },
      qualityBar: 'adversarial',
    });
    expect(requestFacts('Drafts only; nothing is sent. Approver: Sam Lee. Success is one draft per contact.')).toMatchObject({
      constraints: ['Drafts only; nothing is sent'],
      approver: { name: 'Sam Lee' },
      success: ['Success is one draft per contact'],
      qualityBar: null,
    });
    expect(requestFacts('Help with sales stuff').approver).toBeNull();
  });
});

describe('the offline planner on five workloads', () => {
  it.each(WORKLOADS.map((make) => [make().name, make] as const))('%s: a plan that fits, or a clear refusal', (_name, make) => {
    const workload: Workload = make();
    const root = makeRepo(workload.files);
    const result = deepplan(['plan', '--request', workload.request, '--out', 'plans/p.md', '--no-review'], root);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    if (result.code !== 0) {
      // A refusal is one line that says what is missing.
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n').at(-1)).toMatch(/^deepplan: .{20,}$/);
      expect(existsSync(join(root, 'plans/p.md'))).toBe(false);
      throw new Error(`declined: ${result.stderr.trim().split('\n').at(-1)}`);
    }
    const text = readFileSync(join(root, 'plans/p.md'), 'utf8');
    expect(lintText(text, join(root, 'plans/p.md')).filter((finding) => finding.severity === 'error')).toEqual([]);
    const plan = parsePlan(text);

    // The named approver gates the work: the owner, and named by the human gates' Done when.
    expect(plan.meta.owner).toMatch(new RegExp(`^${workload.approver}`));
    const gates = plan.phases.filter((phase) => phase.gate === 'human');
    expect(gates.length).toBeGreaterThanOrEqual(1);
    expect(gates.every((phase) => phase.doneWhen!.text.includes(workload.approver) || phase.title.includes(workload.approver))).toBe(true);
    expect(plan.stakeholders![0]!.text).toMatch(new RegExp(`^${workload.approver} — .*approver`));

    // The right skills are mapped, each as a step of every phase it is mapped to; the deprecated one is excluded.
    const mapped = new Map(plan.skills!.mapped!.map((skill) => [skill.name, skill.phases]));
    for (const name of workload.mapped) expect(mapped.has(name), `${name} mapped`).toBe(true);
    expect(mapped.has(workload.deprecated)).toBe(false);
    expect(plan.skills!.excluded!.find((skill) => skill.name === workload.deprecated)!.reason).toMatch(/deprecated|do not use|legacy/i);
    for (const [name, ids] of mapped) {
      for (const id of ids) expect(plan.phases.find((phase) => phase.id === id)!.steps.some((step) => step.kind === 'skill' && step.skill === name)).toBe(true);
    }

    // Every entity of the folder is covered by a phase that reads it.
    const entities = Object.keys(workload.files).filter((path) => path.startsWith(`${workload.folder}/`) && !/README/i.test(path));
    expect(entities).toHaveLength(workload.count);
    const read = new Set(plan.phases.flatMap((phase) => phase.inputs));
    for (const entity of entities) expect(read.has(entity), entity).toBe(true);

    // The request's success figure, quality bar and constraints are in the plan.
    expect(plan.criteria!.some((criterion) => criterion.text.toLowerCase().includes(workload.success.toLowerCase()))).toBe(true);
    expect(plan.meta.quality_bar).toBe(workload.qualityBar);
    const constraints = (plan.constraints ?? []).map((entry) => entry.text);
    for (const constraint of workload.constraints) expect(constraints).toContain(constraint);

    // Sources over 3,000 and 6,000 lines are extracted before they are read.
    expect(plan.phases.some((phase) => phase.context === 'extract_then_assemble')).toBe(true);
    expect(plan.phases.some((phase) => phase.context === 'map_reduce')).toBe(true);

    // What the sources say reaches the work: every source's notes are read by a later phase, which says it draws on
    // them; and the offline reviewer finds no output that nothing reads or checks (the deliverables are checked by
    // the criteria's globs and folders).
    const notes = plan.phases.flatMap((phase, index) =>
      phase.outputs.filter((output) => /^notes\/.+\.md$/.test(output) && !output.endsWith('-extract.md')).map((output) => ({ output, index })),
    );
    expect(notes.length).toBeGreaterThanOrEqual(2);
    for (const { output, index } of notes) {
      const reader = plan.phases.slice(index + 1).find((phase) => phase.inputs.includes(output));
      expect(reader, `${output} is read`).toBeDefined();
      if (reader!.steps.some((step) => step.kind === 'model')) expect(reader!.steps.map((step) => step.text).join(' ')).toContain(output);
    }
    const unread = offlineReview(plan, []).filter((finding) => finding.issue.includes('which no later phase reads'));
    expect(unread.map((finding) => finding.issue)).toEqual([]);
  });
});

describe('what the offline planner will not do', () => {
  it('asks what the job is and which account for a vague request', () => {
    const workload = WORKLOADS[0]!();
    const root = makeRepo(workload.files);
    const result = deepplan(['plan', '--request', 'help with sales stuff', '--json'], root);
    expect(result.code).toBe(3);
    const last = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { type: string; questions: Array<{ id: string; text: string }> };
    expect(last.type).toBe('needs-answers');
    expect(last.questions.map((question) => question.id).slice(0, 2)).toEqual(['job', 'entity']);
    expect(last.questions[0]!.text).toMatch(/^What is the job/);
    expect(last.questions[1]!.text).toMatch(/Which account or entities/);
    // --yes cannot guess the job: the questions stay open.
    expect(deepplan(['plan', '--request', 'help with sales stuff', '--yes'], root).code).toBe(3);
    // Answered, the job and the entity pick the template and the folder.
    writeFileSync(
      join(root, 'answers.yaml'),
      'job: Enrich account records (fill in missing fields, each with its source)\nentity: crm/accounts/\nsuccess: Every account has an industry\nowner: Rosa Diaz, RevOps lead\nlimits: 2\n',
    );
    const answered = deepplan(['plan', '--request', 'help with sales stuff', '--answers', 'answers.yaml', '--out', 'plans/a.md', '--no-review'], root);
    expect(answered.code, answered.stderr).toBe(0);
    expect(answered.stderr).toMatch(/phases from the enrichment template/);
    expect(parsePlan(readFileSync(join(root, 'plans/a.md'), 'utf8')).phases.flatMap((phase) => phase.inputs)).toContain('crm/accounts/globex-001.yaml');
  });

  it('declines in one line, naming what it needs, when no template fits', () => {
    const root = makeRepo(WORKLOADS[1]!().files);
    const result = deepplan(
      [
        'plan',
        '--request',
        'Translate the employee handbook into Portuguese. Success: every chapter translated. Nothing is published. Ana Lima, HR lead, approves.',
        '--out',
        'plans/x.md',
      ],
      root,
    );
    expect(result.code).toBe(1);
    const lines = result.stderr
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('deepplan: ') && !line.includes('DEEPPLAN_OFFLINE'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^deepplan: no offline template fits "Translate the employee handbook .*": set a model key \(ANTHROPIC_API_KEY, OPENAI_API_KEY or GEMINI_API_KEY\).* or add a template .* at plans\/templates\/<workstream>\.yaml/,
    );
    expect(existsSync(join(root, 'plans/x.md'))).toBe(false);
  });

  it("a plan for a new account reads none of another account's files", () => {
    const root = mkdtempSync(join(tmpdir(), 'deepplan-brightline-'));
    cpSync(join(PROJECT_ROOT, 'examples', 'outreach'), root, { recursive: true });
    mkdirSync(join(root, '.git'));
    const result = deepplan(
      [
        'plan',
        '--request',
        'Run an outreach for Brightline: one email per person on the buying committee. Drafts only; nothing is sent. Priya, the CRO, approves.',
        '--out',
        'plans/b.md',
      ],
      root,
    );
    expect(result.stderr).not.toMatch(/mod-op/);
    if (result.code === 0) {
      const text = readFileSync(join(root, 'plans/b.md'), 'utf8');
      expect(text).not.toMatch(/mod-op/i);
    } else {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/deepplan: the outreach template cannot be filled from this request and repository: it needs \{account_slug\}/);
      expect(existsSync(join(root, 'plans/b.md'))).toBe(false);
    }
    // The same repository still plans Mod Op from the same template.
    const modop = deepplan(
      [
        'plan',
        '--request',
        'Run an outreach for Mod Op: one email per person on the buying committee. Drafts only; nothing is sent. Michael, the CEO, approves.',
        '--out',
        'plans/m.md',
        '--no-review',
      ],
      root,
    );
    expect(modop.code, modop.stderr).toBe(0);
    expect(readFileSync(join(root, 'plans/m.md'), 'utf8')).toContain('crm/deals/mod-op.yaml');
  });

  it('maps a skill by hand to a named phase from the answers file', () => {
    const workload = WORKLOADS[3]!();
    const root = makeRepo(workload.files);
    writeFileSync(join(root, 'answers.yaml'), 'skills:\n  map: {gsc-export: P3}\n');
    const result = deepplan(['plan', '--request', workload.request, '--answers', 'answers.yaml', '--out', 'plans/s.md', '--no-review'], root);
    expect(result.code, result.stderr).toBe(0);
    const plan = parsePlan(readFileSync(join(root, 'plans/s.md'), 'utf8'));
    expect(plan.skills!.mapped!.find((skill) => skill.name === 'gsc-export')!.phases).toEqual(['P3']);
    writeFileSync(join(root, 'bad.yaml'), 'skills:\n  map: {gsc-export: third}\n');
    const bad = deepplan(['plan', '--request', workload.request, '--answers', 'bad.yaml'], root);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^deepplan: bad\.yaml: skills\.map\.gsc-export must name phases like P3 \(or a list of them\)$/m);
  });
});
