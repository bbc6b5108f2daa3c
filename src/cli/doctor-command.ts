import { NO_BUBBLEWRAP, sandboxCapabilities, type SandboxCapabilities } from '../execute/sandbox.js';
import { z } from 'zod';
import { findRepoRoot, loadConfig } from '../config/config.js';
import { ModelError } from '../models/errors.js';
import { redact } from '../models/redact.js';
import { priceWarnings } from '../models/prices.js';
import { checkReviewerProvider, noticeOfflineRoles, type RoleInfo } from '../models/roles.js';
import { ModelRunner } from '../models/runner.js';
import { ROLES, type Role } from '../models/types.js';
import { EXIT } from './exit.js';

export interface DoctorOptions {
  ping?: boolean;
  json?: boolean;
  color: boolean;
  /** The day the price ages are counted to (default: today). */
  today?: Date;
}

interface RoleReport {
  role: Role;
  configured: string;
  provider: string;
  model: string;
  key: { variable: string | null; present: boolean };
  baseUrl: string | null;
  baseUrlSource: RoleInfo['baseUrlSource'];
  offlineReason: string | null;
  ping?: { ok: boolean; latencyMs?: number; inputTokens?: number; outputTokens?: number; costUsd?: number | null; error?: string };
}

const PingAnswer = z.object({ ok: z.boolean() });

/** `deepplan doctor`: each role's model, whether its key and base URL are set, and with --ping whether it answers. */
export async function runDoctorCommand(options: DoctorOptions, signal: AbortSignal): Promise<number> {
  const root = findRepoRoot(process.cwd());
  const config = loadConfig(root);
  const runner = new ModelRunner({ config, root, signal, notice: (line) => process.stderr.write(`${line}\n`) });
  const reports: RoleReport[] = ROLES.map((role) => {
    const info = runner.roles[role];
    return {
      role,
      configured: info.configured,
      provider: info.provider,
      model: info.model,
      key: { variable: info.keyVariable, present: info.keyPresent },
      baseUrl: info.baseUrl,
      baseUrlSource: info.baseUrlSource,
      offlineReason: info.offlineReason,
    };
  });
  const providers = checkReviewerProvider(runner.roles, config);
  // Each configured model once, with the roles that use it; priced or not, whether or not its key is set.
  const used = new Map<string, Role[]>();
  for (const role of ROLES) used.set(runner.roles[role].configured, [...(used.get(runner.roles[role].configured) ?? []), role]);
  const warnings = priceWarnings(used, config, options.today ?? new Date());
  if (!options.json) noticeOfflineRoles(runner.roles, (line) => process.stderr.write(`${line}\n`));

  if (options.ping) {
    // Each role on its own (no fallback): the point is to see whether this role's model answers.
    await Promise.all(
      reports.map(async (report) => {
        try {
          const answer = await runner.generateObject(report.role, {
            name: 'ping',
            schema: PingAnswer,
            system: 'You are a health check. Answer with the JSON object {"ok": true}.',
            prompt: 'Health check: answer {"ok": true}.',
            maxTokens: 32,
          }, { fallback: false });
          report.ping = { ok: answer.object.ok === true, latencyMs: answer.latencyMs, inputTokens: answer.usage.inputTokens, outputTokens: answer.usage.outputTokens, costUsd: answer.costUsd };
          if (!answer.object.ok) report.ping.error = 'answered {"ok": false}';
        } catch (error) {
          report.ping = { ok: false, error: redact(error instanceof ModelError ? error.message : (error as Error).message) };
        }
      }),
    );
  }
  const failed = reports.some((report) => report.ping && !report.ping.ok) || providers.error !== null;
  const sandbox = sandboxCapabilities();

  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ root, roles: reports, reviewer: providers, warnings, sandbox, ledger: runner.ledger.calls > 0 ? runner.ledger.path : null, ok: !failed })}\n`,
    );
    return failed ? EXIT.failed : EXIT.ok;
  }
  const rows = reports.map((report) => [
    report.role,
    report.configured,
    report.provider === 'offline' && report.configured.split('/')[0] !== 'offline' ? 'offline' : report.provider,
    report.key.variable ? `${report.key.variable} ${report.key.present ? 'set' : 'missing'}` : '-',
    report.baseUrl ? `${report.baseUrl} (${report.baseUrlSource})` : report.provider === 'offline' || report.provider === 'replay' ? '-' : 'default',
    ...(options.ping ? [pingText(report)] : []),
  ]);
  const header = ['role', 'model', 'answers as', 'key', 'base URL', ...(options.ping ? ['ping'] : [])];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  const out = [line(header), ...rows.map(line)];
  out.push('', sandboxLine(sandbox));
  if (providers.error) out.push('', `problem: ${providers.error}`);
  if (providers.warning) out.push('', providers.warning);
  if (warnings.length > 0) out.push('', ...warnings.map((warning) => `warning: ${warning}`));
  if (options.ping && runner.ledger.path && runner.ledger.calls > 0) out.push('', `ledger: ${runner.ledger.path}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return failed ? EXIT.failed : EXIT.ok;
}

/** One line on what the command sandbox can do here (docs/execution.md#the-sandbox). */
function sandboxLine(sandbox: SandboxCapabilities): string {
  if (!sandbox.bubblewrap) return `sandbox: ${NO_BUBBLEWRAP}`;
  const parts = [
    sandbox.unprivileged ? 'commands run as an unprivileged user' : 'no user namespaces: commands run as you',
    sandbox.processLimit === 'none' ? 'process count bounded only by the time limit' : `process limit by ${sandbox.processLimit === 'cgroup' ? 'a pids cgroup' : 'RLIMIT_NPROC'}`,
    sandbox.resourceLimits ? 'memory and file-size limits' : 'no prlimit: no memory or file-size limit',
    sandbox.socketFilter ? 'Unix sockets refused offline' : 'no socket filter for this processor',
  ];
  return `sandbox: bubblewrap; ${parts.join('; ')}`;
}

function pingText(report: RoleReport): string {
  const ping = report.ping;
  if (!ping) return '';
  if (!ping.ok) return `FAILED: ${ping.error ?? 'no answer'}`;
  const cost = ping.costUsd === null || ping.costUsd === undefined ? 'cost unknown' : `$${ping.costUsd.toFixed(6)}`;
  return `ok ${ping.latencyMs} ms, ${ping.inputTokens} in / ${ping.outputTokens} out tokens, ${cost}`;
}
