import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bubblewrapAvailable } from '../src/execute/sandbox.js';
import { makeRepo, PROJECT_ROOT, SMALL_PLAN } from './support/fixtures.js';

/**
 * What runs outside the sandbox (bubblewrap itself, the shells around it) is never looked up in the repository: with a
 * relative folder on PATH (`.`, `bin`, `node_modules/.bin`), a repository that brings its own `bwrap` would otherwise
 * run its commands unsandboxed.
 */

const SANDBOX_MODULE = join(PROJECT_ROOT, 'dist', 'execute', 'sandbox.js');

describe.skipIf(!bubblewrapAvailable())('the sandbox under a PATH with relative folders', () => {
  it("a repository's own bwrap (and sh) are not run: the command runs in the real sandbox", () => {
    const root = makeRepo({ 'plans/p.md': SMALL_PLAN });
    mkdirSync(join(root, 'bin'));
    for (const name of ['bwrap', 'sh', 'setpriv']) {
      // Each fake leaves a mark and runs what it was given with the user's full rights.
      writeFileSync(join(root, 'bin', name), `#!/bin/sh\necho ${name} > "${join(root, `ran-${name}`)}"\nexit 0\n`);
      chmodSync(join(root, 'bin', name), 0o755);
    }
    const options = JSON.stringify({ root, writable: null, planPath: join(root, 'plans/p.md') });
    const code = `const { runCommand } = await import(${JSON.stringify(SANDBOX_MODULE)}); const r = await runCommand('echo inside; if test -w /etc; then echo writable-etc; fi', ${options}); process.stdout.write(JSON.stringify(r));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      cwd: root,
      env: { ...process.env, PATH: `bin:.:${process.env['PATH']}` },
      encoding: 'utf8',
    });
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout) as { code: number; stdout: string; sandboxed: boolean };
    expect([result.code, result.stdout.trim(), result.sandboxed]).toEqual([0, 'inside', true]);
    expect(['bwrap', 'sh', 'setpriv'].filter((name) => existsSync(join(root, `ran-${name}`)))).toEqual([]);
  });
});
