import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bubblewrapAvailable } from '../src/execute/sandbox.js';
import { makeRepo, PROJECT_ROOT, SMALL_PLAN } from './support/fixtures.js';
import { otherProcesses } from './support/processes.js';

/**
 * A run killed outright (SIGKILL, the OOM killer) cleans nothing up. The command it had started must die with it, at
 * whatever moment the kill comes, most of all the first milliseconds, before bubblewrap's own --die-with-parent holds
 * (before the fix, killed 0-4 ms after the start: more than half of the sandboxed commands and every unsandboxed one
 * ran on, and one left in a removed working copy spun on the CPU for good).
 */

const SANDBOX_MODULE = join(PROJECT_ROOT, 'dist', 'execute', 'sandbox.js');

/** The processes whose command line holds `tag`. */
function processesWith(tag: string): string[] {
  return otherProcesses()
    .filter(({ command }) => command.includes(tag))
    .map(({ pid, command }) => `${pid} ${command.slice(0, 120)}`);
}

/** A process that starts `sleep 30 # <tag>` through runCommand and is SIGKILLed `delayMs` after the start returned. */
async function startAndKill(root: string, tag: string, unsandboxed: boolean, delayMs: number): Promise<void> {
  const options = JSON.stringify({ root, writable: null, planPath: join(root, 'plans/p.md'), unsandboxed, timeoutMs: 60_000 });
  const code = `const { runCommand } = await import(${JSON.stringify(SANDBOX_MODULE)}); runCommand('sleep 30 # ${tag}', ${options}); process.stdout.write('started');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => setTimeout(resolve, delayMs));
    child.on('exit', () => reject(new Error(`the process ended before it was killed: ${stderr}`)));
  });
  child.kill('SIGKILL');
  await exited;
}

async function survivorsAfterKills(unsandboxed: boolean): Promise<string[]> {
  const root = makeRepo({ 'plans/p.md': SMALL_PLAN });
  const tag = `orphan-probe-${process.pid}-${Date.now()}`;
  // Killed at once, and then a little later each time: the first milliseconds are where the gap was.
  for (const delayMs of [0, 0, 1, 1, 2, 3, 4, 0, 1, 2, 50, 150]) await startAndKill(root, tag, unsandboxed, delayMs);
  // A command that outlived its run is still there a second later; one that died with it is gone.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const left = processesWith(tag);
  if (left.length > 0) spawnSync('pkill', ['-KILL', '-f', tag]);
  return left;
}

const withSetpriv = existsSync('/usr/bin/setpriv') ? describe : describe.skip;

withSetpriv('a command dies with the run that started it, however early the run is killed', () => {
  it.skipIf(!bubblewrapAvailable())(
    'sandboxed: no process of a killed run lives on',
    async () => {
      expect(await survivorsAfterKills(false)).toEqual([]);
    },
    60_000,
  );

  it('unsandboxed (--no-sandbox): no process of a killed run lives on', async () => {
    expect(await survivorsAfterKills(true)).toEqual([]);
  }, 60_000);

  it('a command still gets its standard input and gives its exit code through the watching shell', async () => {
    const { runCommand } = await import('../src/execute/sandbox.js');
    const root = makeRepo({ 'plans/p.md': SMALL_PLAN });
    const result = await runCommand('read line; echo "got $line"; exit 7', {
      root,
      writable: null,
      planPath: join(root, 'plans/p.md'),
      unsandboxed: true,
      input: 'hello\n',
    });
    expect([result.code, result.stdout.trim()]).toEqual([7, 'got hello']);
  });
});
