import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { budgetFor, FORMULA } from '../src/calibration/calibration.js';
import { lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import { CLI, makeRepo, PROJECT_ROOT, RESEARCH_SKILLS, skillSet, SMALL_PLAN } from './support/fixtures.js';
import { edits } from './support/plan-text.js';

const code = (lines: number) => 'export const x = 1;\n'.repeat(lines);

function deepplan(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', DEEPPLAN_OFFLINE: '1' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('deepplan plan (offline)', () => {
  it('plans a request naming sources of 412, 3,500 and 7,000 lines: sized, audited, budgeted, lint-clean', () => {
    const root = makeRepo({ ...RESEARCH_SKILLS, 'src/intake.ts': code(412), 'src/routing.ts': code(3500), 'src/ledger.ts': code(7000) });
    const request =
      'Research for the client deal review: what do src/intake.ts, src/routing.ts and src/ledger.ts do? Success is one findings page that cites every source. Read-only: no code changes. Priya, the account lead, approves.';
    const result = deepplan(['plan', '--request', request, '--out', 'plans/review.md'], root);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^plans\/review\.md: \d+ phases, lints with 0 errors/);
    const text = readFileSync(join(root, 'plans/review.md'), 'utf8');
    expect(lintText(text, join(root, 'plans/review.md')).filter((finding) => finding.severity === 'error')).toEqual([]);
    const plan = parsePlan(text);
    const reading = (source: string) => plan.phases.find((phase) => phase.inputs.includes(source));
    expect(reading('src/intake.ts')!.context).toBe('direct');
    expect(reading('src/routing.ts')!.context).toBe('extract_then_assemble');
    expect(reading('src/ledger.ts')!.context).toBe('map_reduce');
    expect(plan.skills!.mapped!.length).toBeGreaterThanOrEqual(3);
    expect(plan.skills!.excluded!.length).toBeGreaterThanOrEqual(2);
    expect(plan.skills!.mapped!.map((skill) => skill.name)).not.toContain('hubspot-sync');
    expect(plan.meta.budget).toEqual(
      expect.objectContaining({ basis: 'formula', max_iterations: budgetFor(FORMULA, plan.phases.length, plan.criteria!.length) }),
    );
    expect(plan.meta.quality_bar).toBe('adversarial');
    // Quality bar adversarial: deepplan plan reviewed it before anyone may approve it.
    expect(plan.meta.status).toBe('in_review');
    expect(plan.meta.review).toMatchObject({ rounds: 1, reviewer: 'offline/rules', report: 'reviews/research-for-the-client-deal/round-1.md' });
    expect(result.stderr).toMatch(/quality bar adversarial: reviewing before approval\nround 1: (APPROVED|REVISE)/);
    // The pipeline reported what sizing changed.
    expect(result.stderr).toMatch(/reads 3,500 source lines: inserted P\d+a to extract them \(extract_then_assemble\)/);
    expect(result.stderr).toMatch(/reads 7,000 source lines: inserted P\d+a to extract them \(map_reduce\)/);
  });

  it('exits 3 with the interview when criteria, constraints and stakeholders are missing, and writes the answers with --yes', () => {
    const root = makeRepo({ ...RESEARCH_SKILLS, 'src/intake.ts': code(40) });
    const request = 'Research for the client: what does src/intake.ts do?';
    const asked = deepplan(['plan', '--request', request], root);
    expect(asked.code).toBe(3);
    expect(asked.stdout).toMatch(/^The request leaves too much open to plan/);
    expect(asked.stdout).toMatch(/\[success\] What must be true when this is done\?/);
    expect(asked.stdout).toMatch(/\(recommended\)/);
    expect(existsSync(join(root, 'plans'))).toBe(false);

    const json = deepplan(['plan', '--request', request, '--json'], root);
    expect(json.code).toBe(3);
    const last = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as { type: string; questions: Array<{ id: string }> };
    expect(last.type).toBe('needs-answers');
    expect(last.questions.length).toBeLessThanOrEqual(5);

    const yes = deepplan(['plan', '--request', request, '--yes', '--out', 'plans/intake.md'], root);
    expect(yes.code).toBe(0);
    const text = readFileSync(join(root, 'plans/intake.md'), 'utf8');
    expect(text).toMatch(
      /## Clarifications\n\n- Q: What must be true when this is done\? → A: A findings page that answers the question and cites its sources\n/,
    );
    expect(lintText(text, join(root, 'plans/intake.md')).filter((finding) => finding.severity === 'error')).toEqual([]);
  });

  it('takes answers from a file by question id and number', () => {
    const root = makeRepo({ ...RESEARCH_SKILLS, 'src/intake.ts': code(40) });
    writeFileSync(
      join(root, 'answers.yaml'),
      'success: The findings page is approved by Priya\nmeasure: 1\nowner: Priya, the account lead\nlimits: 2\ndeadline: This week\n',
    );
    const result = deepplan(
      ['plan', '--request', 'Research for the client: what does src/intake.ts do?', '--answers', 'answers.yaml', '--out', 'plans/a.md'],
      root,
    );
    expect(result.code).toBe(0);
    const text = readFileSync(join(root, 'plans/a.md'), 'utf8');
    expect(text).toContain('→ A: The findings page is approved by Priya');
    expect(text).toContain('- Priya, the account lead — owner, answers when the work is blocked');
    expect(text).toContain('- Only read existing systems; write drafts and files');
  });

  it('refuses to overwrite a plan and explains bad input in one line', () => {
    const root = makeRepo({ ...RESEARCH_SKILLS, 'src/intake.ts': code(40), 'plans/a.md': 'mine' });
    const overwrite = deepplan(['plan', '--request', 'Research for the client: what does src/intake.ts do?', '--yes', '--out', 'plans/a.md'], root);
    expect(overwrite.code).toBe(2);
    expect(overwrite.stderr).toMatch(/^deepplan: plans\/a\.md exists; choose another --out or pass --force$/m);
    expect(readFileSync(join(root, 'plans/a.md'), 'utf8')).toBe('mine');
    expect(deepplan(['plan', '--request', '@missing.md'], root)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^deepplan: cannot read the request file missing\.md: no such file$/m),
    });
    expect(deepplan(['plan'], root).code).toBe(2);
  });

  it('applies the skill choices of the answers file (skills: {map, exclude}) and explains bad ones in one line', () => {
    const skills = { ...RESEARCH_SKILLS, ...skillSet([['slide-deck', 'Builds a slide deck for a meeting from a findings report.']]) };
    const root = makeRepo({ ...skills, 'src/intake.ts': code(40) });
    const request = 'Research for the client: what does src/intake.ts do?';
    const plain = deepplan(['plan', '--request', request, '--yes', '--out', 'plans/plain.md'], root);
    expect(plain.code, plain.stderr).toBe(0);
    const before = parsePlan(readFileSync(join(root, 'plans/plain.md'), 'utf8')).skills!;
    const mappedName = before.mapped!.find((skill) => skill.name !== 'findings-report')!.name;
    const excludedName = before.excluded!.find((skill) => skill.name !== 'hubspot-sync')!.name;

    writeFileSync(join(root, 'answers.yaml'), `skills:\n  map: [${excludedName}]\n  exclude: ${mappedName}\n`);
    const chosen = deepplan(['plan', '--request', request, '--yes', '--answers', 'answers.yaml', '--out', 'plans/chosen.md'], root);
    expect(chosen.stderr).not.toMatch(/\n\s+at /);
    expect(chosen.code, chosen.stderr).toBe(0);
    expect(chosen.stderr).toContain(`skill audit: ${excludedName} mapped by hand to P`);
    const text = readFileSync(join(root, 'plans/chosen.md'), 'utf8');
    const after = parsePlan(text).skills!;
    expect(after.mapped!.map((skill) => skill.name)).toContain(excludedName);
    expect(after.mapped!.map((skill) => skill.name)).not.toContain(mappedName);
    expect(after.excluded!.find((skill) => skill.name === mappedName)!.reason).toMatch(/^excluded by hand in the skill audit/);
    expect(text).not.toContain(`/${mappedName}`);
    expect(lintText(text, join(root, 'plans/chosen.md')).filter((finding) => finding.severity === 'error')).toEqual([]);

    writeFileSync(join(root, 'bad.yaml'), 'skills: [source-notes]\n');
    expect(deepplan(['plan', '--request', request, '--yes', '--answers', 'bad.yaml'], root)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^deepplan: bad\.yaml: skills must be a mapping like \{map: \[name\], exclude: \[name\]\}$/m),
    });
    writeFileSync(join(root, 'unknown.yaml'), 'skills: {map: [no-such-skill]}\n');
    const unknown = deepplan(['plan', '--request', request, '--yes', '--answers', 'unknown.yaml', '--out', 'plans/unknown.md'], root);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^deepplan: the skill audit cannot be completed: no-such-skill is not an installed skill/m);
    expect(existsSync(join(root, 'plans/unknown.md'))).toBe(false);
    writeFileSync(join(root, 'few.yaml'), `skills: {exclude: [${before.mapped!.map((skill) => skill.name).join(', ')}]}\n`);
    const few = deepplan(['plan', '--request', request, '--yes', '--answers', 'few.yaml', '--out', 'plans/few.md'], root);
    expect(few.code).toBe(1);
    expect(few.stderr).toMatch(/skill\(s\) mapped; at least 3 must be/);
  });

  it('stops with a clear error instead of writing a plan whose skill audit cannot be completed', () => {
    const root = makeRepo({ 'src/intake.ts': code(40) });
    const result = deepplan(['plan', '--request', 'Research for the client: what does src/intake.ts do?', '--yes', '--out', 'plans/a.md'], root);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/deepplan: the skill audit cannot be completed: 0 skill\(s\) fit the phases; at least 3 must be mapped/);
    expect(existsSync(join(root, 'plans/a.md'))).toBe(false);
  });
});

describe('the offline templates', () => {
  const EXAMPLE_SKILLS = Object.fromEntries(
    readdirSync(join(PROJECT_ROOT, 'examples/.claude/skills')).map((name) => [
      `.claude/skills/${name}/SKILL.md`,
      readFileSync(join(PROJECT_ROOT, 'examples/.claude/skills', name, 'SKILL.md'), 'utf8'),
    ]),
  );
  const CONTENT_SKILLS = skillSet([
    ['outline-writer', 'Outlines a piece from its brief, with the headline, the sections and the fact each rests on.'],
    ['fact-check', 'Checks every claim of a draft against its source and lists the ones without one.'],
    ['publish-post', 'Publishes a finished piece to the blog and records where it went.'],
    ['backup-export', 'Exports a database to an archive.'],
    ['cron-schedule', 'Writes a cron entry.'],
  ]);

  const INFRA_SKILLS = skillSet([
    ['change-log', 'Makes a change in small steps that keep the system working and logs each one.'],
    ['verify-checks', 'Runs the checks that prove a change works, the rollback included.'],
    ['runbook-writer', 'Writes a runbook, how it runs, how to check it and how to roll it back.'],
    ['newsletter-builder', 'Builds a newsletter issue.'],
    ['hubspot-sync', 'Deprecated, syncs contacts from HubSpot.'],
  ]);

  it.each([
    [
      'outreach',
      EXAMPLE_SKILLS,
      'Run an outreach for Mod Op: one email per person on the buying committee. Drafts only; nothing is sent. Michael, the CEO, approves.',
    ],
    [
      'content',
      CONTENT_SKILLS,
      'Write a blog post about the launch for customers. Success is a published post. No claims without a source. Sam, the marketing lead, approves.',
    ],
    [
      'infrastructure',
      INFRA_SKILLS,
      'Back up the CRM database nightly from the replica. Success is a proven restore. Never touch the primary. Dana, the operations lead, approves.',
    ],
  ] as const)('plans a %s request from its template, lint-clean', (template, skills, request) => {
    const root = makeRepo({ ...skills });
    const result = deepplan(['plan', '--request', request, '--out', 'plans/p.md'], root);
    expect(result.stderr).toMatch(new RegExp(`generation\\s+\\d+ phases from the ${template} template`));
    expect(result.code).toBe(0);
    const text = readFileSync(join(root, 'plans/p.md'), 'utf8');
    expect(lintText(text, join(root, 'plans/p.md')).filter((finding) => finding.severity === 'error')).toEqual([]);
    expect(parsePlan(text).skills!.mapped!.length).toBeGreaterThanOrEqual(3);
  });
});

describe('context gathering', () => {
  it('carries relevant running learnings of earlier plans in and names the relevant project documents', () => {
    const old = (id: string, learning: string) =>
      edits(SMALL_PLAN, [
        ['id: weekly-summary', `id: ${id}`],
        ['## Running learnings\n', `## Running learnings\n\n- ${learning}\n`],
      ]);
    const root = makeRepo({
      ...RESEARCH_SKILLS,
      'src/intake.ts': code(40),
      'deepplan.config.yaml': 'context:\n  paths: [docs/**/*.md]\n',
      'docs/intake-design.md': '# Intake design\n\nThe intake module validates client deal forms before routing.\n',
      'docs/holiday-rota.md': '# Holiday rota\n\nWho is off in December.\n',
      'plans/old-intake.md': old('old-intake', 'The intake module logs client deal forms twice; read the second log only.'),
      'plans/old-newsletter.md': old('old-newsletter', 'Newsletter images must be under 200 KB.'),
    });
    const request =
      'Research for the client deal review: what does src/intake.ts do with deal forms? Success is one findings page. Read-only. Priya, the account lead, approves.';
    const result = deepplan(['plan', '--request', request, '--out', 'plans/new.md'], root);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/relevant document: docs\/intake-design\.md/);
    expect(result.stderr).not.toMatch(/holiday-rota/);
    const plan = parsePlan(readFileSync(join(root, 'plans/new.md'), 'utf8'));
    expect(plan.learnings!.map((entry) => entry.text)).toEqual([
      'The intake module logs client deal forms twice; read the second log only. (from plans/old-intake.md)',
    ]);
  });
});
