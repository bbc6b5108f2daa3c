import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { runNewSession, type NewSessionIo } from '../src/cli/new-command.js';
import { UserError } from '../src/cli/exit.js';
import { NewScreen, type NewStore, type Stage } from '../src/ui/new-screen.js';
import { makeRepo } from './support/fixtures.js';
import { NEW_SESSION_SKILLS, withoutProviderKeys } from './support/new-session.js';

/** `deepplan new` goes on from a Ctrl-C draft (@<draft folder>), and refuses an --out that exists before any screen. */

const ENTER = '\r';
const SKILLS = NEW_SESSION_SKILLS;
const REQUEST = 'Research for the newsletter team: what does src/intake.ts do with the subscriber list?';

withoutProviderKeys();

function session(root: string) {
  let store: NewStore | undefined;
  let view!: ReturnType<typeof render>;
  const said: string[] = [];
  const asked: string[] = [];
  let mounted = false;
  const io: NewSessionIo = {
    cwd: root,
    signal: new AbortController().signal,
    async mount(newStore, actions) {
      mounted = true;
      store = newStore;
      store.subscribe(() => {
        const stage = newStore.get().stage;
        if (stage.kind === 'question' && asked.at(-1) !== stage.question.id) asked.push(stage.question.id);
      });
      view = render(<NewScreen store={newStore} actions={actions} />);
      return view;
    },
    say: (line) => said.push(line),
    review: async () => ({ message: null, failed: false }),
    run: async () => 0,
    today: '2026-11-22',
    now: '2026-11-22T10:00:00Z',
  };
  async function until(kind: Stage['kind'], timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (store?.get().stage.kind !== kind) {
      if (Date.now() > deadline) throw new Error(`the ${kind} screen never came; at ${store?.get().stage.kind}:\n${view?.lastFrame()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 120));
  }
  async function press(keys: string) {
    view.stdin.write(keys);
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
  /** Enter at every screen until the session ends. */
  async function finish(done: Promise<number>): Promise<number> {
    let result: number | undefined;
    let failed: unknown = null;
    done.then(
      (code) => (result = code),
      (error: unknown) => (failed = error ?? new Error('failed')),
    );
    const deadline = Date.now() + 30_000;
    while (result === undefined) {
      if (failed) throw failed;
      if (Date.now() > deadline) throw new Error(`the session did not end; at ${store?.get().stage.kind}`);
      const kind = store?.get().stage.kind;
      if (kind === 'question' || kind === 'skills' || kind === 'review' || kind === 'final') {
        await new Promise((resolve) => setTimeout(resolve, 120));
        await press(ENTER);
      }
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    return result;
  }
  return { io, said, asked, until, press, finish, mounted: () => mounted, frame: () => view.lastFrame()! };
}

describe('deepplan new @<draft>', () => {
  it('goes on from a Ctrl-C draft: the answers given are not asked again, and a second Ctrl-C saves into the same draft', async () => {
    const root = makeRepo({ ...SKILLS, 'src/intake.ts': 'export const subscribers = [];\n' });
    const first = session(root);
    const done = runNewSession(REQUEST, {}, first.io);
    await first.until('question');
    const firstQuestion = first.asked[0]!;
    await first.press('Priya Raman signs the risk list off before the deal review');
    await first.press(ENTER);
    await first.until('question');
    await first.press('\u0003');
    expect(await done).toBe(130);
    const message = first.said.join('\n');
    const resume = /continue on this terminal with:\n {2}deepplan new @(\S+)/.exec(message);
    expect(resume, message).not.toBeNull();
    const draft = resume![1]!;
    expect(existsSync(join(root, draft, 'request.md'))).toBe(true);

    // Resumed: the first question is answered from the draft, the session asks the next one; Ctrl-C again.
    const second = session(root);
    const again = runNewSession(`@${draft}`, {}, second.io);
    await second.until('question');
    expect(second.asked[0]).not.toBe(firstQuestion);
    expect(second.frame()).toContain(`resuming ${draft}/: 1 answer(s) given before`);
    await second.press('\u0003');
    expect(await again).toBe(130);
    expect(second.said.join('\n')).toContain(`deepplan new @${draft}`);

    // The newest draft of .deepplan/drafts, to the end: the plan carries the answer given in the first session.
    const third = session(root);
    expect(await third.finish(runNewSession('@.deepplan/drafts', {}, third.io))).toBe(0);
    expect(third.asked).not.toContain(firstQuestion);
    const plans = join(root, 'plans');
    const written = readFileSync(join(plans, readdirPlan(plans)), 'utf8');
    expect(written).toContain('Priya Raman signs the risk list off before the deal review');
  });

  it('refuses a folder that holds no draft, before any screen (exit 2)', async () => {
    const root = makeRepo({ ...SKILLS, 'notes/.keep': '' });
    const s = session(root);
    await expect(runNewSession('@notes', {}, s.io)).rejects.toThrow(/notes is a folder but holds no draft/);
    expect(s.mounted()).toBe(false);
  });
});

describe('deepplan new and the plan file', () => {
  it('refuses an --out that exists before the interview starts', async () => {
    const root = makeRepo({ ...SKILLS, 'plans/deal-review.md': '# kept\n' });
    const s = session(root);
    const error = await runNewSession(REQUEST, { out: 'plans/deal-review.md' }, s.io).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(/plans\/deal-review\.md exists; choose another --out or pass --force/);
    expect(s.mounted()).toBe(false);
    expect(readFileSync(join(root, 'plans/deal-review.md'), 'utf8')).toBe('# kept\n');
  });

  it('writes next to a default plans/<id>.md that exists instead of throwing the interview away', async () => {
    const root = makeRepo({ ...SKILLS, 'src/intake.ts': 'export const subscribers = [];\n' });
    // The first session writes plans/<id>.md; the second, with the same request, must not overwrite it.
    const first = session(root);
    expect(await first.finish(runNewSession(REQUEST, {}, first.io))).toBe(0);
    const name = readdirPlan(join(root, 'plans'));
    const before = readFileSync(join(root, 'plans', name), 'utf8');
    const second = session(root);
    expect(await second.finish(runNewSession(REQUEST, {}, second.io))).toBe(0);
    const next = name.replace(/\.md$/, '-2.md');
    expect(existsSync(join(root, 'plans', next))).toBe(true);
    expect(readFileSync(join(root, 'plans', name), 'utf8')).toBe(before);
    expect(second.said.join('\n')).toContain(`plans/${next} is ready`);
  });
});

function readdirPlan(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const names = readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort();
  return names[0]!;
}
