import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bubblewrapAvailable, runCommand, type SandboxOptions } from '../src/execute/sandbox.js';
import { makeRepo } from './support/fixtures.js';
import { iterate, readPlan, stateErrors } from './support/model-plan.js';

/**
 * The sandbox creates nothing in the repository that the command did not create: a scope.write folder that does
 * not exist is made so it can be bound writable, and removed after the command when the command left it empty.
 */

const withBubblewrap = bubblewrapAvailable() ? describe : describe.skip;
if (!bubblewrapAvailable()) console.warn('sandbox scope-folder tests skipped: bubblewrap (bwrap) is not installed');

/** Enriches data/accounts.csv (60 accounts) into out/accounts.csv; writes nothing else. */
const ENRICH_SCRIPT = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const rows = readFileSync('data/accounts.csv', 'utf8').trim().split('\\n').slice(1);
mkdirSync('out', { recursive: true });
writeFileSync('out/accounts.csv', 'domain,segment\\n' + rows.map((domain) => domain + ',' + (domain.length % 2 ? 'smb' : 'mid-market')).join('\\n') + '\\n');
`;
const ACCOUNTS = `domain\n${Array.from({ length: 60 }, (_, i) => `acct${i + 1}.example`).join('\n')}\n`;

function options(root: string, writable: string[]): SandboxOptions {
  return { root, writable, planPath: join(root, 'plans/p.md'), timeoutMs: 10_000, env: { PATH: process.env['PATH'] } };
}

const ENRICH_PLAN = `---
deepplan: 1
id: account-enrichment
title: Enrich the account list
status: approved
created: 2026-11-20
workstream: data
deliverable: dataset
quality_bar: structural
owner: Lee, revenue operations
budget:
  max_iterations: 6
  basis: formula
scope:
  write: [out/**, staging/**]
  commands: [node scripts/]
state:
  phase: P1
  iteration: 0
  revision: 0
  next_action: Enrich the accounts
  blockers: []
  updated: 2026-11-20T10:00:00Z
---

# Enrich the account list

## Request

Add a segment to each of the 60 accounts, and leave no staging files behind.

## Success criteria

- [ ] SC1: Every account has a segment. verify: \`test "$(grep -c example out/accounts.csv)" -eq 60\`
- [ ] SC2: Nothing is left in staging. verify: \`test ! -e staging\`

## Constraints

- Only the accounts of data/accounts.csv.

## Stakeholders

- Lee — revenue operations, loads the list

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |

### Excluded

| Skill | Reason |
| --- | --- |

## Phases

### P1. Enrich the accounts
- Inputs: data/accounts.csv
- Outputs: out/accounts.csv
- Context: direct
- Depends on: none
- Done when: the list is enriched and no staging is left. verify: \`test -s out/accounts.csv && test ! -e staging\`
- Status: pending

1. run: \`node scripts/enrich.mjs\`

## Running learnings

## Iteration log

| # | When | Phase | Action | Result | Signal | Notes |
| --- | --- | --- | --- | --- | --- | --- |
`;

withBubblewrap('scope.write folders that do not exist', () => {
  it('are gone after a command that wrote nothing there, and kept with what a command wrote', async () => {
    const root = makeRepo({ 'plans/p.md': ENRICH_PLAN, 'data/accounts.csv': ACCOUNTS });
    const scope = options(root, ['staging/**', 'out/reports/*.csv']);
    expect((await runCommand('true', scope)).code).toBe(0);
    expect(existsSync(join(root, 'staging'))).toBe(false);
    expect(existsSync(join(root, 'out'))).toBe(false);

    expect((await runCommand('echo acct1.example > out/reports/segments.csv', scope)).code).toBe(0);
    expect(readFileSync(join(root, 'out/reports/segments.csv'), 'utf8')).toBe('acct1.example\n');
    expect(existsSync(join(root, 'staging'))).toBe(false);

    // A failed command leaves nothing behind either.
    expect((await runCommand('exit 3', options(root, ['staging/**']))).code).toBe(3);
    expect(existsSync(join(root, 'staging'))).toBe(false);
  });

  it('two folders made under one new parent: the empty one goes, the used one and the parent stay', async () => {
    const root = makeRepo({ 'plans/p.md': ENRICH_PLAN });
    const scope = options(root, ['exports/crm/**', 'exports/billing/**']);
    expect((await runCommand('echo 1 > exports/billing/invoices.csv', scope)).code).toBe(0);
    expect(existsSync(join(root, 'exports/billing/invoices.csv'))).toBe(true);
    expect(existsSync(join(root, 'exports/crm'))).toBe(false);
  });

  it('an empty folder that was there before the command stays', async () => {
    const root = makeRepo({ 'plans/p.md': ENRICH_PLAN });
    mkdirSync(join(root, 'staging'));
    expect((await runCommand('true', options(root, ['staging/**']))).code).toBe(0);
    expect(existsSync(join(root, 'staging'))).toBe(true);
  });

  it('a Done when `test ! -e staging` passes: the phase is done and the plan complete', async () => {
    const root = makeRepo({ 'plans/p.md': ENRICH_PLAN, 'scripts/enrich.mjs': ENRICH_SCRIPT, 'data/accounts.csv': ACCOUNTS });
    const report = await iterate(root, null);
    expect(report.rows[0]).toMatchObject({ action: 'P1.1 run node scripts/enrich.mjs', result: 'ok' });
    expect(report.rows[0]!.notes).toMatch(/Done when passes/);
    expect(existsSync(join(root, 'staging'))).toBe(false);
    const plan = readPlan(root);
    expect(plan.phases[0]!.status).toBe('done');
    expect(report.signal).toBe('TASK_COMPLETE');
    expect(plan.criteria?.map((criterion) => criterion.checked)).toEqual([true, true]);
    expect(stateErrors(root)).toEqual([]);
  });
});
