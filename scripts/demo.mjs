// npm run demo: the whole flow offline, with no API key and no network.
//   1. lint the example plans;  2. ping every model role on the offline engine;
//   3. in a scratch copy of examples/outreach: plan the Mod Op outreach from one sentence (the automatic review
//      follows), approve the plan, run it to the deal owner's gate, approve the gate, run it to TASK_COMPLETE,
//      and print the audit.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const env = { ...process.env, DEEPPLAN_OFFLINE: '1' };

function step(title, args, cwd = root, expected = [0]) {
  process.stdout.write(`\n── ${title}\n$ deepplan ${args.map((arg) => (/\s/.test(arg) ? JSON.stringify(arg) : arg)).join(' ')}\n`);
  const lint = args[0] === 'lint';
  // A lint step shows its output and must find nothing at all: a warning (phase-count, phase-file-ops) fails the demo.
  const colour = lint && process.stdout.isTTY && !process.env.NO_COLOR ? { FORCE_COLOR: '1' } : {};
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd,
    env: { ...env, ...colour },
    stdio: lint ? ['ignore', 'pipe', 'inherit'] : 'inherit',
    encoding: 'utf8',
  });
  if (lint) process.stdout.write(result.stdout);
  if (!expected.includes(result.status)) {
    process.stderr.write(`demo: "deepplan ${args[0]}" exited ${result.status}; expected ${expected.join(' or ')}\n`);
    process.exit(result.status || 1);
  }
  if (lint && !/linted, no problems/.test(result.stdout)) {
    process.stderr.write(`demo: "deepplan ${args.join(' ')}" found problems; the demo's plans lint clean\n`);
    process.exit(1);
  }
}

step('1. Lint the example plans', ['lint']);
step('2. Every model role answers on the offline engine', ['doctor', '--ping']);

const scratch = mkdtempSync(join(tmpdir(), 'deepplan-demo-'));
cpSync(join(root, 'examples', 'outreach'), scratch, { recursive: true });
mkdirSync(join(scratch, '.git'));
const request = 'Run an outreach for Mod Op: one email per person on the buying committee. Drafts only; nothing is sent. Michael, the CEO, approves.';
step(`3. Plan the outreach offline, then the automatic review (in ${scratch})`, ['plan', '--request', request, '--out', 'plans/modop.md'], scratch);
const plan = readFileSync(join(scratch, 'plans', 'modop.md'), 'utf8').split('\n');
process.stdout.write(`\n${plan.slice(0, 48).join('\n')}\n… (${plan.length} lines in ${join(scratch, 'plans', 'modop.md')})\n`);
step('4. The plan lints', ['lint', 'plans/modop.md'], scratch);
step('5. A person signs the reviewed plan off', ['approve', 'plans/modop.md'], scratch);
step("6. Run it: the first phase stops at the deal owner's gate", ['run', 'plans/modop.md', '--loop'], scratch, [3]);
step('7. The deal owner approves', ['approve', 'plans/modop.md', 'P1', '--by', 'Michael', '--note', 'go ahead, drafts only'], scratch);
step('8. Run it to the end', ['run', 'plans/modop.md', '--loop'], scratch);
step('9. Where it stands', ['status', 'plans/modop.md'], scratch);
step('10. The audit: required vs delivered', ['audit', 'plans/modop.md'], scratch);
step('11. The finished plan lints', ['lint', 'plans/modop.md'], scratch);
process.stdout.write('\ndemo: done\n');
