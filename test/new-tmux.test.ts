import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePlan } from '../src/plan/parse.js';
import { MAX_PHASES, MIN_SUBSTANTIAL_PHASES } from '../src/rules/phase-count.js';
import { CLI, PROJECT_ROOT } from './support/fixtures.js';
import { closeTerminals, hasTmux, openTerminal } from './support/tmux.js';

/**
 * The real binary in a real terminal: tmux runs `deepplan new "<request>"` offline in a copy of examples/outreach/,
 * the test presses Enter at every prompt and reads the screens.
 */
if (!hasTmux) process.stderr.write('new-tmux.test.ts: tmux is not installed, so the terminal test is skipped (apt-get install tmux)\n');

/** The hint lines of the screens that wait for Enter. */
const PROMPTS = ['Enter accept', 'Enter confirm', 'or continue'];

afterEach(closeTerminals);

describe.skipIf(!hasTmux)('deepplan new in a terminal', () => {
  it('plans the outreach offline with Enter at every prompt: phases, interview, skill audit, budget, review; exit 0 and a plan that lints', async () => {
    const root = mkdtempSync(join(tmpdir(), 'deepplan-new-'));
    cpSync(join(PROJECT_ROOT, 'examples', 'outreach'), root, { recursive: true });
    mkdirSync(join(root, '.git'));
    const unset = ['CI', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY'].map((name) => `-u ${name}`).join(' ');
    const command = `cd ${root} && env ${unset} NO_COLOR=1 ${process.execPath} ${CLI} new 'Do an outreach for Mod Op'; echo EXIT=$?; sleep 60`;
    const terminal = openTerminal(command, 80, 50);

    const seen: string[] = [];
    const deadline = Date.now() + 45_000;
    let last = '';
    for (;;) {
      if (Date.now() > deadline) throw new Error(`deepplan new did not finish; the screen shows:\n${terminal.screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const shown = terminal.screen();
      if (shown.includes('EXIT=')) break;
      // A new screen that waits for a key: keep it, then press Enter.
      if (shown !== last && PROMPTS.some((prompt) => shown.includes(prompt))) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const settled = terminal.screen();
        seen.push(settled);
        last = settled;
        terminal.keys('Enter');
      }
    }
    const end = terminal.history();
    expect(end).toMatch(/EXIT=0/);
    // The plan it wrote: one drafting and one rendering phase per Mod Op contact, 15 to 25 phases in all.
    const plan = parsePlan(readFileSync(join(root, 'plans/outreach-for-mod.md'), 'utf8'));
    const phases = plan.phases.length;
    expect(phases).toBeGreaterThanOrEqual(MIN_SUBSTANTIAL_PHASES);
    expect(phases).toBeLessThanOrEqual(MAX_PHASES);
    expect(plan.phases.filter((phase) => phase.title.startsWith('Draft the email to '))).toHaveLength(readdirSync(join(root, 'crm/contacts/mod-op')).length);

    // The interview: the recommended answer preselected, then the answers in the scrollback.
    const question = seen.find((shown) => shown.includes('? What must be true when this is done?'))!;
    expect(question).toContain('❯ 1) One reviewed draft per contact, ready to send (recommended)');
    expect(end).toMatch(/\? What must be true when this is done\? → One reviewed draft per contact/);
    // The phases, each with its result.
    for (const phase of ['workstream', 'sufficiency', 'context', 'generation', 'sizing', 'quality-bar', 'budget', 'skill-drift']) {
      expect(end).toMatch(new RegExp(`✔ ${phase} +\\d+\\.\\ds \\S`));
    }
    // The skill audit as it waited for Enter.
    const audit = seen.find((shown) => shown.includes('space map/exclude'))!;
    expect(audit).toMatch(/Skill audit: \d+ mapped, \d+ excluded/);
    expect(audit).toMatch(/❯ \[x\] account-briefing +P2 +Refreshes an account briefing/);
    expect(audit).toMatch(/\[ \] hubspot-sync +deprecated by its own description/);
    // The sizing and budget table.
    expect(end).toContain('Sizing and budget');
    expect(end).toMatch(/P1 +Confirm the deal owner's go-ahead +direct +\d+/);
    expect(end).toMatch(new RegExp(`budget +\\d+ iterations = ceil\\(\\(2 × ${phases} \\+ \\d+ / 3 \\+ 5\\) × 1\\.15\\) = \\d+`));
    // The review (quality bar adversarial) and the final screen.
    expect(seen.some((shown) => /review round 1 by offline\/rules: (APPROVED|REVISE)/.test(shown))).toBe(true);
    const final = seen.find((shown) => shown.includes('❯ later (default)'))!;
    expect(final).toContain(`Plan: plans/outreach-for-mod.md (${phases} phases, in_review, review APPROVED)`);
    expect(end).toContain('plans/outreach-for-mod.md is ready. When it is time:\n  deepplan approve plans/outreach-for-mod.md\n');
    for (const shown of seen) expect(Math.max(...shown.split('\n').map((line) => [...line].length))).toBeLessThanOrEqual(80);

    const lint = spawnSync(process.execPath, [CLI, 'lint', 'plans/outreach-for-mod.md'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout).not.toMatch(/phase-count|phase-file-ops/);
    expect(plan.meta.status).toBe('in_review');
    expect(plan.meta.review?.verdict).toBe('APPROVED');
  });
});
