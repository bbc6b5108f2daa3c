import { mermaidBlock, planToMermaid } from '../graph/mermaid.js';
import { readPlanArgument } from './plan-argument.js';
import { EXIT } from './exit.js';

/**
 * `deepplan graph <plan> [--format mermaid|md]`: the phases as a Mermaid flowchart. `mermaid` prints the bare
 * flowchart (for mermaid-cli, an editor preview), `md` wraps it in a ```mermaid fence that GitHub renders.
 * Exit 0 printed, 1 the file is not a readable plan (or has no phases), 2 bad arguments (no such file).
 */
export async function runGraphCommand(planArgument: string, options: { format: 'mermaid' | 'md' }): Promise<number> {
  const { plan } = await readPlanArgument(planArgument, { phases: true });
  process.stdout.write(options.format === 'md' ? mermaidBlock(plan) : planToMermaid(plan));
  return EXIT.ok;
}
