import { dirname, resolve } from 'node:path';
import { findRepoRoot } from '../config/config.js';
import { checkPlanPath, pathExists, PlanFileError, readPlanFileSync, unreadableReason } from '../plan/store.js';
import type { Plan } from '../plan/types.js';
import { EXIT, UserError } from './exit.js';

/**
 * The plan file a command's `<plan>` argument names, checked before anything reads it: a regular file inside the
 * repository once its symlinks are resolved (not a folder, a device, a FIFO or a socket, not a symlink out of the
 * repository). Anything else is a one-line usage error (exit 2). The argument is a path, never a glob.
 */
export function planPathArgument(planArgument: string): { path: string; root: string } {
  const path = resolve(planArgument);
  if (!pathExists(path)) throw new UserError(`${planArgument}: no such file`);
  const root = findRepoRoot(dirname(path));
  try {
    checkPlanPath(planArgument, { root });
  } catch (error) {
    if (error instanceof PlanFileError) throw new UserError(error.message);
    throw error;
  }
  return { path, root };
}

/**
 * The plan a command's `<plan>` argument names, read for a command that only reads it (status, graph, audit).
 * A missing file or one that is no plan file at all (planPathArgument) is a usage error (exit 2); a file that is no
 * readable plan, or, with `phases`, a plan without phases, fails (exit 1). Each is one line.
 */
export async function readPlanArgument(planArgument: string, options: { phases?: boolean } = {}): Promise<{ plan: Plan; path: string }> {
  const { path, root } = planPathArgument(planArgument);
  let plan: Plan;
  try {
    plan = readPlanFileSync(path, { root });
  } catch (error) {
    if (error instanceof PlanFileError) throw new UserError(error.message);
    throw error;
  }
  const unreadable = unreadableReason(plan);
  if (unreadable) throw new UserError(`${planArgument}: ${unreadable}`, EXIT.failed);
  if (options.phases && plan.frontMatter === null)
    throw new UserError(`${planArgument}: not a plan file (no front matter); run deepplan lint for details`, EXIT.failed);
  if (options.phases && plan.phases.length === 0)
    throw new UserError(`${planArgument}: the plan has no phases (### P1. ... under ## Phases); run deepplan lint for details`, EXIT.failed);
  return { plan, path };
}
