import { findRepoRoot, loadConfig } from '../config/config.js';
import { doctorReport, roleTable } from '../models/doctor.js';
import { noticeOfflineRoles } from '../models/roles.js';
import { ModelRunner } from '../models/runner.js';
import { NO_BUBBLEWRAP, sandboxCapabilities, type SandboxCapabilities } from '../execute/sandbox.js';
import { EXIT } from './exit.js';

export interface DoctorOptions {
  ping?: boolean;
  json?: boolean;
  color: boolean;
  /** The day the price ages are counted to (default: today). */
  today?: Date;
}

/** `deepplan doctor`: each role's model, whether its key and base URL are set, and with --ping whether it answers. */
export async function runDoctorCommand(options: DoctorOptions, signal: AbortSignal): Promise<number> {
  const root = findRepoRoot(process.cwd());
  const config = loadConfig(root);
  const runner = new ModelRunner({ config, root, signal, notice: (line) => process.stderr.write(`${line}\n`) });
  if (!options.json) noticeOfflineRoles(runner.roles, (line) => process.stderr.write(`${line}\n`));
  const report = await doctorReport(runner, config, { ...(options.ping ? { ping: true } : {}), today: options.today ?? new Date() });
  const sandbox = sandboxCapabilities();
  const exitCode = report.failed ? EXIT.failed : EXIT.ok;

  if (options.json) {
    const ledger = runner.ledger.calls > 0 ? runner.ledger.path : null;
    const { roles, reviewer, warnings, failed } = report;
    process.stdout.write(`${JSON.stringify({ root, roles, reviewer, warnings, sandbox, ledger, ok: !failed })}\n`);
    return exitCode;
  }
  const out = roleTable(report.roles, options.ping === true);
  out.push('', sandboxLine(sandbox));
  if (report.reviewer.error) out.push('', `problem: ${report.reviewer.error}`);
  if (report.reviewer.warning) out.push('', report.reviewer.warning);
  if (report.warnings.length > 0) out.push('', ...report.warnings.map((warning) => `warning: ${warning}`));
  if (options.ping && runner.ledger.path && runner.ledger.calls > 0) out.push('', `ledger: ${runner.ledger.path}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return exitCode;
}

/** One line on what the command sandbox can do here (docs/execution.md#the-sandbox). */
function sandboxLine(sandbox: SandboxCapabilities): string {
  if (!sandbox.bubblewrap) return `sandbox: ${NO_BUBBLEWRAP}`;
  const parts = [
    sandbox.unprivileged ? 'commands run as an unprivileged user' : 'no user namespaces: commands run as you',
    sandbox.processLimit === 'none'
      ? 'process count bounded only by the time limit'
      : `process limit by ${sandbox.processLimit === 'cgroup' ? 'a pids cgroup' : 'RLIMIT_NPROC'}`,
    sandbox.resourceLimits ? 'memory and file-size limits' : 'no prlimit: no memory or file-size limit',
    sandbox.socketFilter ? 'Unix sockets refused offline' : 'no socket filter for this processor',
  ];
  return `sandbox: bubblewrap; ${parts.join('; ')}`;
}
