import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runNewSession, type NewSessionIo } from '../src/cli/new-command.js';
import { lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import { NewScreen, type NewStore, type Stage } from '../src/ui/new-screen.js';
import { CLI, makeRepo } from './support/fixtures.js';
import { NEW_SESSION_SKILLS, withoutProviderKeys } from './support/new-session.js';

/**
 * The `deepplan new` session end to end in this process: the real pipeline, plan writing and review, the screens
 * rendered by ink-testing-library and driven by keys. (test/new-tmux.test.ts drives the real binary in a terminal.)
 */

const ENTER = '\r';
const DOWN = '\u001B[B';
const SKILLS = NEW_SESSION_SKILLS;
const REQUEST = 'Research for the client: what does src/intake.ts do?';

withoutProviderKeys();

/** `review`: a stand-in for the review step, or 'in process' for the real review rounds (the default of deepplan new). */
function session(root: string, review: NewSessionIo['review'] | 'in process' = async () => ({ message: null, failed: false })) {
  let store!: NewStore;
  let view!: ReturnType<typeof render>;
  const said: string[] = [];
  const controller = new AbortController();
  const ran: string[] = [];
  const io: NewSessionIo = {
    cwd: root,
    signal: controller.signal,
    async mount(newStore, actions) {
      store = newStore;
      view = render(<NewScreen store={newStore} actions={actions} />);
      return view;
    },
    say: (line) => said.push(line),
    ...(review === 'in process' ? {} : { review }),
    async run(path, choice) {
      ran.push(`${choice} ${path}`);
      return 0;
    },
    today: '2026-11-22',
    now: '2026-11-22T10:00:00Z',
  };
  const stage = () => store?.get().stage;
  /** Waits for a screen, then lets Ink draw it. */
  async function until(kind: Stage['kind'] | Array<Stage['kind']>, timeoutMs = 15_000): Promise<Stage> {
    const kinds = Array.isArray(kind) ? kind : [kind];
    const deadline = Date.now() + timeoutMs;
    while (!kinds.includes(stage()?.kind as Stage['kind'])) {
      if (Date.now() > deadline) throw new Error(`the ${kinds.join('/')} screen never came; at ${stage()?.kind}:\n${view?.lastFrame()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 120));
    return stage()!;
  }
  async function press(keys: string) {
    view.stdin.write(keys);
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
  return { io, said, ran, until, press, frame: () => view.lastFrame()!, stage };
}

function deepplan(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', DEEPPLAN_OFFLINE: '1' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const skillsSection = (text: string) => text.slice(text.indexOf('## Skills'), text.indexOf('## Phases'));

describe('deepplan new, the session', () => {
  it('asks for the request, interviews, lets space map a skill the audit excluded, and writes that plan; the answers file does the same headlessly', async () => {
    const root = makeRepo({ ...SKILLS, 'src/intake.ts': 'export const x = 1;\n', 'request.md': `${REQUEST}\n` });
    const s = session(root);
    const done = runNewSession(undefined, { out: 'plans/new.md' }, s.io);

    await s.until('request');
    await s.press('@missing.md');
    await s.press(ENTER);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(s.frame()).toContain('cannot read the request file');
    for (let i = 0; i < 'missing.md'.length; i++) await s.press('\u007F');
    await s.press('request.md');
    await s.press(ENTER);

    // The interview: Enter takes the recommended answer of every question.
    let questions = 0;
    for (;;) {
      const stage = await s.until(['question', 'skills']);
      if (stage.kind === 'skills') break;
      questions++;
      await s.press(ENTER);
    }
    expect(questions).toBeGreaterThanOrEqual(3);
    expect(s.frame()).toMatch(/✔ workstream/);
    expect(s.frame()).toMatch(/\? What must be true when this is done\? → A findings page/);

    // The skill audit: move to the first excluded skill that is not deprecated and map it with space.
    const audit = (s.stage() as Extract<Stage, { kind: 'skills' }>).audit;
    const target = audit.excluded.find((skill) => !skill.reason.startsWith('deprecated'))!;
    expect(target).toBeDefined();
    const rows = [...audit.mapped.map((skill) => skill.name), ...audit.excluded.map((skill) => skill.name)];
    for (let i = 0; i < rows.indexOf(target.name); i++) await s.press(DOWN);
    await s.press(' ');
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(s.frame()).toMatch(new RegExp(`\\[x\\] ${target.name} +→ mapped on Enter`));
    await s.press(ENTER);

    await s.until('final');
    const frame = s.frame();
    expect(frame).toMatch(/Sizing and budget/);
    expect(frame).toMatch(/budget +\d+ iterations = ceil\(/);
    expect(frame).toMatch(/plans\/new\.md: \d+ phases written, lint clean \(warnings: \d+\)/);
    expect(frame).toContain('Plan: plans/new.md');
    await s.press(ENTER);
    expect(await done).toBe(0);
    expect(s.said.join('\n')).toBe('plans/new.md is ready. When it is time:\n  deepplan approve plans/new.md\n  deepplan run plans/new.md --loop');
    expect(s.ran).toEqual([]);

    const text = readFileSync(join(root, 'plans/new.md'), 'utf8');
    expect(lintText(text, join(root, 'plans/new.md')).filter((finding) => finding.severity === 'error')).toEqual([]);
    const plan = parsePlan(text);
    const mapped = plan.skills!.mapped!.find((skill) => skill.name === target.name)!;
    expect(mapped.why).toMatch(/^mapped by hand in the skill audit/);
    expect(plan.skills!.excluded!.map((skill) => skill.name)).not.toContain(target.name);
    expect(plan.phases.find((phase) => phase.id === mapped.phases[0])!.steps.some((step) => step.kind === 'skill' && step.skill === target.name)).toBe(true);

    // deepplan plan with the same answers and `skills: {map: [...]}` writes the same audit and phases.
    writeFileSync(join(root, 'answers.yaml'), `skills:\n  map: [${target.name}]\n`);
    const headless = deepplan(['plan', '--request', '@request.md', '--answers', 'answers.yaml', '--yes', '--out', 'plans/headless.md'], root);
    expect(headless.code, headless.stderr).toBe(0);
    const other = readFileSync(join(root, 'plans/headless.md'), 'utf8');
    expect(skillsSection(other)).toBe(skillsSection(text));
    expect(other.slice(other.indexOf('## Phases'), other.indexOf('## Running learnings'))).toBe(
      text.slice(text.indexOf('## Phases'), text.indexOf('## Running learnings')),
    );
  });

  it('refuses a skill choice that leaves fewer than 3 mapped: the audit comes back with the reason', async () => {
    const root = makeRepo({ ...SKILLS, 'src/intake.ts': 'export const x = 1;\n' });
    const s = session(root);
    const done = runNewSession(`${REQUEST} Success is one findings page. Read-only. Priya, the account lead, approves.`, {}, s.io);
    const stage = (await s.until('skills')) as Extract<Stage, { kind: 'skills' }>;
    const mapped = stage.audit.mapped;
    // Exclude mapped skills until fewer than 3 would be left (the audit maps one skill per phase here).
    const excluding = mapped.length - 2;
    for (let i = 0; i < excluding; i++) {
      await s.press(' ');
      await s.press(DOWN);
    }
    await s.press(ENTER);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.stage()!.kind).toBe('skills');
    expect(s.frame()).toContain('cannot write the plan yet: 2 skill(s) mapped; at least 3 must be');
    expect(existsSync(join(root, 'plans'))).toBe(false);
    // Toggling the first excluded skill (one just excluded by hand) back makes it writable.
    await s.press(DOWN);
    await s.press(DOWN);
    await s.press(' ');
    await s.press(ENTER);
    await s.until('final');
    await s.press(ENTER);
    expect(await done).toBe(0);
  });

  it('on Ctrl-C during the interview saves the request and the answers so far and prints the command that continues (exit 130)', async () => {
    const root = makeRepo({ ...SKILLS, 'src/intake.ts': 'export const x = 1;\n' });
    const s = session(root);
    const done = runNewSession(REQUEST, { out: 'plans/c.md' }, s.io);
    await s.until('question');
    await s.press('Priya signs the findings page off');
    await s.press(ENTER);
    await s.until('question');
    await s.press('\u0003');
    expect(await done).toBe(130);
    expect(existsSync(join(root, 'plans/c.md'))).toBe(false);
    const message = s.said.join('\n');
    const command = /deepplan plan --request @(\S+) --answers (\S+) --out plans\/c\.md/.exec(message)!;
    expect(command, message).not.toBeNull();
    expect(message).toMatch(/interrupted; the request and the answers so far are in \.deepplan\/drafts\//);
    expect(readFileSync(join(root, command[1]!), 'utf8')).toBe(`${REQUEST}\n`);
    expect(parse(readFileSync(join(root, command[2]!), 'utf8'))).toEqual({ success: 'Priya signs the findings page off' });
    // The printed command continues where the session stopped (the rest with --yes here).
    const continued = deepplan(['plan', '--request', `@${command[1]}`, '--answers', command[2]!, '--out', 'plans/c.md', '--yes'], root);
    expect(continued.code, continued.stderr).toBe(0);
    expect(readFileSync(join(root, 'plans/c.md'), 'utf8')).toContain('- Q: What must be true when this is done? → A: Priya signs the findings page off');
  });

  it('shows a review that could not finish as one line, then the final choice (the plan stays written)', async () => {
    const root = makeRepo({ ...SKILLS, 'src/intake.ts': 'export const x = 1;\n' });
    const s = session(root, async () => ({ message: 'the reviewer is not reachable', failed: true }));
    const done = runNewSession(`${REQUEST} Success is one findings page. Read-only. Priya, the account lead, approves.`, { out: 'plans/f.md' }, s.io);
    await s.until('skills');
    await s.press(ENTER);
    await s.until('final');
    expect(s.frame()).toContain('the review failed: the reviewer is not reachable; run deepplan review plans/f.md');
    await s.press(ENTER);
    expect(await done).toBe(0);
    expect(existsSync(join(root, 'plans/f.md'))).toBe(true);
  });

  it('reviews a substantial plan as deepplan review does, shows the round, then approves and runs it on request', async () => {
    const root = makeRepo({ ...SKILLS, 'src/intake.ts': 'export const x = 1;\n' });
    const s = session(root, 'in process');
    const done = runNewSession(`${REQUEST} Success is one findings page. Read-only. Priya, the account lead, approves.`, { out: 'plans/r.md' }, s.io);
    await s.until('skills');
    await s.press(ENTER);
    const review = (await s.until('review', 30_000)) as Extract<Stage, { kind: 'review' }>;
    expect(s.frame()).toMatch(/review round 1 by offline\/rules: (APPROVED|REVISE)/);
    expect(s.frame()).toContain('❯ continue');
    const report = JSON.parse(
      readFileSync(join(root, 'reviews', parsePlan(readFileSync(join(root, 'plans/r.md'), 'utf8')).meta.id!, 'round-1.json'), 'utf8'),
    ) as { verdict: string; findings: unknown[] };
    expect(review.round.verdict).toBe(report.verdict);
    expect(review.round.findings.length).toBe(report.findings.length);
    await s.press(ENTER);
    await s.until('final');
    expect(s.frame()).toMatch(/Plan: plans\/r\.md \(\d+ phases, in_review, review (APPROVED|REVISE)\)/);
    await s.press('\u001B[A');
    await s.press(ENTER);
    if (report.verdict === 'APPROVED') {
      expect(await done).toBe(0);
      expect(s.ran).toEqual([`loop ${join(root, 'plans/r.md')}`]);
      expect(parsePlan(readFileSync(join(root, 'plans/r.md'), 'utf8')).meta.status).toBe('approved');
    } else {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(s.frame()).toContain('not approved:');
      await s.press('\u0003');
      expect(await done).toBe(130);
      expect(s.said.join('\n')).toContain('the plan is written and lints clean: plans/r.md');
    }
  });
});
