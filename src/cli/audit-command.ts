import { dirname, relative } from 'node:path';
import { findRepoRoot, loadConfig } from '../config/config.js';
import { auditPlan, renderAuditMarkdown, verifyContext } from '../execute/audit.js';
import { EngineError, runVerify } from '../execute/executors.js';
import { mermaidBlock } from '../graph/mermaid.js';
import { createRuleContext } from '../rules/context.js';
import { readPlanArgument } from './plan-argument.js';
import { EXIT, UserError } from './exit.js';

/**
 * `deepplan audit <plan> [--format md|json] [--no-sandbox]`: Required vs Delivered per phase and step, with the
 * evidence. Exit 0 when every phase is delivered and every success criterion is met, 1 when something required is
 * not delivered (or the file is not a readable plan), 2 for bad arguments (no such file, an unreadable config,
 * no bubblewrap without --no-sandbox).
 */
export async function runAuditCommand(planArgument: string, options: { format: 'md' | 'json'; sandbox?: boolean }): Promise<number> {
  const { plan, path: planPath } = await readPlanArgument(planArgument, { phases: true });

  const root = findRepoRoot(dirname(planPath));
  const config = loadConfig(root);
  const context = verifyContext(plan, { root, planPath, config, sandbox: options.sandbox !== false });
  const ruleContext = createRuleContext(root, config);
  let report;
  try {
    report = await auditPlan(plan, {
      path: relative(process.cwd(), planPath) || planPath,
      verify: (command) => runVerify(command, context),
      expand: (pattern) => ruleContext.expand(pattern),
    });
  } catch (error) {
    // No bubblewrap: the verify commands cannot run as asked; the audit itself failed.
    if (error instanceof EngineError) throw new UserError(error.message);
    throw error;
  }
  process.stdout.write(options.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderAuditMarkdown(report, { graph: mermaidBlock(plan) }));
  return report.delivered ? EXIT.ok : EXIT.failed;
}
