import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { mermaidBlock, planToMermaid } from '../graph/mermaid.js';
import { PlanFileError, readPlanFile, unreadableReason } from '../plan/store.js';
import type { Plan } from '../plan/types.js';
import { EXIT, UserError } from './program.js';

/**
 * `deepplan graph <plan> [--format mermaid|md]`: the phases as a Mermaid flowchart. `mermaid` prints the bare
 * flowchart (for mermaid-cli, an editor preview), `md` wraps it in a ```mermaid fence that GitHub renders.
 * Exit 0 printed, 1 the file is not a readable plan (or has no phases), 2 bad arguments (no such file).
 */
export async function runGraphCommand(planArgument: string, options: { format: 'mermaid' | 'md' }): Promise<number> {
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
  if (plan.phases.length === 0) throw new UserError(`${planArgument}: the plan has no phases (### P1. ... under ## Phases); run deepplan lint for details`, EXIT.failed);
  process.stdout.write(options.format === 'md' ? mermaidBlock(plan) : planToMermaid(plan));
  return EXIT.ok;
}
