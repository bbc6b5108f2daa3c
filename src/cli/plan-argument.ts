import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { PlanFileError, readPlanFile, unreadableReason } from '../plan/store.js';
import type { Plan } from '../plan/types.js';
import { EXIT, UserError } from './program.js';

/**
 * The plan a command's `<plan>` argument names, read for a command that only reads it (status, graph, audit).
 * A missing file or a folder is a usage error (exit 2); a file that is no readable plan, or, with `phases`, a plan
 * without phases, fails (exit 1). Each is one line.
 */
export async function readPlanArgument(planArgument: string, options: { phases?: boolean } = {}): Promise<{ plan: Plan; path: string }> {
  const path = resolve(planArgument);
  if (!existsSync(path)) throw new UserError(`${planArgument}: no such file`);
  if (statSync(path).isDirectory()) throw new UserError(`${planArgument} is a directory; give a plan file`);
  let plan: Plan;
  try {
    plan = await readPlanFile(path);
  } catch (error) {
    if (error instanceof PlanFileError) throw new UserError(error.message);
    throw error;
  }
  const unreadable = unreadableReason(plan);
  if (unreadable) throw new UserError(`${planArgument}: ${unreadable}`, EXIT.failed);
  if (options.phases && plan.frontMatter === null) throw new UserError(`${planArgument}: not a plan file (no front matter); run deepplan lint for details`, EXIT.failed);
  if (options.phases && plan.phases.length === 0) throw new UserError(`${planArgument}: the plan has no phases (### P1. ... under ## Phases); run deepplan lint for details`, EXIT.failed);
  return { plan, path };
}
