/**
 * The acceptance corpus: single-defect plans made from four valid base plans of different workloads, each in its
 * own repository (test/corpus/). Every base lints with no error and the offline review approves it; every defect is
 * blocked by lint (an error of the rule named for it) and the offline review answers REVISE.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { ModelRunner } from '../src/models/runner.js';
import { reviewPlan } from '../src/review/review.js';
import type { Finding } from '../src/rules/rule.js';
import { BASES, type Base } from './corpus/bases.js';
import { DEFECTS, type Defect } from './corpus/defects.js';
import { makeRepo } from './support/fixtures.js';

const repos: string[] = [];
afterAll(() => {
  for (const root of repos) rmSync(root, { recursive: true, force: true });
});

function baseOf(name: string): Base {
  const base = BASES.find((candidate) => candidate.name === name);
  if (!base) throw new Error(`no base plan ${name}`);
  return base;
}

function repoWith(base: Base, plan: string, remove: string[] = []): string {
  const files = Object.fromEntries(Object.entries(base.files).filter(([path]) => !remove.includes(path)));
  const root = makeRepo({ ...files, [`plans/${base.name}.md`]: plan });
  repos.push(root);
  return root;
}

function lintIn(base: Base, plan: string, remove: string[] = []): Finding[] {
  const root = repoWith(base, plan, remove);
  return lintText(plan, join(root, 'plans', `${base.name}.md`));
}

/** The offline review's verdict on a plan in its repository (no key: the rules and the offline reviewer). */
async function offlineVerdict(base: Base, plan: string, remove: string[] = []): Promise<string> {
  const root = repoWith(base, plan, remove);
  const models = new ModelRunner({ config: {}, root: null, env: {}, notice: () => {} });
  const round = await reviewPlan(join(root, 'plans', `${base.name}.md`), root, models, { round: 1, previous: null });
  return round.verdict;
}

function applyDefect(base: Base, defect: Defect): string {
  let plan = base.plan;
  for (const [from, to] of defect.edits) {
    const first = plan.indexOf(from);
    if (first === -1 || plan.indexOf(from, first + 1) !== -1)
      throw new Error(`${defect.base}/${defect.id}: "${from.slice(0, 60)}" is not in the base exactly once`);
    plan = plan.slice(0, first) + to + plan.slice(first + from.length);
  }
  return plan;
}

const show = (findings: Finding[]) =>
  findings.map((finding) => `${finding.line}: ${finding.severity} ${finding.message} [${finding.ruleId}]`).join('\n') || '(none)';

describe('the corpus', () => {
  it('has at least 60 defects over at least 4 bases, every class at least 4 times, no two alike', () => {
    expect(DEFECTS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(DEFECTS.map((defect) => defect.base)).size).toBeGreaterThanOrEqual(4);
    const perClass = new Map<string, number>();
    for (const defect of DEFECTS) perClass.set(defect.class, (perClass.get(defect.class) ?? 0) + 1);
    for (const cls of ['irreversible', 'done-when', 'data-flow', 'facts', 'placeholder', 'refusal'])
      expect(perClass.get(cls) ?? 0, cls).toBeGreaterThanOrEqual(4);
    expect(new Set(DEFECTS.map((defect) => `${defect.base}/${defect.id}`)).size).toBe(DEFECTS.length);
    const changes = DEFECTS.map((defect) => JSON.stringify([defect.base, defect.edits, defect.remove ?? []]));
    expect(new Set(changes).size).toBe(DEFECTS.length);
  });
});

describe.each(BASES.map((base) => [base.name, base] as const))('base plan %s', (_name, base) => {
  it('lints with no error', () => {
    const findings = lintIn(base, base.plan);
    expect(
      findings.filter((finding) => finding.severity === 'error'),
      show(findings),
    ).toEqual([]);
  });

  it('is APPROVED by the offline review', async () => {
    expect(await offlineVerdict(base, base.plan)).toBe('APPROVED');
  });
});

describe.each(DEFECTS.map((defect) => [`${defect.base}/${defect.id}: ${defect.what}`, defect] as const))('%s', (_name, defect) => {
  it(`is blocked by an error of ${defect.rule}`, () => {
    const base = baseOf(defect.base);
    const findings = lintIn(base, applyDefect(base, defect), defect.remove);
    const errors = findings.filter((finding) => finding.severity === 'error');
    expect(
      errors.some((finding) => finding.ruleId === defect.rule),
      show(findings),
    ).toBe(true);
  });

  it('is answered REVISE by the offline review', async () => {
    const base = baseOf(defect.base);
    expect(await offlineVerdict(base, applyDefect(base, defect), defect.remove)).toBe('REVISE');
  });
});
