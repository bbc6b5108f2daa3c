import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePlan } from '../src/plan/parse.js';
import { lockPlan } from '../src/plan/store.js';
import { locateQuote, normalizeQuote, relocateFindings, resolvedSince, SEVERITY_RANK, verifyFindings, type ReviewFinding } from '../src/review/findings.js';
import { groupByRootCause, offlineReview, quoteLine } from '../src/review/offline.js';
import { markdownReport } from '../src/review/report.js';
import { contentDigest, detectDocumentType, REVIEW_FORMAT, reviewPlan } from '../src/review/review.js';
import type { ModelRunner } from '../src/models/runner.js';
import { ScriptedModel, scriptedRunner } from '../src/models/scripted.js';
import { FakeProviders } from './support/fake-providers.js';
import { edit, makeRepo, runCli, skillSet, SMALL_PLAN, SMALL_PLAN_SKILLS } from './support/fixtures.js';
import { edits } from './support/plan-text.js';

interface JsonFinding {
  number: number;
  severity: 'critical' | 'high' | 'medium' | 'low';
  line: number;
  section: string;
  quote: string;
  issue: string;
  fix: string;
  verified: boolean;
  rule?: string;
  consequences?: Array<{ line: number; issue: string }>;
}
interface JsonRound {
  verdict: string;
  round: number;
  cycle: number;
  documentType: string;
  resolved: number[];
  findings: JsonFinding[];
}

const review = (root: string, plan = 'plans/p.md', env: Record<string, string> = {}) => runCli(['review', plan, '--format', 'json'], root, env);
const readJson = (root: string, path: string) => JSON.parse(readFileSync(join(root, path), 'utf8')) as JsonRound;

/** The small plan with its publishing skill step replaced (skill drift), a vague step and a criterion without measure. */
const FLAWED = edit(
  edit(
    edit(SMALL_PLAN, '1. /publish-page out/summary.md\n2. run:', '1. Publish the page by hand.\n2. run:'),
    '1. /fetch-notes --week current --out notes/week.md',
    '1. /fetch-notes --week current --out notes/week.md\n2. Tidy the notes as appropriate.',
  ),
  '- [ ] SC3: The page is published. verify: `test -s out/published.txt`',
  '- [ ] SC3: The page is published and looks good to the team.',
);

/**
 * An account-enrichment plan at volume: one phase per account (`count` of them), each writing its enrichment file,
 * with `write` as its scope.
 */
function enrichmentPlan(count: number, write: string): string {
  const accounts = Array.from({ length: count }, (_, index) => `account-${String(index + 1).padStart(3, '0')}`);
  const phases = accounts.map((account, index) =>
    [
      `### P${index + 1}. Enrich ${account}`,
      `- Inputs: crm/accounts/${account}.yaml`,
      `- Outputs: enrichment/${account}.json`,
      '- Context: direct',
      `- Depends on: ${index === 0 ? 'none' : `P${index}`}`,
      `- Done when: the record exists. verify: \`test -s enrichment/${account}.json\``,
      '- Status: pending',
      '',
      `1. /enrich-account crm/accounts/${account}.yaml --out enrichment/${account}.json`,
      ...(index === 0 ? ['2. /crm-read crm/accounts', '3. /dedupe-accounts crm/accounts'] : []),
      '',
    ].join('\n'),
  );
  return `---
deepplan: 1
id: account-enrichment
title: Enrich the named accounts
status: draft
created: 2026-11-20
workstream: consulting
deliverable: research
quality_bar: structural
budget:
  max_iterations: ${Math.ceil((2 * count + 1 + 5) * 1.15) + 5}
  basis: formula
scope:
  write: ${write}
state:
  phase: P1
  iteration: 0
  revision: 0
  next_action: Enrich the first account
  blockers: []
---

# Enrich the named accounts

## Request

Enrich each named account with its firmographics.

## Success criteria

- [ ] SC1: One enrichment record per account. verify: \`test "$(ls enrichment/*.json | wc -l)" -eq ${count}\`

## Constraints

- Public sources only.

## Stakeholders

- Priya — revenue operations, owns the CRM

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |
| enrich-account | ${accounts.map((_, index) => `P${index + 1}`).join(', ')} | Firmographics from public sources |
| crm-read | P1 | Reads the records |
| dedupe-accounts | P1 | Keeps one record per account |

### Excluded

| Skill | Reason |
| --- | --- |
| hubspot-sync | HubSpot is deprecated |
| newsletter-builder | Not a newsletter |

## Phases

${phases.join('\n')}
## Running learnings

## Iteration log

| # | When | Phase | Action | Result | Signal | Notes |
| --- | --- | --- | --- | --- | --- | --- |
`;
}

const ENRICH_SKILLS = skillSet([
  ['enrich-account', 'Enriches one account record with firmographics.'],
  ['crm-read', 'Reads CRM account records.'],
  ['dedupe-accounts', 'Finds duplicate account records.'],
  ['hubspot-sync', 'Deprecated, syncs contacts from HubSpot.'],
  ['newsletter-builder', 'Builds a newsletter issue.'],
]);

describe('quotes', () => {
  const document =
    'Intro line\n- Done when: Verify the draft exists\\. verify: `test -s drafts/a.md`\n- Status: pending\nthe quick brown fox\n   jumps   over the lazy dog\n- Status: pending\n';

  it('ignores case, whitespace and Markdown escapes', () => {
    expect(locateQuote(document, 'done when: verify the draft exists.')).toBe(2);
    expect(locateQuote(document, 'DONE WHEN:   Verify the draft exists\\.')).toBe(2);
    expect(locateQuote(document, 'The quick brown FOX jumps over the lazy dog')).toBe(4);
    expect(locateQuote(document, 'the quick brown cat jumps over')).toBeNull();
    expect(normalizeQuote('A\\_b  \\*c\\*')).toBe('a_b *c*');
  });

  it('reads a quote that copied the line numbers the model was shown without them', () => {
    const [finding] = verifyFindings(document, [
      { severity: 'high', line: 2, section: 'P1', quote: '   2  - Done when: Verify the draft exists\\.', issue: 'x', fix: 'y' },
    ]);
    expect(finding).toMatchObject({ verified: true, line: 2 });
  });

  it('accepts a short quote only as a whole line, and picks the place nearest the line given', () => {
    expect(locateQuote(document, '- Status: pending', 6)).toBe(6);
    expect(locateQuote(document, '- status:   PENDING', 1)).toBe(3);
    expect(locateQuote(document, 'Status: pending')).toBeNull();
    expect(locateQuote(document, 'lazy dog')).toBeNull();
  });

  it('verifies a true finding that differs only in case or by an escape, and drops an invented one', () => {
    const base = { section: 'P1', issue: 'x', fix: 'y' };
    const findings = verifyFindings(document, [
      { ...base, severity: 'high', line: 9, quote: 'Done when: verify the draft exists.' },
      { ...base, severity: 'high', line: 2, quote: 'Done when: the draft was sent to the client' },
    ]);
    expect(findings.map((finding) => [finding.verified, finding.line])).toEqual([
      [true, 2],
      [false, 2],
    ]);
  });

  it('quotes whole lines: a short line is not joined with the next, a blank line gives way to the next line', () => {
    const lines = ['---', 'id: x', '', '- Context: direct', 'a longer line that follows it'];
    expect(quoteLine(lines, 4)).toEqual({ line: 4, quote: '- Context: direct' });
    expect(quoteLine(lines, 3)).toEqual({ line: 4, quote: '- Context: direct' });
    expect(quoteLine(lines, 2)).toEqual({ line: 2, quote: 'id: x' });
  });

  it('writes each line of a quote on its own line of the report', () => {
    const finding: ReviewFinding = {
      number: 1,
      severity: 'low',
      line: 4,
      section: 'P1',
      quote: '- Context: direct\n- Depends on: none',
      issue: 'i',
      fix: 'f',
      verified: true,
    };
    const md = markdownReport(
      {
        round: 1,
        cycle: 1,
        path: 'plans/p.md',
        planId: 'p',
        reviewer: 'offline/rules',
        planner: 'offline/x',
        documentType: 'plan',
        verdict: 'APPROVED',
        modelVerdict: null,
        findings: [finding],
        previousRound: null,
        resolved: [],
        warning: null,
        digest: 'd',
      },
      null,
      null,
    );
    expect(md).toContain('   > - Context: direct\n   > - Depends on: none\n');
  });
});

describe('a plan that cannot be parsed', () => {
  const broken: Array<[string, string]> = [
    ['broken YAML', edit(SMALL_PLAN, 'title: Weekly account summary', 'title: [Weekly account summary')],
    ['a tab-indented key', edit(SMALL_PLAN, 'budget:\n  max_iterations: 15', 'budget:\n\tmax_iterations: 15')],
    ['unclosed front matter', edit(SMALL_PLAN, /\n---\n\n# Weekly/, '\n\n# Weekly')],
    ['front matter that is a list', edit(SMALL_PLAN, /^---\n[\s\S]*?\n---\n/, '---\n- deepplan: 1\n- id: weekly-summary\n---\n')],
    ['no front matter, a # Plan: heading', `# Plan: weekly account summary\n\n${SMALL_PLAN.slice(SMALL_PLAN.indexOf('## Request'))}`],
  ];

  it.each(broken)('%s: reviewed as a plan, a critical parse finding, never APPROVED', async (_name, text) => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': text });
    expect(detectDocumentType('plans/p.md', text, parsePlan(text))).toBe('plan');
    const result = await review(root);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonRound;
    expect(report.documentType).toBe('plan');
    expect(report.verdict).toBe('REVISE');
    const parse = report.findings.find((finding) => finding.rule === 'parse')!;
    expect(parse).toMatchObject({ severity: 'critical', verified: true, number: 1 });
    expect(parse.issue).toMatch(/^the plan cannot be parsed: /);
    // The plan is left as it is: a review block cannot be written into front matter that does not parse.
    expect(readFileSync(join(root, 'plans/p.md'), 'utf8')).toBe(text);
  });

  it('an article stays an article', () => {
    const text = '# Why we plan\n\nA short essay on planning work for agents, with phases of its own.\n';
    expect(detectDocumentType('notes/essay.md', text, parsePlan(text))).toBe('article');
  });

  describe('with a reviewer model', () => {
    let fake: FakeProviders;
    beforeEach(async () => {
      fake = await new FakeProviders().start();
    });
    afterEach(async () => {
      await fake.close();
    });
    const config = 'models:\n  planner: anthropic/claude-test\n  reviewer: openai/gpt-test\nlimits:\n  retry_base_ms: 5\n';

    it('is not sent to the model as an article: the rules review it, REVISE', async () => {
      fake.always('openai-responses', { kind: 'answer', object: { verdict: 'APPROVED', findings: [] } });
      const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': broken[0]![1], 'deepplan.config.yaml': config });
      const result = await review(root, 'plans/p.md', fake.env({ openai: 'sk-openai-test-0123456789' }));
      expect(fake.count('openai-responses')).toBe(0);
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as JsonRound & { reviewer: string };
      expect(report).toMatchObject({ documentType: 'plan', verdict: 'REVISE', reviewer: 'offline/rules' });
      expect(result.stderr).toMatch(/cannot be parsed as a plan; it was reviewed by the rules alone and not sent to openai\/gpt-test/);
    });

    it("a plan with a lint error is REVISE even when the model approves it, with the rule's finding added", async () => {
      fake.always('openai-responses', { kind: 'answer', object: { verdict: 'APPROVED', findings: [] } });
      const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': FLAWED, 'deepplan.config.yaml': config });
      const result = await review(root, 'plans/p.md', fake.env({ openai: 'sk-openai-test-0123456789' }));
      expect(fake.count('openai-responses')).toBe(1);
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as JsonRound & { modelVerdict: string };
      expect(report).toMatchObject({ verdict: 'REVISE', modelVerdict: 'APPROVED' });
      expect(report.findings.some((finding) => finding.rule === 'skill-drift' && finding.verified)).toBe(true);
    });
  });
});

describe('one review round in process (the reviewer model scripted)', () => {
  const round = (root: string, models: ModelRunner) => reviewPlan(join(root, 'plans/p.md'), root, models, { round: 1, previous: null });

  it('sends the plan, its lines numbered, as a "review" request; the rules\' errors stand when the model approves', async () => {
    const reviewer = new ScriptedModel({ id: 'openai/scripted', answers: [{ verdict: 'APPROVED', findings: [] }] });
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': FLAWED });
    const result = await round(root, scriptedRunner(reviewer));
    expect(reviewer.requests).toHaveLength(1);
    expect(reviewer.requests[0]!.format?.name).toBe(REVIEW_FORMAT);
    expect(reviewer.lastPrompt).toContain('   1  ---\n');
    expect(result).toMatchObject({ reviewer: 'openai/scripted', verdict: 'REVISE', modelVerdict: 'APPROVED', warning: null });
    expect(result.findings.some((finding) => finding.rule === 'skill-drift' && finding.verified)).toBe(true);
  });

  it('keeps a model finding whose quote is in the plan; one whose quote is not is marked and does not count', async () => {
    const quote = '1. /fetch-notes --week current --out notes/week.md';
    const invented = '1. /fetch-notes --week last --out elsewhere.md';
    const line = SMALL_PLAN.split('\n').indexOf(quote) + 1;
    const finding = (severity: string, text: string) => ({ severity, line, section: 'P1', quote: text, issue: 'the week is not pinned', fix: 'name the week' });
    const answers = [
      { verdict: 'REVISE', findings: [finding('medium', quote), finding('critical', invented)] },
      { verdict: 'REVISE', findings: [finding('high', quote)] },
    ];
    const reviewer = new ScriptedModel({ id: 'openai/scripted', answers });
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': SMALL_PLAN });
    const first = await round(root, scriptedRunner(reviewer));
    expect(new Map(first.findings.map((found) => [found.quote, found.verified]))).toEqual(
      new Map([
        [quote, true],
        [invented, false],
      ]),
    );
    expect(first).toMatchObject({ verdict: 'APPROVED', modelVerdict: 'REVISE' });
    expect((await round(root, scriptedRunner(reviewer))).verdict).toBe('REVISE');
  });

  it('the offline engine does not review: the rules and heuristics do, and nothing is asked', async () => {
    const reviewer = new ScriptedModel({ answers: [] });
    const models = scriptedRunner(reviewer, { config: { models: { reviewer: 'offline/engine' } } });
    expect(models.answers('reviewer', REVIEW_FORMAT)).toBe(false);
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': FLAWED });
    const result = await round(root, models);
    expect(result).toMatchObject({ reviewer: 'offline/rules', verdict: 'REVISE', modelVerdict: null, warning: null });
    expect(result.findings.some((finding) => /is vague \("as appropriate"\)/.test(finding.issue))).toBe(true);
    expect(reviewer.requests).toHaveLength(0);
    expect(models.ledger.calls).toBe(0);
  });

  it('a plan that cannot be parsed is not sent to the reviewer model, and the round says so', async () => {
    const reviewer = new ScriptedModel({ id: 'openai/scripted', answers: [] });
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': edit(SMALL_PLAN, 'title: Weekly account summary', 'title: [Weekly account summary') });
    const result = await round(root, scriptedRunner(reviewer, { config: { models: { reviewer: 'openai/gpt-test' } } }));
    expect(result).toMatchObject({ reviewer: 'offline/rules', verdict: 'REVISE' });
    expect(result.warning).toMatch(/^plans\/p\.md cannot be parsed as a plan; it was reviewed by the rules alone and not sent to openai\/gpt-test$/);
    expect(reviewer.requests).toHaveLength(0);
  });
});

describe('round 1 of a plan with no review block', () => {
  it('gives every finding the line of the file as written, the quote on that line', async () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': edit(FLAWED, 'write: [notes/**, out/**]', 'write: [notes/**]') });
    const result = await runCli(['review', 'plans/p.md'], root);
    expect(result.code).toBe(1);
    const written = readFileSync(join(root, 'plans/p.md'), 'utf8');
    expect(written).toMatch(/\nreview:\n  verdict: REVISE\n  rounds: 1\n/);
    const lines = written.split('\n');
    const report = readJson(root, 'reviews/weekly-summary/round-1.json');
    expect(report.findings.length).toBeGreaterThanOrEqual(4);
    for (const finding of report.findings) {
      expect(finding.verified).toBe(true);
      expect(normalizeQuote(lines[finding.line - 1]!)).toContain(normalizeQuote(finding.quote));
      for (const consequence of finding.consequences ?? []) expect(lines[consequence.line - 1]).toBeDefined();
    }
    // The same lines in the text output and in the Markdown report.
    for (const finding of report.findings) expect(result.stdout).toContain(`line ${finding.line}: ${finding.issue}`);
    const md = readFileSync(join(root, 'reviews/weekly-summary/round-1.md'), 'utf8');
    for (const finding of report.findings)
      expect(md).toContain(`${finding.number}. **${finding.severity}**, ${finding.section}, [line ${finding.line}](../../plans/p.md#L${finding.line})`);
    // A fix that names the finding's own step or criterion by its line names the line as written, not as reviewed.
    const named = report.findings.flatMap((finding) => {
      const match = /^(?:rewrite|start|add to) \S+ \(line (\d+)\)/.exec(finding.fix);
      return match ? [[Number(match[1]), finding.line]] : [];
    });
    expect(named.length).toBeGreaterThan(0);
    for (const [line, findingLine] of named) expect(line).toBe(findingLine);
  });

  it('moves lines by what the write changed, and finds each quote again there', () => {
    const before = 'a\nb line that is long enough\nc\n';
    const after = 'a\nnew 1\nnew 2\nb line that is long enough\nc\n';
    const [moved] = relocateFindings(
      [
        {
          number: 1,
          severity: 'low',
          line: 2,
          section: 's',
          quote: 'b line that is long enough',
          issue: 'i, then c (line 3)',
          fix: 'start it (line 2) with a verb; see (line 1) and line 3',
          verified: true,
          consequences: [{ line: 3, issue: 'c (line 3)' }],
        },
      ],
      before,
      after,
    );
    // The lines named as `(line N)` move with the finding's; a line number said otherwise is left as it is.
    expect(moved).toMatchObject({
      line: 4,
      issue: 'i, then c (line 5)',
      fix: 'start it (line 4) with a verb; see (line 1) and line 3',
      consequences: [{ line: 5, issue: 'c (line 5)' }],
    });
  });
});

describe('findings', () => {
  it('take "Note what …" for an action, and "Notes on …", "Note: …" or "The …" for a thing named', () => {
    const step = '1. /fetch-notes --week current --out notes/week.md\n';
    const verbless = (text: string) =>
      offlineReview(parsePlan(edit(SMALL_PLAN, step, `${step}2. ${text}\n`)), [])
        .filter((finding) => /^P1\.2 does not start with a verb/.test(finding.issue))
        .map((finding) => finding.quote);
    expect(verbless('Note what notes/week.md says about each account, in out/summary.md.')).toEqual([]);
    expect(verbless('note which accounts notes/week.md misses, in out/summary.md.')).toEqual([]);
    expect(verbless('Notes on the week for out/summary.md.')).toEqual(['2. Notes on the week for out/summary.md.']);
    expect(verbless('Note: the summary in out/summary.md is due Monday.')).toEqual(['2. Note: the summary in out/summary.md is due Monday.']);
    expect(verbless('The summary of notes/week.md in out/summary.md.')).toEqual(['2. The summary of notes/week.md in out/summary.md.']);
  });

  it('are ordered by severity, each with a fix that says what to change and where', async () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': FLAWED });
    await review(root);
    const report = readJson(root, 'reviews/weekly-summary/round-1.json');
    const ranks = report.findings.map((finding) => SEVERITY_RANK[finding.severity]);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(report.findings.map((finding) => finding.number)).toEqual(report.findings.map((_, index) => index + 1));
    const drift = report.findings.find((finding) => finding.rule === 'skill-drift')!;
    expect(drift.fix).toMatch(/^invoke \/publish-page in a step of P3, or take P3 out of publish-page's Phases in the Mapped table \(line \d+\)$/);
    for (const finding of report.findings) expect(finding.fix).not.toMatch(/make the plan pass/);
  });

  it('one root cause is one finding: a scope.write entry outside the repository, over 40 accounts', async () => {
    const plan = enrichmentPlan(40, '["/"]');
    const root = makeRepo({ ...ENRICH_SKILLS, 'plans/p.md': plan });
    const lint = await runCli(['lint', 'plans/p.md', '--format', 'json'], root);
    const errors = (JSON.parse(lint.stdout) as { files: Array<{ findings: Array<{ ruleId: string }> }> }).files[0]!.findings.filter(
      (finding) => finding.ruleId === 'scope',
    );
    expect(errors.length).toBe(41);
    const result = await review(root);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonRound;
    const scope = report.findings.filter((finding) => finding.rule === 'scope');
    expect(scope).toHaveLength(1);
    expect(scope[0]!.issue).toMatch(/^scope\.write "\/" leaves the repository/);
    expect(scope[0]!.consequences).toHaveLength(40);
    expect(scope[0]!.consequences![0]!.issue).toMatch(/^P1 writes "enrichment\/account-001\.json", which scope\.write does not allow/);
    expect(scope[0]!.fix).toMatch(/^replace "\/" in scope\.write with the folders the phases write/);
  });

  it('findings of one rule on one line are one finding, with one fix per part', () => {
    const grouped = groupByRootCause([
      {
        severity: 'high',
        line: 9,
        section: 'P2',
        quote: '- Outputs: a.md, b.md',
        rule: 'scope',
        issue: 'P2 writes "a.md", which scope.write does not allow (scope)',
        fix: 'add "a.md" to scope.write',
      },
      {
        severity: 'high',
        line: 9,
        section: 'P2',
        quote: '- Outputs: a.md, b.md',
        rule: 'scope',
        issue: 'P2 writes "b.md", which scope.write does not allow (scope)',
        fix: 'add "b.md" to scope.write',
      },
      {
        severity: 'high',
        line: 12,
        section: 'P3',
        quote: '- Depends on: P9',
        rule: 'phase-dependencies',
        issue: 'P3 depends on P9, which is not a phase of this plan (phase-dependencies)',
        fix: 'remove P9 from P3',
      },
      {
        severity: 'high',
        line: 20,
        section: 'P4',
        quote: '- Depends on: P9',
        rule: 'phase-dependencies',
        issue: 'P4 depends on P9, which is not a phase of this plan (phase-dependencies)',
        fix: 'remove P9 from P4',
      },
      { severity: 'medium', line: 30, section: 'P5', quote: '1. Tidy up as needed', issue: 'vague', fix: 'say what' },
    ]);
    expect(grouped.map((finding) => [finding.line, finding.consequences?.length ?? 0])).toEqual([
      [9, 1],
      [12, 1],
      [30, 0],
    ]);
    expect(grouped[0]!.fix).toBe('add "a.md" to scope.write; add "b.md" to scope.write');
  });
});

describe('open and resolved findings', () => {
  const finding = (number: number, section: string, quote: string, issue: string): ReviewFinding => ({
    number,
    severity: 'high',
    line: number,
    section,
    quote,
    issue,
    fix: 'f',
    verified: true,
  });

  it('are told apart by place and quote, not by the issue text', () => {
    const previous = [
      finding(1, 'P3', '### P3. Publish the page', 'no step invokes /publish-page'),
      finding(2, 'P2', '- Context: direct', 'too small'),
      finding(3, 'P1', '- Context: direct', 'vague'),
    ];
    const current = [
      finding(1, 'P3', '###  p3. Publish the page', 'P3 never runs /publish-page (worded anew)'),
      finding(2, 'P1', '- Context: direct', 'vague'),
    ];
    expect(resolvedSince(previous, current)).toEqual([2]);
  });

  it('a finding raised again unchanged is not resolved; one that was fixed is', async () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': FLAWED });
    await review(root);
    const first = readJson(root, 'reviews/weekly-summary/round-1.json');
    await review(root);
    expect(readJson(root, 'reviews/weekly-summary/round-2.json').resolved).toEqual([]);
    expect(readFileSync(join(root, 'reviews/weekly-summary/round-2.md'), 'utf8')).toContain('Nothing from round 1 was resolved.');
    // Fix the skill drift only.
    const path = join(root, 'plans/p.md');
    writeFileSync(path, edit(readFileSync(path, 'utf8'), '1. Publish the page by hand.', '1. /publish-page out/summary.md'));
    await review(root);
    const third = readJson(root, 'reviews/weekly-summary/round-3.json');
    const drift = first.findings.find((entry) => entry.rule === 'skill-drift')!;
    expect(third.resolved).toEqual([drift.number]);
    expect(readFileSync(join(root, 'reviews/weekly-summary/round-3.md'), 'utf8')).toContain(`Resolved since round 2: #${drift.number}.`);
  });
});

describe('review cycles', () => {
  it('a plan reviewed 3 times is refused while unchanged, and starts cycle 2 once changed, keeping the history', async () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': SMALL_PLAN });
    for (let round = 1; round <= 3; round++) expect((await review(root)).code).toBe(0);
    const refused = await review(root);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/has had 3 review rounds and has not changed since the last one; revise it, then review it again to start review cycle 2/);

    // A run's own writes (state, a ticked box, a log row, a phase's Status) are not a change of the plan.
    const path = join(root, 'plans/p.md');
    const executed = edits(readFileSync(path, 'utf8'), [
      ['- [ ] SC1:', '- [x] SC1:'],
      ['the notes are fetched. verify: `test -s notes/week.md`\n- Status: pending', 'the notes are fetched. verify: `test -s notes/week.md`\n- Status: done'],
      ['iteration: 0', 'iteration: 1'],
    ]);
    expect(contentDigest(parsePlan(executed))).toBe(contentDigest(parsePlan(readFileSync(path, 'utf8'))));

    writeFileSync(
      path,
      edit(
        readFileSync(path, 'utf8'),
        "Summarise this week's account notes into one page for the team.",
        "Summarise this week's account notes into one page for the sales team.",
      ),
    );
    const cycle2 = await review(root);
    expect(cycle2.code).toBe(0);
    expect(JSON.parse(cycle2.stdout)).toMatchObject({ round: 1, cycle: 2, verdict: 'APPROVED' });
    expect(parsePlan(readFileSync(path, 'utf8')).meta.review).toMatchObject({ rounds: 1, cycle: 2, report: 'reviews/weekly-summary/cycle-2/round-1.md' });
    for (let round = 1; round <= 3; round++) expect(existsSync(join(root, `reviews/weekly-summary/round-${round}.json`))).toBe(true);
    const md = readFileSync(join(root, 'reviews/weekly-summary/cycle-2/round-1.md'), 'utf8');
    expect(md).toMatch(/^# Review of plans\/p\.md, round 1 of cycle 2: APPROVED/);
    expect(md).toContain('Nothing from round 3 of cycle 1 was resolved.');
    expect((await runCli(['review', 'plans/p.md'], root)).stdout).toMatch(/review round 2 of cycle 2 by offline\/rules: APPROVED/);
  });
});

describe('what the review itself settles', () => {
  it('an approved 15-phase plan with no review block yet is not held back for having none', async () => {
    const plan = edit(enrichmentPlan(15, '[enrichment/**]'), 'status: draft', 'status: approved');
    const root = makeRepo({ ...ENRICH_SKILLS, 'plans/p.md': plan });
    const lint = await runCli(['lint', 'plans/p.md'], root);
    expect(lint.stdout).toMatch(/has no `review:` block; run `deepplan review` first +review-required/);
    const result = await review(root);
    expect(JSON.parse(result.stdout)).toMatchObject({ verdict: 'APPROVED' });
    expect(result.code).toBe(0);
    expect((await runCli(['lint', 'plans/p.md'], root)).code).toBe(0);
  });
});

describe('review annotations', () => {
  it('name the plan from the repository root when the review runs in a subfolder', async () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': FLAWED });
    const result = await runCli(['review', 'p.md', '--format', 'github'], join(root, 'plans'), { GITHUB_WORKSPACE: '' });
    expect(result.code).toBe(1);
    const commands = result.stdout.split('\n').filter((line) => line.startsWith('::'));
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) expect(command).toMatch(/^::(error|warning) file=plans\/p\.md,line=\d+,/);
  });
});

describe('the review writes the plan through the locked writer', () => {
  it("waits for a writer that holds the plan's lock, then writes", async () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': SMALL_PLAN });
    const path = join(root, 'plans/p.md');
    const release = await lockPlan(path, 1_000);
    const started = Date.now();
    const pending = review(root);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Still the original while the lock is held.
    expect(readFileSync(path, 'utf8')).toBe(SMALL_PLAN);
    await release();
    const result = await pending;
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(parsePlan(readFileSync(path, 'utf8')).meta.review).toMatchObject({ rounds: 1, verdict: 'APPROVED' });
  });
});
