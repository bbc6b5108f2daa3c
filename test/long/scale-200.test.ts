import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/plan/parse.js';
import { ARTICLES_200, ARTICLES_200_REQUEST, buildScaleRepo, planAndRun, removeScaleRepos, scaleCli, type RunFigures } from '../support/scale-repos.js';

/**
 * The 200-entity series run end to end (a long test: npm run test:long). The planner refuses one plan for 200
 * article briefs and advises a series; every part is planned offline, approved and run with `run --loop` to
 * TASK_COMPLETE, one after another in the same repository (as many parts as the advice says), approving each human gate the run stops at. Each part
 * passes pre-flight at every phase once its outputs exist, logs no failed or blocked row, stays within its budget
 * without spending it before its last phase, keeps every phase within the file limit, and lints clean before and
 * after; together the parts write every article, check and link report once.
 */

afterAll(removeScaleRepos);

describe('200 article briefs, planned as a series and run part after part', () => {
  it('every part runs to TASK_COMPLETE within its budget and file limits, and the series covers all 200', async () => {
    const started = Date.now();
    const root = buildScaleRepo(ARTICLES_200);
    const whole = await scaleCli(root, ['plan', '--request', ARTICLES_200_REQUEST, '--yes', '--no-review', '--out', 'plans/articles.md']);
    expect(whole.code).toBe(1);
    const advice = /plan them as a series of (\d+) plans of at most (\d+)/.exec(whole.stderr);
    expect(advice, whole.stderr).not.toBeNull();
    const parts = Number(advice![1]);
    const most = Number(advice![2]);
    expect(parts).toBeGreaterThan(1);
    expect(parts * most).toBeGreaterThanOrEqual(200);

    const figures: Array<RunFigures & { part: number; articles: number }> = [];
    const written = new Set<string>();
    for (let part = 1; part <= parts; part++) {
      const out = `plans/articles-${part}.md`;
      const result = await planAndRun(root, `${ARTICLES_200_REQUEST} (part ${part} of ${parts})`, out);
      const plan = parsePlan(readFileSync(join(root, out), 'utf8'));
      expect(result.phases).toBeLessThanOrEqual(25);
      // The editor approves the scope before the first article is written.
      if (part === 1) expect(result.gates[0]).toBe('P1');
      const articles = plan.phases.flatMap((phase) => phase.outputs).filter((output) => output.startsWith('articles/'));
      // No part writes an article another part wrote.
      for (const article of articles) {
        expect(written.has(article), `${article} again in part ${part}`).toBe(false);
        written.add(article);
      }
      expect(articles.length).toBeGreaterThan(0);
      expect(articles.length).toBeLessThanOrEqual(most);
      figures.push({ ...result, part, articles: articles.length });
    }

    // The series wrote every article, its keyword check and its link report, and the calendar, each once.
    expect(written.size).toBe(200);
    for (const [folder, ext] of [
      ['articles', 'md'],
      ['seo', 'txt'],
      ['links', 'txt'],
    ] as const) {
      expect(
        readdirSync(join(root, folder)).filter((name) => name.endsWith(`.${ext}`)),
        folder,
      ).toHaveLength(200);
    }
    expect(existsSync(join(root, 'calendar/plan.md'))).toBe(true);

    const lines = figures.map(
      (f) =>
        `part ${f.part}: ${f.phases} phases, ${f.articles} articles, ${f.rows} of ${f.budget} iterations (${f.beforeLast} before the last phase), gates ${f.gates.join(', ') || 'none'}, ${(f.ms / 1000).toFixed(1)} s`,
    );
    process.stdout.write(`\n200 articles as a series of ${parts}, ${((Date.now() - started) / 1000).toFixed(1)} s in all:\n${lines.join('\n')}\n`);
  }, 900_000);
});
