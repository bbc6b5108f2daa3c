import * as z from 'zod';
import type { Config } from '../config/config.js';
import { ModelError } from './errors.js';
import { priceWarnings } from './prices.js';
import { redact } from './redact.js';
import { checkReviewerProvider, type ProviderCheck, type RoleInfo } from './roles.js';
import type { ModelRunner } from './runner.js';
import { ROLES, type Role } from './types.js';

/**
 * What `deepplan doctor` reports (src/cli/doctor-command.ts prints it): each role's model, whether its key and base
 * URL are set, the reviewer's provider check, the price warnings and, with a ping, whether each role's model answers.
 */

export interface RoleReport {
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

export interface DoctorReport {
  roles: RoleReport[];
  reviewer: ProviderCheck;
  warnings: string[];
  /** A role failed its ping, or the reviewer shares the planner's provider. */
  failed: boolean;
}

const PingAnswer = z.object({ ok: z.boolean() });

/** Builds the report; with `ping` each role is asked for one tiny structured answer. */
export async function doctorReport(runner: ModelRunner, config: Config, options: { ping?: boolean; today: Date }): Promise<DoctorReport> {
  const roles: RoleReport[] = ROLES.map((role) => {
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
  const reviewer = checkReviewerProvider(runner.roles, config);
  // Each configured model once, with the roles that use it; priced or not, whether or not its key is set.
  const used = new Map<string, Role[]>();
  for (const role of ROLES) used.set(runner.roles[role].configured, [...(used.get(runner.roles[role].configured) ?? []), role]);
  const warnings = priceWarnings(used, config, options.today);
  if (options.ping) await Promise.all(roles.map((report) => pingRole(runner, report)));
  const failed = roles.some((report) => report.ping && !report.ping.ok) || reviewer.error !== null;
  return { roles, reviewer, warnings, failed };
}

/** Each role on its own (no fallback): the point is to see whether this role's model answers. */
async function pingRole(runner: ModelRunner, report: RoleReport): Promise<void> {
  try {
    const answer = await runner.generateObject(
      report.role,
      {
        name: 'ping',
        schema: PingAnswer,
        system: 'You are a health check. Answer with the JSON object {"ok": true}.',
        prompt: 'Health check: answer {"ok": true}.',
        maxTokens: 32,
      },
      { fallback: false },
    );
    const { inputTokens, outputTokens } = answer.usage;
    report.ping = { ok: answer.object.ok === true, latencyMs: answer.latencyMs, inputTokens, outputTokens, costUsd: answer.costUsd };
    if (!answer.object.ok) report.ping.error = 'answered {"ok": false}';
  } catch (error) {
    report.ping = { ok: false, error: redact(error instanceof ModelError ? error.message : (error as Error).message) };
  }
}

/** The roles as an aligned table: role, model, who answers, key, base URL and, with a ping, its result. */
export function roleTable(roles: RoleReport[], ping: boolean): string[] {
  const rows = roles.map((report) => [
    report.role,
    report.configured,
    report.provider === 'offline' && report.configured.split('/')[0] !== 'offline' ? 'offline' : report.provider,
    report.key.variable ? `${report.key.variable} ${report.key.present ? 'set' : 'missing'}` : '-',
    report.baseUrl ? `${report.baseUrl} (${report.baseUrlSource})` : report.provider === 'offline' || report.provider === 'replay' ? '-' : 'default',
    ...(ping ? [pingText(report)] : []),
  ]);
  const header = ['role', 'model', 'answers as', 'key', 'base URL', ...(ping ? ['ping'] : [])];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

function pingText(report: RoleReport): string {
  const ping = report.ping;
  if (!ping) return '';
  if (!ping.ok) return `FAILED: ${ping.error ?? 'no answer'}`;
  const cost = ping.costUsd === null || ping.costUsd === undefined ? 'cost unknown' : `$${ping.costUsd.toFixed(6)}`;
  return `ok ${ping.latencyMs} ms, ${ping.inputTokens} in / ${ping.outputTokens} out tokens, ${cost}`;
}
