// A plan writer for the multi-process tests of safe writes (test/store-processes.test.ts).
//
//   node test/support/plan-writer.mjs <plan> <count> <label> [--pause=<ms>] [--lock-wait=<ms>] [--wait-go]
//
// Appends <count> iteration-log rows to <plan>, each in its own updatePlanFile call that also sets
// state.iteration to the new number of rows (with state.phase, state.next_action and state.updated), so the
// state and the log must be in step in every version of the file. Row notes are `<label>#<n>` so the test can
// find every row of every writer.
//   --pause=<ms>      pause 0..ms between writes, so that concurrent writers interleave (default 0)
//   --lock-wait=<ms>  updatePlanFile's lockWaitMs (default: the library's)
//   --wait-go         after `ready`, wait for a line on standard input before the first write (a start barrier)
//
// Standard output, one line each, written synchronously so a SIGKILLed writer's last line tells where it died:
//   ready                    the modules are loaded
//   begin <n>                updatePlanFile for row n is called
//   end <n> <revision>       it returned; the file on disk now has this revision
//   done
// It imports the built library (dist/), so run `npm run build` first.
import { writeSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { updatePlanFile } from '../../dist/plan/store.js';

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const flags = new Map(
  process.argv
    .slice(2)
    .filter((arg) => arg.startsWith('--'))
    .map((arg) => {
      const [name, value] = arg.slice(2).split('=');
      return [name, value ?? 'true'];
    }),
);
const [planPath, countArg, label] = positional;
const count = Number(countArg);
const maxPauseMs = Number(flags.get('pause') ?? 0);
const lockWaitMs = flags.has('lock-wait') ? Number(flags.get('lock-wait')) : undefined;
const known = new Set(['pause', 'lock-wait', 'wait-go']);
if (
  positional.length !== 3 ||
  !Number.isInteger(count) ||
  count < 1 ||
  !Number.isFinite(maxPauseMs) ||
  (lockWaitMs !== undefined && !Number.isFinite(lockWaitMs)) ||
  [...flags.keys()].some((name) => !known.has(name))
) {
  process.stderr.write('usage: plan-writer.mjs <plan> <count> <label> [--pause=<ms>] [--lock-wait=<ms>] [--wait-go]\n');
  process.exit(2);
}

const say = (line) => writeSync(1, `${line}\n`);

/** Replaces the value of one `state:` key in the front matter (the key must be there exactly once). */
function setStateLine(frontMatter, key, value) {
  const pattern = new RegExp(`^(  ${key}:)[^\\r\\n]*$`, 'gm');
  const matches = frontMatter.match(pattern);
  if (!matches || matches.length !== 1) throw new Error(`expected one "  ${key}:" line in the front matter`);
  return frontMatter.replace(pattern, `$1 ${value}`);
}

/**
 * The edit of one iteration: append a log row and set state.iteration (plus phase, next_action, updated) to match.
 * It splices the text with the offsets of the plan that updatePlanFile parsed inside the lock, rather than calling
 * appendLogRow/setState, which re-parse the plan once per value: the store is under test here, and 400 writes must
 * stay fast.
 */
function iteration(n) {
  return (text, current) => {
    const log = current.log;
    if (!log || log.insertOffset === null || !current.frontMatter) throw new Error('the plan has no iteration log or front matter');
    const rows = log.rows;
    const number = rows.length + 1;
    // Inside the lock, so the time never goes back against the row above, whichever process wrote it.
    const previous = rows.length > 0 ? Date.parse(rows[rows.length - 1].when) : 0;
    const when = new Date(Math.max(Date.now(), Number.isNaN(previous) ? 0 : previous)).toISOString();
    const bom = current.bom ? 1 : 0;
    const at = log.insertOffset + bom;
    const before = text[at - 1] === '\n' ? '' : current.eol;
    const row = `${before}| ${number} | ${when} | P1 | P1.1 run write row for ${label} | ok | CONTINUE | ${label}#${n} |${current.eol}`;
    const fmEnd = current.frontMatter.contentEnd + bom;
    let frontMatter = text.slice(0, fmEnd);
    frontMatter = setStateLine(frontMatter, 'phase', 'P1');
    frontMatter = setStateLine(frontMatter, 'iteration', String(number));
    frontMatter = setStateLine(frontMatter, 'next_action', `Continue after ${label}#${n}`);
    frontMatter = setStateLine(frontMatter, 'updated', when);
    return frontMatter + text.slice(fmEnd, at) + row + text.slice(at);
  };
}

say('ready');
if (flags.has('wait-go')) {
  await new Promise((resolve, reject) => {
    process.stdin.on('data', (chunk) => {
      if (chunk.includes(10)) {
        process.stdin.destroy();
        resolve();
      }
    });
    process.stdin.on('end', () => reject(new Error('standard input closed before the go line')));
  });
}
for (let n = 1; n <= count; n++) {
  say(`begin ${n}`);
  const plan = await updatePlanFile(planPath, iteration(n), lockWaitMs === undefined ? {} : { lockWaitMs });
  say(`end ${n} ${plan.meta.state?.revision}`);
  if (maxPauseMs > 0) await delay(Math.random() * maxPauseMs);
}
say('done');
