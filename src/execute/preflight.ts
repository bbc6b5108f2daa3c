import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readPlanFile, unreadableReason } from '../plan/store.js';
import type { Plan } from '../plan/types.js';
import { isInsideRepository } from '../rules/context.js';
import { countFileOperations, FILE_OPS_BLOCK, FILE_OPS_WARN } from '../rules/phase-file-ops.js';
import { EngineError } from './executors.js';
import { mappedSkills } from './history.js';
import { isExecutableFile } from './sandbox.js';
import type { IterationRun } from './iteration-run.js';
import type { NextAction } from './next.js';

const execFileAsync = promisify(execFile);

/**
 * Steps 1 and 2 of an iteration: read the plan, and the pre-flight checks that may block the next action before it
 * runs (DESIGN.md "Execution: one iteration").
 */

/** Step 1: the plan, readable, with a state and a log table, and approved for execution. */
export async function loadPlan(path: string): Promise<Plan> {
  const plan = await readPlanFile(path);
  const unreadable = unreadableReason(plan);
  if (unreadable) throw new EngineError(`${path}: ${unreadable}`);
  if (!plan.meta.state) throw new EngineError(`${path}: the front matter has no valid state: block; run deepplan lint for details`);
  if (!plan.log || plan.log.header === null) throw new EngineError(`${path}: the plan has no iteration log table; run deepplan lint for details`);
  const status = plan.meta.status;
  if (status === 'draft' || status === 'in_review') {
    const shown = relative(process.cwd(), path);
    throw new EngineError(`${shown} is ${status}, not approved; review it (deepplan review ${shown}), then approve it: deepplan approve ${shown}`);
  }
  return plan;
}

/**
 * Why the next action may not run, or null: a write scope that leaves the repository; then, for a step, a check or a
 * gate, the phase's file operations, the branch, the program and the skill it needs. Notices (a learning that
 * applies, a phase near the file limit, no git work tree) go to the events.
 */
export async function preflight(run: Pick<IterationRun, 'plan' | 'context' | 'ruleContext' | 'emit'>, next: NextAction): Promise<string | null> {
  const { plan, context, ruleContext, emit } = run;
  const badScope = (context.scope.write ?? []).find((pattern) => !isInsideRepository(pattern));
  if (badScope) return `scope.write "${badScope}" leaves the repository; fix the plan's scope`;
  if (next.kind !== 'step' && next.kind !== 'check' && next.kind !== 'gate') return null;
  const phase = next.phase;
  // Globs count the files the plan will write too, so the count is the one lint and the planner saw.
  const operations = countFileOperations(phase, ruleContext, plan.phases);
  if (operations > FILE_OPS_BLOCK) return `${phase.id} touches ${operations} files (over ${FILE_OPS_BLOCK}); split it by entity`;
  if (operations > FILE_OPS_WARN)
    emit({ type: 'notice', message: `${phase.id} touches ${operations} files (over ${FILE_OPS_WARN}); consider splitting it by entity` });
  const branch = plan.meta.branch;
  if (branch) {
    const current = await currentBranch(context.root);
    if (current === null)
      emit({ type: 'notice', message: `the plan runs on branch ${branch}, but ${context.root} is not a git work tree; branch not checked` });
    else if (current !== branch) return `the plan runs on branch ${branch} but ${current} is checked out; check out ${branch}`;
  }
  if (next.kind === 'step') {
    const tool =
      next.step.kind === 'run' ? next.step.command : next.step.kind === 'skill' ? (context.skills.skills.get(next.step.skill ?? '')?.run ?? null) : null;
    const program = tool?.trim().split(/\s+/)[0];
    if (program && !/[=$`'"]/.test(program) && !SHELL_BUILTINS.has(program) && !programExists(program, context.root, context.env['PATH']))
      return `${program} is not installed (not on PATH); install it or change the step`;
  }
  if (next.kind === 'step' && next.step.kind === 'skill') {
    const name = next.step.skill!;
    if (!context.skills.skills.has(name))
      return `skill /${name} is not installed (searched ${context.skills.searched.length} folders); install it or change the step`;
    if (!mappedSkills(plan, phase.id).includes(name))
      return `skill /${name} is not mapped to ${phase.id} in the skill audit (skill drift); map it or change the step`;
  }
  const words = new Set([phase.id.toLowerCase(), ...(next.kind === 'step' && next.step.skill ? [next.step.skill] : [])]);
  for (const learning of plan.learnings ?? []) {
    if ([...words].some((word) => learning.text.toLowerCase().includes(word))) emit({ type: 'notice', message: `learning: ${learning.text}` });
  }
  return null;
}

const SHELL_BUILTINS = new Set([
  'cd',
  'export',
  'set',
  'unset',
  'true',
  'false',
  'exit',
  'source',
  '.',
  '[',
  'test',
  'echo',
  'printf',
  'read',
  'eval',
  'exec',
  'command',
  'type',
  ':',
]);

/** Whether a command's program can be found: a path in the repository, or a name on PATH. */
function programExists(program: string, root: string, path: string | undefined): boolean {
  if (program.includes('/')) return existsSync(resolve(root, program));
  return (path ?? '').split(':').some((dir) => dir !== '' && isExecutableFile(join(dir, program)));
}

async function currentBranch(root: string): Promise<string | null> {
  try {
    // symbolic-ref names the branch even before its first commit; a detached HEAD has none.
    const { stdout } = await execFileAsync('git', ['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd: root });
    return stdout.trim();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return code === 1 ? '(detached HEAD)' : null;
  }
}
