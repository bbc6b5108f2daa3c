// The start-up snapshot of the read-only commands, `lint` and `status` (docs/performance.md, "Start-up").
//
// scripts/build.mjs bundles this file with the program into one CommonJS file, dist/snapshot/read.cjs, and
// scripts/snapshot.mjs has Node run it with --build-snapshot: the program is loaded, then `lint` and `status` run
// over sample plans in a scratch folder, so their code is compiled, and Node writes the heap to dist/snapshot/read.blob.
// The launcher (dist/cli/deepplan) starts those two commands with `node --snapshot-blob read.blob`: Node then begins
// with the program already loaded and compiled instead of loading ~1 MB of JavaScript, and calls `start` below.
//
// What the heap keeps must not depend on where or when it was built: the warm-up runs in a folder of its own (removed
// afterwards, so nothing cached under its paths can match a real one), writes nothing to the real standard streams
// (Node replaces them when the snapshot starts), and the program reads its environment, the working folder and the
// terminal when a command runs, never when a module loads. The snapshot only serves the Node binary that made it:
// the launcher uses the copy of that binary (a hard link) kept beside the blob.

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startupSnapshot } from 'node:v8';
import { clearMemos } from '../plan/memos.js';
import { main } from './program.js';

/** Runs the commands over copies of `plans` (sample plan files) in a scratch repository, their output discarded. */
async function warmUp(plans: string[]): Promise<void> {
  const home = process.cwd();
  const scratch = mkdtempSync(join(tmpdir(), 'deepplan-snapshot-'));
  const restore = [silence(process.stdout), silence(process.stderr)];
  try {
    writeFileSync(join(scratch, 'deepplan.config.yaml'), 'rules:\n  placeholder-text: error\n');
    const files = plans.map((plan, index) => {
      const file = join(scratch, `plan-${index}.md`);
      copyFileSync(plan, file);
      return file;
    });
    process.chdir(scratch);
    // Twice: the second run compiles what the first ran often enough to be worth it.
    for (let round = 0; round < 2; round++) {
      for (const format of ['text', 'json', 'github', 'sarif']) await main(['lint', ...files, '--format', format]);
      await main(['lint']);
      for (const file of files) {
        await main(['status', file]);
        await main(['status', file, '--json']);
      }
    }
    await main(['lint', join(scratch, 'missing.md')]);
    await main(['status', '--help']);
  } finally {
    for (const undo of restore) undo();
    process.chdir(home);
    rmSync(scratch, { recursive: true, force: true });
    // What the warm-up parsed and compiled stays out of the heap: a process starts with code, not with its answers.
    clearMemos();
  }
}

/** Discards what a stream is given until the returned function is called. */
function silence(stream: NodeJS.WriteStream): () => void {
  const write = stream.write;
  stream.write = ((_chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof stream.write;
  return () => {
    stream.write = write;
  };
}

/** What the snapshot runs when it starts: the command line after `node --snapshot-blob <blob>`. */
async function start(): Promise<void> {
  // A reader that stops early (`deepplan lint | head`) is not an error (as in cli/main.ts).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  process.exitCode = await main(process.argv.slice(1));
}

if (startupSnapshot.isBuildingSnapshot()) {
  // scripts/snapshot.mjs names the sample plans after the entry file.
  const plans = process.argv.slice(2);
  startupSnapshot.setDeserializeMainFunction(() => {
    start().catch((error: unknown) => {
      process.stderr.write(`deepplan: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
  });
  warmUp(plans).catch((error: unknown) => {
    process.stderr.write(`snapshot: the warm-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
