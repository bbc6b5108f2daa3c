import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport, PhaseAudit } from '../src/execute/audit.js';
import { parsePlan } from '../src/plan/parse.js';
import { splitTableRow } from '../src/plan/text.js';
import { edit, logRows, makeRepo, runCli, writeFile } from './support/fixtures.js';
import { editAll, edits } from './support/plan-text.js';
import { SCRIPTED_PLAN, scriptedRepo } from './support/scripted.js';

const sandboxFlag = process.env['DEEPPLAN_TEST_NO_SANDBOX'] ? ['--no-sandbox'] : [];

/** The scripted plan with a pipe in P2's verify command (the audit must escape it in its tables). */
const PIPED_PLAN = edit(SCRIPTED_PLAN, 'verify: `test -s out/summary.md`', 'verify: `grep -c Acme out/summary.md | grep -q 1`');

async function runToGate(plan = SCRIPTED_PLAN): Promise<string> {
  const root = scriptedRepo(plan);
  const run = await runCli(['run', 'plans/p.md', '--loop', ...sandboxFlag], root);
  expect(run.stdout.trim().split('\n').pop(), run.stderr).toBe('BLOCKED_NEED_HUMAN');
  return root;
}

async function runToComplete(plan = SCRIPTED_PLAN): Promise<string> {
  const root = await runToGate(plan);
  const approve = await runCli(['approve', 'plans/p.md', 'P3', '--by', 'Ana Silva', '--note', 'reads well | ship it'], root);
  expect(approve.code, approve.stderr).toBe(0);
  const last = await runCli(['run', 'plans/p.md', '--loop', ...sandboxFlag], root);
  expect(last.stdout.trim().split('\n').pop(), last.stderr).toBe('TASK_COMPLETE');
  return root;
}

async function audit(root: string, format: 'md' | 'json' = 'json') {
  const result = await runCli(['audit', 'plans/p.md', '--format', format, ...sandboxFlag], root);
  return { ...result, report: format === 'json' && result.stdout ? (JSON.parse(result.stdout) as AuditReport) : null };
}

function phase(report: AuditReport, id: string): PhaseAudit {
  const found = report.phases.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no ${id} in the audit`);
  return found;
}

/** The log row number whose Action starts with `prefix`, read from the plan file itself. */
function rowNumber(root: string, prefix: string): number | null {
  const plan = parsePlan(readFileSync(join(root, 'plans/p.md'), 'utf8'));
  return plan.log?.rows.find((row) => row.action.startsWith(prefix))?.number ?? null;
}

function copyRepo(root: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'deepplan-audit-'));
  cpSync(root, copy, { recursive: true });
  return copy;
}

describe('deepplan audit', () => {
  let complete: string;
  let atGate: string;

  beforeAll(async () => {
    [complete, atGate] = await Promise.all([runToComplete(PIPED_PLAN), runToGate()]);
  }, 60_000);

  it('a complete plan: exit 0, every phase delivered, evidence rows from the log', async () => {
    const { code, stderr, report } = await audit(complete);
    expect(code, stderr).toBe(0);
    expect(report!.delivered).toBe(true);
    expect(report!.phases.map((candidate) => [candidate.id, candidate.delivered, candidate.missing])).toEqual([
      ['P1', true, []],
      ['P2', true, []],
      ['P3', true, []],
    ]);
    // The log: 1 P1.1, 2 P2.1, 3 P3.1, 4 P3.2 (gate waits), 5 P3 approve, 6 P3 gate criteria.
    const p3 = phase(report!, 'P3');
    expect(phase(report!, 'P1').steps[0]!.evidence?.row).toBe(1);
    expect(phase(report!, 'P2').steps[0]!.evidence?.row).toBe(2);
    expect(p3.steps.map((step) => [step.index, step.state, step.evidence?.row, step.evidence?.result])).toEqual([
      [1, 'done', 3, 'ok'],
      [2, 'done', 4, 'ok'],
    ]);
    expect(p3.steps[1]!.evidence?.row).toBe(rowNumber(complete, 'P3.2'));
    expect(p3.gate).toMatchObject({ kind: 'human', outcome: 'approved', evidence: { row: 5, action: 'P3 approve' }, approver: 'Ana Silva' });
    expect(p3.gate.evidence?.notes).toBe('approved by Ana Silva: reads well | ship it');
    expect(p3.approvals.map((approval) => [approval.row, approval.by])).toEqual([[5, 'Ana Silva']]);
    expect(phase(report!, 'P2').gate.approver).toBeNull();
    expect(p3.gate.evidence?.row).toBe(rowNumber(complete, 'P3 approve'));
    expect(p3.skills).toEqual([{ name: 'publish-page', mapped: true, invoked: true, row: 3 }]);
    expect(p3.outputs).toEqual([{ pattern: 'out/published.txt', exists: true, files: 1 }]);
    expect(p3.doneWhen.now).toBe('passes');
    expect(p3.iterations).toBe(3);
    expect(p3.rows).toEqual({ first: 3, last: 5 });
    expect(report!.criteriaChecks.map((row) => row.row)).toEqual([6]);
    expect(report!.criteria.every((criterion) => criterion.ticked && criterion.now === 'passes' && criterion.met)).toBe(true);
    expect(report!.iterations).toEqual({ used: 6, budget: 15, byResult: { ok: 6, 'no-change': 0, failed: 0, blocked: 0 } });
    expect(report!.summary).toEqual({ phases: { delivered: 3, total: 3 }, steps: { done: 4, total: 4 }, criteria: { met: 3, total: 3 } });

    const md = await audit(complete, 'md');
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^## Audit: Weekly account summary\n/);
    expect(md.stdout).toContain('**✅ Delivered**: 3/3 phases, 4/4 steps, 3/3 success criteria · 6 of 15 iterations');
    expect(md.stdout).toContain('### P3. Publish the page: ✅ delivered');
    expect(md.stdout).toContain('| Gate: human | ✅ approved by Ana Silva | row 5 · ok ·');
    expect(md.stdout).toMatch(/^\| P3\. Publish the page \| done \| 2\/2 \| [^|]+ \| 1\/1 \| 1\/1 \| ✅ approved by Ana Silva \| 3 \| ✅ \|$/m);
    // The phases as a Mermaid flowchart under the phases table, every phase done (green).
    const block = /\n\| P3\. Publish the page \|[^\n]*\n\n```mermaid\nflowchart TD\n([\s\S]*?)\n```\n\n### P1\. /.exec(md.stdout);
    expect(block, md.stdout).not.toBeNull();
    expect(block![1]).toContain('    P3{{"P3. Publish the page<br/>human gate<br/>/publish-page"}}');
    expect(block![1]).toContain('    P1 --> P2\n    P2 --> P3');
    expect(block![1]).toMatch(/^ {4}class P1,P2,P3 done$/m);
  });

  it('a plan stopped at the human gate: exit 1, the gate shown as waiting', async () => {
    const { code, report } = await audit(atGate);
    expect(code).toBe(1);
    expect(report!.delivered).toBe(false);
    expect(phase(report!, 'P1').delivered).toBe(true);
    expect(phase(report!, 'P2').delivered).toBe(true);
    const p3 = phase(report!, 'P3');
    expect(p3.delivered).toBe(false);
    expect(p3.status).toBe('blocked');
    expect(p3.steps.every((step) => step.state === 'done')).toBe(true);
    expect(p3.gate).toMatchObject({ kind: 'human', outcome: 'waiting', evidence: { row: 4 } });
    expect(p3.missing).toEqual(['status is blocked', 'gate: waiting for approval']);
    expect(p3.acceptedBy).toBeNull();
    expect(report!.blockers[0]).toMatch(/^P3 gate: waiting for approval/);
    expect(report!.criteriaChecks).toEqual([]);
    expect(report!.criteria.every((criterion) => !criterion.ticked)).toBe(true);

    const md = await audit(atGate, 'md');
    expect(md.code).toBe(1);
    expect(md.stdout).toContain('**❌ Not delivered**: 2/3 phases');
    expect(md.stdout).toContain('### P3. Publish the page: ❌ not delivered: status is blocked; gate: waiting for approval');
    expect(md.stdout).toContain('| Gate: human | ⏳ waiting for approval | row 4 ·');
    expect(md.stdout).toMatch(/### Blockers\n\n- P3 gate: waiting for approval/);
    // The flowchart shows where the run stands: two phases done, the gated one blocked.
    expect(md.stdout).toMatch(/```mermaid\nflowchart TD\n[\s\S]*^ {4}class P1,P2 done\n {4}class P3 blocked\n```$/m);
  });

  it('an output deleted after the run: the Done when verify fails now and the audit says so', async () => {
    const root = copyRepo(complete);
    rmSync(join(root, 'out/summary.md'));
    const { code, report } = await audit(root);
    expect(code).toBe(1);
    const p2 = phase(report!, 'P2');
    expect(p2.status).toBe('done');
    expect(p2.delivered).toBe(false);
    expect(p2.doneWhen).toMatchObject({ verify: 'grep -c Acme out/summary.md | grep -q 1', now: 'fails' });
    expect(p2.outputs).toEqual([{ pattern: 'out/summary.md', exists: false, files: 0 }]);
    expect(p2.missing[0]).toMatch(/^Done when verify fails now \(exit 1/);
    expect(p2.missing).toContain('output out/summary.md does not exist');
    // The log still shows the step done: the evidence is kept, the delivery is gone.
    expect(p2.steps[0]).toMatchObject({ state: 'done', evidence: { row: 2 } });
    expect(phase(report!, 'P1').delivered).toBe(true);
    expect(phase(report!, 'P3').delivered).toBe(true);
    const sc2 = report!.criteria.find((criterion) => criterion.id === 'SC2')!;
    expect(sc2).toMatchObject({ ticked: true, now: 'fails', met: false });

    const md = await audit(root, 'md');
    expect(md.stdout).toContain('### P2. Write the summary: ❌ not delivered: Done when verify fails now (exit 1');
    expect(md.stdout).toContain('| Output `out/summary.md` | ❌ missing | 0 files |');
    expect(md.stdout).toMatch(/\| SC2: .* \| ✅ \| ❌ fails now .* \| ❌ \|/);
  });

  it('JSON: a stable shape with phases[].delivered', async () => {
    const { report } = await audit(complete);
    expect(Object.keys(report!)).toEqual(['version', 'plan', 'delivered', 'summary', 'iterations', 'blockers', 'phases', 'criteria', 'criteriaChecks']);
    expect(report!.version).toBe(1);
    expect(report!.plan).toEqual({ path: 'plans/p.md', id: 'weekly-summary', title: 'Weekly account summary', status: 'complete' });
    for (const entry of report!.phases) {
      expect(Object.keys(entry)).toEqual([
        'id',
        'title',
        'status',
        'delivered',
        'missing',
        'doneWhen',
        'steps',
        'outputs',
        'skills',
        'gate',
        'acceptedBy',
        'approvals',
        'problems',
        'iterations',
        'rows',
      ]);
      expect(typeof entry.delivered).toBe('boolean');
      expect(Object.keys(entry.doneWhen)).toEqual(['text', 'verify', 'now', 'detail']);
      expect(Object.keys(entry.gate)).toEqual(['kind', 'outcome', 'evidence', 'rounds', 'verdict', 'approver']);
      for (const approval of entry.approvals) expect(Object.keys(approval)).toEqual(['row', 'when', 'action', 'result', 'signal', 'notes', 'by']);
      for (const step of entry.steps) expect(Object.keys(step)).toEqual(['index', 'kind', 'text', 'state', 'evidence', 'attempts', 'failures']);
    }
    expect(Object.keys(phase(report!, 'P1').steps[0]!.evidence!)).toEqual(['row', 'when', 'action', 'result', 'signal', 'notes']);
    expect(Object.keys(report!.criteria[0]!)).toEqual(['id', 'text', 'ticked', 'verify', 'now', 'detail', 'met']);
  });

  it("markdown: pipes in notes and commands are escaped, every table row has its header's cell count", async () => {
    const { stdout } = await audit(complete, 'md');
    expect(stdout).toContain('approved by Ana Silva: reads well \\| ship it');
    expect(stdout).toContain('verify `grep -c Acme out/summary.md \\| grep -q 1`');
    const lines = stdout.split('\n');
    let tables = 0;
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i + 1]?.startsWith('| ---')) continue;
      tables++;
      const width = splitTableRow(lines[i]!).length;
      for (let j = i + 2; lines[j]?.startsWith('|'); j++) expect(splitTableRow(lines[j]!), lines[j]).toHaveLength(width);
    }
    expect(tables).toBe(5);
    // Text from the log never becomes HTML in a pull-request comment.
    expect(stdout).toContain('`/publish-page "<h1>Summary</h1>"`');
    expect(stdout.replace(/`[^`]*`/g, '')).not.toContain('<h1>');
  });

  it('a review gate, a failure and a redo, from a hand-written log: verdict, rounds, problems, the last completing row', async () => {
    const fetch = 'P1.1 /fetch-notes "- Acme renewed" "- Globex paused"';
    const write = 'P2.1 /write-summary "- Acme: renewed" "- Globex: paused" "- Initech: new"';
    let text = edit(SCRIPTED_PLAN, '- Done when: one line per account.', '- Gate: review\n- Done when: one line per account.');
    text = edits(text, [
      ['the notes are fetched. verify: `test -s notes/week.md`\n- Status: pending', 'the notes are fetched. verify: `test -s notes/week.md`\n- Status: done'],
      ['one line per account. verify: `test -s out/summary.md`\n- Status: pending', 'one line per account. verify: `test -s out/summary.md`\n- Status: done'],
      ['  phase: P1\n  iteration: 0', '  phase: P3\n  iteration: 6'],
    ]);
    text += `${logRows([
      ['2026-11-20T10:01:00Z', 'P1', fetch, 'failed', 'CONTINUE', 'exit 1: boom'],
      ['2026-11-20T10:02:00Z', 'P1', fetch, 'ok', 'CONTINUE', 'step done; 1 file changed (notes/week.md); Done when passes'],
      ['2026-11-20T10:03:00Z', 'P2', write, 'ok', 'CONTINUE', 'step done; 1 file changed (out/summary.md)'],
      ['2026-11-20T10:04:00Z', 'P2', 'P2 gate review', 'no-change', 'CONTINUE', 'REVISE round 1: out/summary.md still holds a placeholder ("TODO")'],
      ['2026-11-20T10:05:00Z', 'P2', write, 'ok', 'CONTINUE', 'step done; 1 file changed (out/summary.md)'],
      ['2026-11-20T10:06:00Z', 'P2', 'P2 gate review', 'ok', 'CONTINUE', 'APPROVED round 2; Done when passes'],
    ])}\n`;
    const root = scriptedRepo(text, { 'notes/week.md': '- Acme renewed\n', 'out/summary.md': '- Acme: renewed\n' });
    const { code, report } = await audit(root);
    expect(code).toBe(1);
    const p1 = phase(report!, 'P1');
    expect(p1.delivered).toBe(true);
    expect(p1.steps[0]).toMatchObject({ state: 'done', attempts: 2, failures: 1, evidence: { row: 2 } });
    expect(p1.problems.map((row) => [row.row, row.result, row.notes])).toEqual([[1, 'failed', 'exit 1: boom']]);
    expect(p1.skills).toEqual([{ name: 'fetch-notes', mapped: true, invoked: true, row: 2 }]);
    const p2 = phase(report!, 'P2');
    expect(p2.delivered).toBe(true);
    expect(p2.gate).toMatchObject({ kind: 'review', outcome: 'approved', rounds: 2, verdict: 'APPROVED', evidence: { row: 6, action: 'P2 gate review' } });
    // The REVISE at row 4 reopened the step: the row that counts is the redo at row 5.
    expect(p2.steps[0]).toMatchObject({ state: 'done', attempts: 2, failures: 0, evidence: { row: 5 } });
    expect(p2.iterations).toBe(4);
    const p3 = phase(report!, 'P3');
    expect(p3.delivered).toBe(false);
    expect(p3.steps.every((step) => step.state === 'not-done')).toBe(true);
    expect(p3.gate.outcome).toBe('not-reached');
    expect(p3.missing).toEqual(
      expect.arrayContaining(['status is pending', 'step 1 has no completing row', 'skill /publish-page was never invoked', 'gate: not reached']),
    );
    expect(report!.iterations.byResult).toEqual({ ok: 4, 'no-change': 1, failed: 1, blocked: 0 });

    const md = await audit(root, 'md');
    expect(md.stdout).toContain('| Gate: review | ✅ APPROVED (2 rounds) | row 6 · ok ·');
    expect(md.stdout).toContain('| Step 1: `/fetch-notes "- Acme renewed" "- Globex paused"` | ✅ done (2 attempts, 1 failed) | row 2 ·');
    expect(md.stdout).toMatch(/\| Problem: `P1\.1 \/fetch-notes [^|]*` \| ❌ failed \| row 1 · failed · 2026-11-20T10:01:00Z · exit 1: boom \|/);
  });

  it('names who approved each row from its notes: a retry, a phase accepted by hand, and an older row that names no one', async () => {
    const fetch = 'P1.1 /fetch-notes "- Acme renewed" "- Globex paused"';
    let text = edit(editAll(SCRIPTED_PLAN, '- Status: pending', '- Status: done'), '  phase: P1\n  iteration: 0', '  phase: P3\n  iteration: 5');
    text += `${logRows([
      ['2026-11-20T10:01:00Z', 'P1', fetch, 'failed', 'CONTINUE', 'exit 1: boom'],
      ['2026-11-20T10:02:00Z', 'P1', 'P1 approve', 'ok', 'CONTINUE', 'retry by Lee Okafor: fixed the export'],
      ['2026-11-20T10:03:00Z', 'P1', fetch, 'ok', 'CONTINUE', 'step done; 1 file changed (notes/week.md)'],
      ['2026-11-20T10:04:00Z', 'P2', 'P2 approve', 'ok', 'CONTINUE', 'approved by Priya Natarajan: written by hand'],
      ['2026-11-20T10:05:00Z', 'P3', 'P3 approve', 'ok', 'CONTINUE', 'approved: Ana: ship it'],
    ])}\n`;
    const root = scriptedRepo(text, { 'notes/week.md': '- Acme renewed\n', 'out/summary.md': '- Acme: renewed\n' });
    const { report } = await audit(root);
    const [p1, p2, p3] = ['P1', 'P2', 'P3'].map((id) => phase(report!, id));
    expect(p1!.approvals.map((approval) => [approval.row, approval.by])).toEqual([[2, 'Lee Okafor']]);
    expect(p1!.gate.approver).toBeNull();
    expect(p2!.approvals.map((approval) => approval.by)).toEqual(['Priya Natarajan']);
    expect(p2!.steps[0]!.state).toBe('accepted');
    // A row written before approvals named a person: the audit says no name rather than guess one from the note.
    expect(p3!.gate).toMatchObject({ kind: 'human', outcome: 'approved', approver: null, evidence: { row: 5 } });
    expect(p3!.approvals.map((approval) => approval.by)).toEqual([null]);

    const md = await audit(root, 'md');
    expect(md.stdout).toMatch(/\| Approval \| retry by Lee Okafor \| row 2 · ok · [^|]* · retry by Lee Okafor: fixed the export \|/);
    expect(md.stdout).toMatch(/\| Accepted by Priya Natarajan \| ✅ approved \| row 4 ·/);
    expect(md.stdout).toContain('| ✅ accepted by Priya Natarajan | accepted at row 4 |');
    expect(md.stdout).toMatch(/\| Gate: human \| ✅ approved \| row 5 ·/);
    expect(md.stdout).toContain('| ✅ accepted by a person | accepted at row 5 |');
  });

  it('bad input: one line on standard error, no stack trace', async () => {
    const root = makeRepo({ 'README.md': '# Not a plan\n', 'plans/broken.md': '---\ndeepplan: 1\nid: [unclosed\n---\n\n# Broken\n' });
    const missing = await runCli(['audit', 'plans/nope.md'], root);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('deepplan: plans/nope.md: no such file\n');
    const notPlan = await runCli(['audit', 'README.md'], root);
    expect(notPlan.code).toBe(1);
    expect(notPlan.stderr.trim().split('\n')).toHaveLength(1);
    const broken = await runCli(['audit', 'plans/broken.md'], root);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^deepplan: plans\/broken\.md: line \d+: /);
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
    const format = await runCli(['audit', 'plans/broken.md', '--format', 'xml'], root);
    expect(format.code).toBe(2);
    writeFile(root, 'plans/dir/.keep', '');
    const directory = await runCli(['audit', 'plans/dir'], root);
    expect(directory.code).toBe(2);
    for (const result of [missing, notPlan, broken, directory]) expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
