import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { parsePlan } from '../src/plan/parse.js';
import { createRuleContext } from '../src/rules/context.js';
import { MAX_PHASES } from '../src/rules/phase-count.js';
import { countFileOperations, FILE_OPS_WARN } from '../src/rules/phase-file-ops.js';
import {
  ACCOUNTS_50,
  ACCOUNTS_50_REQUEST,
  ARTICLES_200,
  ARTICLES_200_REQUEST,
  buildScaleRepo,
  CONTACTS_30,
  CONTACTS_30_REQUEST,
  findingsOf,
  planAndRun,
  removeScaleRepos,
  scaleCli,
} from './support/scale-repos.js';

/**
 * Entity scale end to end: repositories of 30, 50 and 200 entities of three different workloads
 * (test/support/scale-repos.ts), each with tool skills whose shell scripts write the outputs, planned offline with
 * `deepplan plan --yes` and run with `deepplan run --loop` in the command sandbox. Every phase must pass pre-flight
 * once the run has written its outputs, the budget must cover the whole run, and the plan must lint clean before
 * and after. The 200-entity series is planned here; test/long/scale-200.test.ts runs it (npm run test:long).
 */

afterAll(removeScaleRepos);

describe('plans at scale run to the end within their file limits and budget', () => {
  it('a 30-contact outreach for Brightline: grouped per contact within 25 phases', async () => {
    const root = buildScaleRepo(CONTACTS_30);
    const result = await planAndRun(root, CONTACTS_30_REQUEST, 'plans/brightline.md');
    // The owner's gate on the first phase, and no other stop.
    expect(result.gates).toEqual(['P1']);
    expect(result.phases).toBeGreaterThanOrEqual(15);
    expect(result.phases).toBeLessThanOrEqual(25);
  }, 60_000);

  it('50 accounts to enrich: one plan, grouped within 25 phases of at most 10 files, budget from its actions', async () => {
    const root = buildScaleRepo(ACCOUNTS_50);
    const result = await planAndRun(root, ACCOUNTS_50_REQUEST, 'plans/enrich.md');
    expect(result.gates).toEqual(['P1']);
    expect(result.phases).toBeLessThanOrEqual(25);
  }, 60_000);

  it('200 article briefs: more than one plan holds, so the planner advises a series, and each part plans clean', async () => {
    const root = buildScaleRepo(ARTICLES_200);
    const request = ARTICLES_200_REQUEST;
    const whole = await scaleCli(root, ['plan', '--request', request, '--yes', '--no-review', '--out', 'plans/articles.md']);
    expect(whole.code).toBe(1);
    const advice = whole.stderr.trim().split('\n').pop()!;
    expect(advice).toMatch(
      /200 article\(s\) in content\/briefs\/\*(?:\.yaml)?: more than one plan holds \(25 phases, each touching at most 10 files\); plan them as a series of (\d+) plans of at most (\d+)/,
    );
    expect(whole.stderr).not.toMatch(/touches \d+ files/);
    const parts = Number(/series of (\d+) plans/.exec(advice)![1]);
    expect(parts).toBeGreaterThan(1);
    // The fewest parts that fit: a per-article phase touches two files an article (its input and its output), and
    // a part holds the three stages' phases plus the one fixed phase of the first part (the scope) or of the last
    // (the calendar); the parts in between have none.
    const perPhase = Math.floor(FILE_OPS_WARN / 2);
    const fits = (n: number) => 3 * Math.ceil(Math.ceil(200 / n) / perPhase) + 1 <= MAX_PHASES;
    expect(parts).toBe(Array.from({ length: 200 }, (_, index) => index + 1).find(fits));
    // Each part: lint clean, every phase within 10 files, its slice of the articles and nothing else.
    const covered: string[] = [];
    for (let part = 1; part <= parts; part++) {
      const out = `plans/articles-${part}.md`;
      const planned = await scaleCli(root, ['plan', '--request', `${request} (part ${part} of ${parts})`, '--yes', '--no-review', '--out', out]);
      expect(planned.code, planned.stderr).toBe(0);
      const text = readFileSync(join(root, out), 'utf8');
      expect(findingsOf(text, join(root, out))).toEqual([]);
      const plan = parsePlan(text);
      expect(plan.phases.length).toBeLessThanOrEqual(25);
      const context = createRuleContext(root, loadConfig(root));
      for (const phase of plan.phases) expect(countFileOperations(phase, context, plan.phases)).toBeLessThanOrEqual(FILE_OPS_WARN);
      const articles = plan.phases.flatMap((phase) => phase.outputs).filter((output) => output.startsWith('articles/'));
      covered.push(...articles);
      // The request's own measure is checked in every part: on the part's own articles before the last part (a
      // count of all 200 could not pass until the last part has run), on all of them in the last.
      const measure = plan.criteria!.find((criterion) => criterion.text.includes("the request's own measure"));
      expect(measure?.verify, `part ${part}`).toBeTruthy();
      if (part < parts) {
        expect(
          plan.criteria!.filter((criterion) => /\b200\b/.test(criterion.verify ?? '')),
          `part ${part}`,
        ).toEqual([]);
        expect(measure!.verify!.match(/articles\/[\w-]+\.md/g)).toEqual(articles);
      } else {
        expect(measure!.verify).toMatch(/ls articles\/\*\.md \| wc -l\)" -eq 200/);
      }
      // The owner's scope comes first in part 1, the calendar last in part 2.
      expect(plan.phases.some((phase) => phase.title === 'Confirm the editorial scope')).toBe(part === 1);
      expect(plan.phases.some((phase) => phase.title === 'Schedule the articles')).toBe(part === parts);
    }
    expect(new Set(covered).size).toBe(200);
  }, 60_000);
});
