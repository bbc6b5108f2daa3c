import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePlan } from '../src/plan/parse.js';
import { locateQuote, verdictOf, verifyFindings } from '../src/review/findings.js';
import { FakeProviders } from './support/fake-providers.js';
import { CLI, edit, makeRepo, runCli, SMALL_PLAN, SMALL_PLAN_SKILLS } from './support/fixtures.js';

function deepplan(args: string[], cwd: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/_API_KEY$|_BASE_URL$|^DEEPPLAN_/.test(name)));
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...env, NO_COLOR: '1' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const DRIFT = edit(SMALL_PLAN, '1. /publish-page out/summary.md\n2. run:', '1. Publish the page by hand.\n2. run:');

describe('quotes and verdicts', () => {
  it('finds a quote with whitespace folded, on its line, and refuses short quotes', () => {
    const text = 'first line\nthe quick brown fox\n   jumps over   the lazy dog\n';
    expect(locateQuote(text, 'quick brown fox jumps over the lazy')).toBe(2);
    expect(locateQuote(text, 'jumps over the lazy dog')).toBe(3);
    expect(locateQuote(text, 'the quick brown cat jumps')).toBeNull();
    expect(locateQuote(text, 'lazy dog')).toBeNull();
  });

  it('is REVISE only while a verified critical or high finding remains', () => {
    const base = { line: 1, section: 'P1', issue: 'x', fix: 'y' };
    const text = 'a line that is long enough to quote\n';
    expect(verdictOf(verifyFindings(text, [{ ...base, severity: 'high', quote: 'a line that is long enough' }]))).toBe('REVISE');
    expect(verdictOf(verifyFindings(text, [{ ...base, severity: 'high', quote: 'a quote that is nowhere in it' }]))).toBe('APPROVED');
    expect(verdictOf(verifyFindings(text, [{ ...base, severity: 'medium', quote: 'a line that is long enough' }]))).toBe('APPROVED');
  });
});

describe('deepplan review, offline', () => {
  it('gives REVISE, exit 1 and a numbered report naming the drifting phase with a verified quote', () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': DRIFT });
    const result = deepplan(['review', 'plans/p.md'], root);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^plans\/p\.md: review round 1 by offline\/rules: REVISE \(0 critical, 1 high/);
    const report = JSON.parse(readFileSync(join(root, 'reviews/weekly-summary/round-1.json'), 'utf8')) as {
      verdict: string;
      findings: Array<{ number: number; severity: string; section: string; quote: string; verified: boolean; issue: string }>;
    };
    expect(report.verdict).toBe('REVISE');
    const drift = report.findings.find((finding) => finding.issue.includes('(skill-drift)'))!;
    expect(drift).toMatchObject({ severity: 'high', section: 'P3', quote: '### P3. Publish the page', verified: true });
    expect(report.findings.map((finding) => finding.number)).toEqual(report.findings.map((_, index) => index + 1));
    const md = readFileSync(join(root, 'reviews/weekly-summary/round-1.md'), 'utf8');
    expect(md).toMatch(/^# Review of plans\/p\.md, round 1: REVISE/);
    expect(md).toMatch(
      new RegExp(`${drift.number}\\. \\*\\*high\\*\\*, P3, \\[line \\d+\\]\\(\\.\\./\\.\\./plans/p\\.md#L\\d+\\)\\n   > ### P3\\. Publish the page`),
    );
    const plan = parsePlan(readFileSync(join(root, 'plans/p.md'), 'utf8'));
    expect(plan.meta.review).toEqual({ verdict: 'REVISE', rounds: 1, reviewer: 'offline/rules', report: 'reviews/weekly-summary/round-1.md' });
    expect(plan.meta.status).toBe('in_review');
    // After the findings, the plan's phases as a Mermaid flowchart that GitHub renders.
    expect(md).toMatch(/\n## Findings\n[\s\S]*\n## Phases\n\n```mermaid\nflowchart TD\n[\s\S]*\n```\n$/);
    expect(md).toContain('    P3{{"P3. Publish the page<br/>human gate"}}');
    expect(md).toContain('    P1 --> P2\n    P2 --> P3\n');
  });

  it('prints the graph in the --format md report, the same as the report file has', () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': DRIFT });
    const result = deepplan(['review', 'plans/p.md', '--format', 'md'], root);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^# Review of plans\/p\.md, round 1: REVISE/);
    const graph = /\n## Phases\n\n(```mermaid\n[\s\S]*\n```\n)$/.exec(result.stdout)?.[1];
    expect(graph).toBeDefined();
    expect(readFileSync(join(root, 'reviews/weekly-summary/round-1.md'), 'utf8').endsWith(graph!)).toBe(true);
    expect(graph).toContain('    class P1,P2,P3 pending');
  });

  it('gives APPROVED and exit 0 for a clean plan, and counts rounds', () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': SMALL_PLAN });
    const first = deepplan(['review', 'plans/p.md', '--format', 'json'], root);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).verdict).toBe('APPROVED');
    expect(deepplan(['review', 'plans/p.md'], root).stdout).toMatch(/review round 2 by offline\/rules: APPROVED/);
    expect(deepplan(['review', 'plans/p.md'], root).code).toBe(0);
    const fourth = deepplan(['review', 'plans/p.md'], root);
    expect(fourth.code).toBe(1);
    expect(fourth.stderr).toMatch(/has had 3 review rounds/);
  });
});

describe('deepplan review with a reviewer model', () => {
  let fake: FakeProviders;
  beforeEach(async () => {
    fake = await new FakeProviders().start();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('marks findings whose quote is not in the plan unverified, and they do not flip the verdict', async () => {
    fake.queue('openai-responses', {
      kind: 'answer',
      object: {
        verdict: 'REVISE',
        findings: [
          { severity: 'critical', line: 40, section: 'P2', quote: 'Send every summary to all customers at once', issue: 'Sends to customers.', fix: 'Do not.' },
          {
            severity: 'low',
            line: 60,
            section: 'P2',
            quote: '1. /write-summary notes/week.md --out out/summary.md',
            issue: 'No style guide named.',
            fix: 'Name it.',
          },
        ],
      },
    });
    const root = makeRepo({
      ...SMALL_PLAN_SKILLS,
      'plans/p.md': SMALL_PLAN,
      'deepplan.config.yaml': 'models:\n  planner: anthropic/claude-test\n  reviewer: openai/gpt-test\nlimits:\n  retry_base_ms: 5\n',
    });
    const result = await runCli(['review', 'plans/p.md', '--format', 'json'], root, fake.env({ openai: 'sk-openai-test-0123456789' }));
    expect(fake.count('openai-responses')).toBe(1);
    expect(fake.requests[0]!.structured).toBe(true);
    expect(JSON.stringify(fake.requests[0]!.body)).toContain('### P3. Publish the page');
    const report = JSON.parse(result.stdout) as { verdict: string; modelVerdict: string; findings: Array<{ verified: boolean; line: number }> };
    expect(report.findings.map((finding) => finding.verified)).toEqual([false, true]);
    expect(report.verdict).toBe('APPROVED');
    expect(report.modelVerdict).toBe('REVISE');
    expect(result.code).toBe(0);
    // The verified quote's line is where it really is, in the file as written after the round (with its review block).
    const written = readFileSync(join(root, 'plans/p.md'), 'utf8');
    expect(written).toContain('review:');
    expect(report.findings[1]!.line).toBe(written.split('\n').indexOf('1. /write-summary notes/week.md --out out/summary.md') + 1);
  });
});

describe('review rounds with the planner revising', () => {
  let fake: FakeProviders;
  beforeEach(async () => {
    fake = await new FakeProviders().start();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('after three REVISE rounds the plan is in_review, exit 1, with the open findings; only revised passages changed', async () => {
    fake.always('openai-responses', {
      kind: 'answer',
      object: {
        verdict: 'REVISE',
        findings: [
          {
            severity: 'high',
            line: 0,
            section: 'P2',
            quote: '### P2. Write the summary',
            issue: 'The summary has no length limit.',
            fix: 'Say how long it may be.',
          },
        ],
      },
    });
    fake.queue(
      'anthropic',
      {
        kind: 'answer',
        object: {
          edits: [
            {
              finding: 1,
              find: "Summarise this week's account notes into one page for the team.",
              replace: "Summarise this week's account notes into one page for the sales team.",
            },
          ],
        },
      },
      {
        kind: 'answer',
        object: {
          edits: [
            { finding: 1, find: "- Only this week's notes.", replace: "- Only this week's notes, at most 300 words." },
            { finding: 1, find: 'a passage that is not in the plan at all', replace: 'x' },
          ],
        },
      },
    );
    const root = makeRepo({
      ...SMALL_PLAN_SKILLS,
      'plans/p.md': SMALL_PLAN,
      'deepplan.config.yaml': 'models:\n  planner: anthropic/claude-test\n  reviewer: openai/gpt-test\nlimits:\n  retry_base_ms: 5\n',
    });
    const result = await runCli(['review', 'plans/p.md'], root, fake.env({ openai: 'sk-openai-test-0123456789', anthropic: 'sk-ant-test-0123456789' }));
    expect(result.code).toBe(1);
    expect(fake.count('openai-responses')).toBe(3);
    expect(fake.count('anthropic')).toBe(2);
    expect(result.stderr).toMatch(/round 1: REVISE/);
    expect(result.stderr).toMatch(/planner revised for finding\(s\) #1:\n.*\n.*\n/);
    expect(result.stderr).toMatch(/^\+Summarise this week's account notes into one page for the sales team\.$/m);
    expect(result.stderr).toMatch(/planner: finding 1: the passage to replace is not in the plan exactly once/);
    expect(result.stderr).toMatch(
      /3 rounds and still REVISE; the plan stays in_review\. Open findings:\n  #1 high P2 line \d+: The summary has no length limit\./,
    );
    const after = readFileSync(join(root, 'plans/p.md'), 'utf8');
    const plan = parsePlan(after);
    expect(plan.meta.status).toBe('in_review');
    expect(plan.meta.review).toMatchObject({ verdict: 'REVISE', rounds: 3, reviewer: 'openai/gpt-test' });
    // Outside the front matter, only the two revised lines differ from the original.
    const body = (text: string) => text.slice(text.indexOf('\n---\n', 4)).split('\n');
    const changed = body(after).filter((line, index) => line !== body(SMALL_PLAN)[index]);
    expect(changed).toEqual(["Summarise this week's account notes into one page for the sales team.", "- Only this week's notes, at most 300 words."]);
    expect(readFileSync(join(root, 'reviews/weekly-summary/round-3.md'), 'utf8')).toMatch(/Nothing from round 2 was resolved\./);
  });
});

describe('reviewing other documents', () => {
  it('detects an outreach email and reviews it with its own prompt, writing reports only', async () => {
    const fake = await new FakeProviders().start();
    try {
      fake.queue('openai-responses', {
        kind: 'answer',
        object: {
          verdict: 'REVISE',
          findings: [
            {
              severity: 'high',
              line: 3,
              section: 'body',
              quote: 'We help companies like yours do more',
              issue: 'Generic: could go to anyone.',
              fix: 'Name the delivery gap from the briefing.',
            },
          ],
        },
      });
      const email = 'Subject: A quick idea for Mod Op\nTo: derick@example.invalid\n\nHi Derick,\nWe help companies like yours do more with less.\n';
      const root = makeRepo({ 'drafts/derick.md': email, 'deepplan.config.yaml': 'models:\n  reviewer: openai/gpt-test\nlimits:\n  retry_base_ms: 5\n' });
      const result = await runCli(['review', 'drafts/derick.md', '--format', 'json'], root, fake.env({ openai: 'sk-openai-test-0123456789' }));
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as { documentType: string; verdict: string; findings: Array<{ verified: boolean; line: number }> };
      expect(report).toMatchObject({ documentType: 'outreach email', verdict: 'REVISE' });
      expect(report.findings[0]).toMatchObject({ verified: true, line: 5 });
      expect(JSON.stringify(fake.requests[0]!.body)).toContain('an outreach email a person will send');
      expect(readFileSync(join(root, 'drafts/derick.md'), 'utf8')).toBe(email);
      expect(readFileSync(join(root, 'reviews/drafts-derick/round-1.json'), 'utf8')).toContain('"documentType": "outreach email"');
      // An email has no phases: no flowchart in its report.
      expect(readFileSync(join(root, 'reviews/drafts-derick/round-1.md'), 'utf8')).not.toContain('```mermaid');
    } finally {
      await fake.close();
    }
  });
});
