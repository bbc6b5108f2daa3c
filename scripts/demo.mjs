// npm run demo: the whole offline flow so far, with no API key and no network.
//   1. lint the example plans;  2. ping every model role on the offline engine;
//   3. plan an outreach campaign from a request in a scratch copy of the example skills, and lint the result.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const env = { ...process.env, DEEPPLAN_OFFLINE: '1' };

function step(title, args, cwd = root) {
  process.stdout.write(`\n── ${title}\n$ deepplan ${args.map((arg) => (/\s/.test(arg) ? JSON.stringify(arg) : arg)).join(' ')}\n`);
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, env, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`demo: "deepplan ${args[0]}" exited ${result.status}\n`);
    process.exit(result.status ?? 1);
  }
}

step('1. Lint the example plans', ['lint']);
step('2. Every model role answers on the offline engine', ['doctor', '--ping']);

const scratch = mkdtempSync(join(tmpdir(), 'deepplan-demo-'));
mkdirSync(join(scratch, '.git'));
cpSync(join(root, 'examples', '.claude'), join(scratch, '.claude'), { recursive: true });
const request =
  'Run an outreach for Mod Op: one email per person on the buying committee. Drafts only; nothing is sent. Michael, the CEO, approves.';
step(`3. Plan an outreach campaign offline (in ${scratch})`, ['plan', '--request', request, '--out', 'plans/modop.md'], scratch);
const plan = readFileSync(join(scratch, 'plans', 'modop.md'), 'utf8').split('\n');
process.stdout.write(`\n${plan.slice(0, 60).join('\n')}\n… (${plan.length} lines in ${join(scratch, 'plans', 'modop.md')})\n`);
step('4. The new plan lints', ['lint', 'plans/modop.md'], scratch);
process.stdout.write('\ndemo: done\n');
