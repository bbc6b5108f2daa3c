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

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startupSnapshot } from 'node:v8';
import { clearMemos } from '../plan/memos.js';
import { main, prebuildProgram } from './program.js';

/**
 * A skill in the scratch repository, so that finding and reading skills (their SKILL.md front matter, through YAML
 * and its schema) is compiled too: every real repository the bench or a user lints has some.
 */
const WARM_UP_SKILL = [
  '---',
  'name: warm-up-export',
  'description: Exports a table to an archive; used only while the start-up snapshot is built.',
  'allowed-tools: Bash, Read',
  'metadata:',
  '  run: node export.mjs',
  '  irreversible: false',
  '---',
  '',
  'Export the table.',
  '',
].join('\n');

/**
 * What the sample plans read, as a repository holds it: records of people with titles, a deal, a briefing that names
 * them, a source of over 3,000 lines and skills the plans map, with the YAML a SKILL.md uses (quoted strings, a flow
 * list, contracts). A rule's code that reads files is compiled only if the warm-up gives it files to read; without
 * them every restored lint compiled ~50 such functions (~2 ms).
 */
function writeWarmUpRepository(scratch: string): void {
  const files: Record<string, string> = {
    'crm/contacts/mod-op/michael.yaml': 'name: Michael\ntitle: CEO\nemail: michael@example.com\n',
    'crm/contacts/mod-op/priya.yaml': 'name: Priya\ntitle: "Account lead"\n',
    'crm/contacts/mod-op/sam.yaml': "name: Sam\ntitle: 'Marketing operations'\n",
    'crm/deals/mod-op.yaml': 'name: Mod Op\nstage: discovery\nowner: Michael\namount: 120000\n',
    'briefings/mod-op.md': '# Mod Op\n\nMichael, the CEO, owns the deal. Priya — account lead — wrote this briefing.\n',
    'committee/mod-op.yaml': 'people:\n  - name: Priya\n    title: Account lead\n',
    'docs/onboarding/guide.md': Array.from({ length: 3_200 }, (_, index) => `Line ${index + 1} of the onboarding guide.`).join('\n'),
  };
  for (const [name, description] of [
    ['account-briefing', 'Writes a "one-page" account briefing from the CRM records.'],
    ['generate-outreach-email', 'Drafts one email per persona, in the house voice.'],
  ] as const) {
    files[`.claude/skills/${name}/SKILL.md`] = [
      '---',
      `name: ${name}`,
      `description: "${description}"`,
      'allowed-tools: [Read, Write]',
      'metadata:',
      '  reads: ["crm/contacts/<account>/*.yaml", briefings/<account>.md]',
      '  writes: [drafts/<account>.md]',
      '---',
      '',
      `How to use ${name}.`,
      '',
    ].join('\n');
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(scratch, path, '..'), { recursive: true });
    writeFileSync(join(scratch, path), text);
  }
}

/**
 * The text the warm-up lints and reads: a sample plan with a space after each line. The commands take the same paths
 * through it, but no cache keyed by a plan's text (parsed Markdown, decoded bytes, log rows) is left holding the text
 * of a real plan: a restored process starts with nothing it could find again, as it would on the user's plans.
 */
function warmUpText(text: string): string {
  return text.replace(/\r?\n/g, ' \n');
}

/** Runs one command; a warm-up that stops at a usage error would snapshot code it never ran. */
async function warm(argv: string[], expected: number[]): Promise<void> {
  const code = await main(argv);
  if (!expected.includes(code)) throw new Error(`\`deepplan ${argv.join(' ')}\` exited with ${code} in the warm-up, not ${expected.join(' or ')}`);
}

/** Runs the commands over copies of `plans` (sample plan files) in a scratch repository, their output discarded. */
async function warmUp(plans: string[]): Promise<void> {
  const home = process.cwd();
  const scratch = mkdtempSync(join(tmpdir(), 'deepplan-snapshot-'));
  const restore = [silence(process.stdout), silence(process.stderr)];
  try {
    // A configuration that sets a rule and names a skills folder, as a repository's does.
    writeFileSync(join(scratch, 'deepplan.config.yaml'), 'skills:\n  paths: [tools/skills]\nrules:\n  placeholders: error\n');
    mkdirSync(join(scratch, 'tools', 'skills', 'warm-up-export'), { recursive: true });
    writeFileSync(join(scratch, 'tools', 'skills', 'warm-up-export', 'SKILL.md'), WARM_UP_SKILL);
    writeWarmUpRepository(scratch);
    const files = plans.map((plan, index) => {
      const file = join(scratch, `plan-${index}.md`);
      writeFileSync(file, warmUpText(readFileSync(plan, 'utf8')));
      return file;
    });
    process.chdir(scratch);
    // Lint exits 1 on a plan with errors, 0 without; 2 (a usage or configuration error) means the rules never ran.
    const linted = [0, 1];
    // Twice: the second run compiles what the first ran often enough to be worth it.
    for (let round = 0; round < 2; round++) {
      // Not sarif: its fingerprints load node:crypto, ~0.3 MB more heap for every start to restore (~1.5 % of a lint);
      // a sarif run loads it when it needs it (~2 ms).
      for (const format of ['text', 'json', 'github']) await warm(['lint', ...files, '--format', format], linted);
      for (const file of files) await warm(['lint', file], linted);
      await warm(['lint'], [0]);
      for (const file of files) {
        await warm(['status', file], [0]);
        await warm(['status', file, '--json'], [0]);
      }
    }
    await warm(['lint', join(scratch, 'missing.md')], [2]);
    await warm(['status', '--help'], [0]);
  } finally {
    for (const undo of restore) undo();
    process.chdir(home);
    rmSync(scratch, { recursive: true, force: true });
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
  const code = await main(process.argv.slice(1));
  // Once what was written has reached the streams, end the process: returning would have Node tear the heap down
  // first, freeing and unmapping every page the restored program used, which nothing needs from a read-only command
  // that is done (~3 % of a lint). 'exit' listeners still run. (On Linux Node writes its standard streams
  // synchronously, pipes and sockets too; the wait is for a platform where a pipe's writes are queued.)
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  process.exit(code);
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
  warmUp(plans)
    // After the warm-up, so the program the restored process parses its command line with is one no run has used.
    .then(() => {
      // What the warm-up's plans left in the memos keyed by their text or paths (parsed Markdown, decoded bytes, rule
      // contexts, paths, globs; src/plan/memos.ts): heap every start would restore and never use.
      clearMemos();
      prebuildProgram();
    })
    .catch((error: unknown) => {
      process.stderr.write(`snapshot: the warm-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
}
