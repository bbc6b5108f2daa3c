import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bubblewrapAvailable, commandEnvironment, runCommand, writableFolder, type SandboxOptions } from '../src/execute/sandbox.js';
import { makeRepo, SMALL_PLAN } from './support/fixtures.js';

// .ci/run installs bubblewrap; on a machine without it these tests say so instead of passing.
const withBubblewrap = bubblewrapAvailable() ? describe : describe.skip;
if (!bubblewrapAvailable()) console.warn('sandbox tests skipped: bubblewrap (bwrap) is not installed (apt-get install bubblewrap)');

function repo(): SandboxOptions {
  const root = makeRepo({ 'plans/p.md': SMALL_PLAN, 'src/app.ts': 'export {};\n', 'notes/keep.md': 'keep\n' });
  mkdirSync(join(root, 'elsewhere'));
  return {
    root,
    writable: ['out/**', 'notes/*.md'],
    planPath: join(root, 'plans/p.md'),
    timeoutMs: 10_000,
    env: { ...process.env, ANTHROPIC_API_KEY: 'sk-ant-secret-0123456789', PATH: process.env['PATH'] },
  };
}

describe('the command environment', () => {
  it('takes the API keys out', () => {
    const env = commandEnvironment({
      PATH: '/usr/bin',
      ANTHROPIC_API_KEY: 'a',
      OPENAI_API_KEY: 'b',
      GEMINI_API_KEY: 'c',
      GOOGLE_API_KEY: 'd',
      GITHUB_TOKEN: 'e',
      HOME: '/root',
    });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/root' });
  });

  it('makes the folder of each scope.write glob writable', () => {
    expect(['drafts/**', 'handoff/owner.md', 'crm/*/sync.json', 'a/b/*.md'].map(writableFolder)).toEqual(['drafts', 'handoff', 'crm', 'a/b']);
  });
});

withBubblewrap('commands under bubblewrap', () => {
  it('may write inside scope.write, nowhere else, and never the plan file', async () => {
    const options = repo();
    const inside = await runCommand('echo done > out/result.md', options);
    expect(inside).toMatchObject({ code: 0, sandboxed: true });
    expect(readFileSync(join(options.root, 'out/result.md'), 'utf8')).toBe('done\n');
    for (const escape of [
      'echo x > src/app.ts',
      'echo x > out/../src/app.ts',
      'echo x > elsewhere/new.md',
      `echo x > ${join(options.root, 'elsewhere', 'abs.md')}`,
      'echo x > /etc/deepplan-test',
      'echo "<!-- forged -->" >> plans/p.md',
    ]) {
      const result = await runCommand(escape, options);
      expect(result.code, escape).not.toBe(0);
      expect(result.stderr, escape).toMatch(/Read-only file system|Permission denied/);
    }
    expect(readFileSync(join(options.root, 'src/app.ts'), 'utf8')).toBe('export {};\n');
    expect(readFileSync(join(options.root, 'plans/p.md'), 'utf8')).toBe(SMALL_PLAN);
    expect(existsSync(join(options.root, 'elsewhere/new.md'))).toBe(false);
  });

  it('keeps the plan read-only even inside a writable folder, and without scope makes the existing top-level entries writable', async () => {
    const options = { ...repo(), writable: null };
    expect((await runCommand('echo x > src/new.ts', options)).code).toBe(0);
    // A plan kept in a folder the scope makes writable stays read-only, and so do the plans beside it.
    const root = makeRepo({ 'work/p.md': SMALL_PLAN, 'work/q.md': SMALL_PLAN });
    const inWork = { ...repo(), root, planPath: join(root, 'work/p.md'), writable: ['work/**'] };
    expect((await runCommand('echo x > work/notes.md', inWork)).code).toBe(0);
    for (const target of ['work/p.md', 'work/q.md']) {
      expect((await runCommand(`echo x >> ${target}`, inWork)).code, target).not.toBe(0);
      expect(readFileSync(join(root, target), 'utf8')).toBe(SMALL_PLAN);
    }
    expect(() => runCommand('true', { ...options, writable: ['plans/**'] })).toThrow('scope.write "plans/**" covers plans, which deepplan reads');
  });

  it("never makes git's folder, the dependencies or deepplan's state writable, whatever the scope", async () => {
    const options = repo();
    for (const folder of ['.git/hooks', 'node_modules/pkg', '.deepplan/runs']) mkdirSync(join(options.root, folder), { recursive: true });
    expect(() => runCommand('true', { ...options, writable: ['.git/hooks/*'] })).toThrow('scope.write ".git/hooks/*" is in .git/, which commands never write');
    for (const writable of [null, ['out/**']]) {
      for (const target of ['.git/hooks/pre-commit', 'node_modules/pkg/index.js', '.deepplan/runs/forged.jsonl']) {
        const result = await runCommand(`echo x > ${target}`, { ...options, writable });
        expect(result.code, `${target} with scope.write ${JSON.stringify(writable)}`).not.toBe(0);
        expect(existsSync(join(options.root, target))).toBe(false);
      }
    }
  });

  it('does not follow a symlink in scope out of it', async () => {
    const options = repo();
    mkdirSync(join(options.root, 'out'), { recursive: true });
    symlinkSync(join(options.root, 'src'), join(options.root, 'out', 'link'));
    const result = await runCommand('echo x > out/link/app.ts', options);
    expect(result.code).not.toBe(0);
    expect(readFileSync(join(options.root, 'src/app.ts'), 'utf8')).toBe('export {};\n');
  });

  it('has no network and no API keys', async () => {
    const server = createServer((_, response) => response.end('reached'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const options = repo();
      const result = await runCommand(
        `node -e "fetch('http://127.0.0.1:${port}').then(r => r.text()).then(console.log, e => { console.log('blocked'); })"; echo "key=[$ANTHROPIC_API_KEY]"`,
        options,
      );
      expect(result.stdout).toContain('blocked');
      expect(result.stdout).not.toContain('reached');
      expect(result.stdout).toContain('key=[]');
      const open = await runCommand(`node -e "fetch('http://127.0.0.1:${port}').then(r => r.text()).then(console.log)"`, { ...options, network: true });
      expect(open.stdout).toContain('reached');
    } finally {
      server.close();
    }
  });

  it('stops a command at the time limit', async () => {
    const started = Date.now();
    const result = await runCommand('sleep 30', { ...repo(), timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
