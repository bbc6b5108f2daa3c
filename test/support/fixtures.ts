import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

/** A throw-away repository (it has a `.git` folder, so it is its own root) holding `files`. */
/** The repositories makeRepo made in this test file: test/support/cleanup.ts removes them after its last test. */
const made: string[] = [];

/** Removes the repositories made so far (what cannot be removed, e.g. a folder a test left read-only, stays). */
export function removeRepos(): void {
  for (const root of made.splice(0)) {
    try {
      rmSync(root, { recursive: true, force: true });
    } catch {
      // Left for the system's temporary-file cleaning.
    }
  }
}

export function makeRepo(files: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'deepplan-test-'));
  made.push(root);
  mkdirSync(join(root, '.git'));
  for (const [path, text] of Object.entries(files)) writeFile(root, path, text);
  return root;
}

export function writeFile(root: string, path: string, text: string | Uint8Array): string {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, text);
  return full;
}

export function skillFile(name: string, extra = ''): string {
  return `---\nname: ${name}\ndescription: The ${name} skill, for tests.\n${extra}---\n\n# ${name}\n`;
}

/** The skills the small plan names, as repository files under .claude/skills/. */
export const SMALL_PLAN_SKILLS: Record<string, string> = Object.fromEntries(
  ['fetch-notes', 'write-summary', 'publish-page', 'hubspot-sync', 'newsletter-builder'].map((name) => [`.claude/skills/${name}/SKILL.md`, skillFile(name)]),
);

/**
 * A small plan that passes every rule: three phases, three criteria, three mapped and two excluded skills.
 * Tests break one thing in it at a time.
 */
export const SMALL_PLAN = `---
deepplan: 1
id: weekly-summary
title: Weekly account summary
status: approved
created: 2026-11-20
workstream: content
deliverable: content
quality_bar: structural
owner: Ana, account lead
budget:
  max_iterations: 15
  basis: formula
scope:
  write: [notes/**, out/**]
  commands: [node scripts/]
state:
  phase: P1
  iteration: 0
  revision: 0
  next_action: Fetch the notes
  blockers: []
  updated: 2026-11-20T10:00:00Z
---

# Weekly account summary

## Request

Summarise this week's account notes into one page for the team.

## Success criteria

- [ ] SC1: The notes of this week are fetched. verify: \`test -s notes/week.md\`
- [ ] SC2: The summary has one line per account. verify: \`test "$(grep -c '^- ' out/summary.md)" -ge 3\`
- [ ] SC3: The page is published. verify: \`test -s out/published.txt\`

## Constraints

- Only this week's notes.

## Stakeholders

- Ana — account lead, reads the summary

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |
| fetch-notes | P1 | Notes live in the CRM |
| write-summary | P2 | House style for summaries |
| publish-page | P3 | The team reads the wiki |

### Excluded

| Skill | Reason |
| --- | --- |
| hubspot-sync | HubSpot is deprecated |
| newsletter-builder | Not a newsletter |

## Phases

### P1. Fetch the notes
- Inputs: notes/accounts.md
- Outputs: notes/week.md
- Context: direct
- Depends on: none
- Done when: the notes are fetched. verify: \`test -s notes/week.md\`
- Status: pending

1. /fetch-notes --week current --out notes/week.md

### P2. Write the summary
- Inputs: notes/week.md
- Outputs: out/summary.md
- Context: direct
- Depends on: P1
- Done when: one line per account. verify: \`test -s out/summary.md\`
- Status: pending

1. /write-summary notes/week.md --out out/summary.md

### P3. Publish the page
- Inputs: out/summary.md
- Outputs: out/published.txt
- Context: direct
- Depends on: P2
- Gate: human
- Done when: the page is published. verify: \`test -s out/published.txt\`
- Status: pending

1. /publish-page out/summary.md
2. run: \`node scripts/record-url.mjs out/published.txt\`

## Running learnings

## Iteration log

| # | When | Phase | Action | Result | Signal | Notes |
| --- | --- | --- | --- | --- | --- | --- |
`;

// The plan-text helpers live in plan-text.ts; these names stay importable from here.
export { edit, logRows } from './plan-text.js';

/** Skills as repository files under .claude/skills/, from [name, description] pairs. */
export function skillSet(entries: Array<[string, string]>): Record<string, string> {
  return Object.fromEntries(
    entries.map(([name, description]) => [`.claude/skills/${name}/SKILL.md`, skillFile(name).replace(`The ${name} skill, for tests.`, description)]),
  );
}

/** Skills that fit the research template, and two that do not (one deprecated by its description). */
export const RESEARCH_SKILLS = skillSet([
  ['source-notes', 'Reads a source file and writes notes on what it does, with line references.'],
  ['compare-sources', 'Compares the notes of several sources and lists where they agree and differ.'],
  ['findings-report', 'Writes a findings report that answers the question first and cites its sources.'],
  ['newsletter-builder', 'Builds a newsletter issue from a content calendar.'],
  ['hubspot-sync', 'Deprecated, syncs contacts from HubSpot.'],
]);

/** The environment a CLI child process gets: this one without API keys, base URLs and DEEPPLAN_ settings, plus `env`. */
export function cliEnvironment(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/_API_KEY$|_BASE_URL$|^DEEPPLAN_/.test(name)));
  return { ...clean, NO_COLOR: '1', ...env };
}

/**
 * Runs the CLI in a child process without blocking this one (tests that serve a fake provider from this process
 * need that). The environment's API keys, base URLs and DEEPPLAN_ settings are dropped, so only `env` counts.
 */
export function runCli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: cliEnvironment(env), timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
