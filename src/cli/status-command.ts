import { relative } from 'node:path';
import { burndownSeries, renderBurndown, type BurndownSeries } from '../graph/burndown.js';
import type { Plan } from '../plan/types.js';
import { readPlanArgument } from './plan-argument.js';
import { EXIT } from './exit.js';

export interface PlanStatusReport {
  path: string;
  id: string | null;
  title: string | null;
  status: string | null;
  phases: { done: number; total: number; current: string | null; list: Array<{ id: string; title: string; status: string }> };
  criteria: { ticked: number; total: number };
  iterations: { used: number; budget: number | null };
  nextAction: string | null;
  blockers: string[];
  lastRows: Array<{ number: number | null; when: string; action: string; result: string; signal: string }>;
  /** Iterations left of the budget and phases done after each log row (the chart's numbers). */
  burndown: BurndownSeries;
}

export function statusOf(plan: Plan, path: string): PlanStatusReport {
  const rows = plan.log?.rows ?? [];
  return {
    path,
    id: plan.meta.id ?? null,
    title: plan.meta.title ?? null,
    status: plan.meta.status ?? null,
    phases: {
      done: plan.phases.filter((phase) => phase.status === 'done').length,
      total: plan.phases.length,
      current: plan.meta.state?.phase ?? null,
      list: plan.phases.map((phase) => ({ id: phase.id, title: phase.title, status: phase.status ?? 'pending' })),
    },
    criteria: { ticked: (plan.criteria ?? []).filter((criterion) => criterion.checked === true).length, total: plan.criteria?.length ?? 0 },
    iterations: { used: rows.length, budget: plan.meta.budget?.max_iterations ?? null },
    nextAction: plan.meta.state?.next_action ?? null,
    blockers: plan.meta.state?.blockers ?? [],
    lastRows: rows.slice(-5).map((row) => ({ number: row.number, when: row.when, action: row.action, result: row.result, signal: row.signal })),
    burndown: burndownSeries(plan),
  };
}

/** `deepplan status <plan>`: where a plan stands, read from the plan file alone. */
export async function runStatusCommand(planArgument: string, options: { json?: boolean; unicode?: boolean }): Promise<number> {
  const { plan, path } = await readPlanArgument(planArgument);
  const report = statusOf(plan, relative(process.cwd(), path) || path);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return EXIT.ok;
  }
  const width = 30;
  const filled = report.phases.total === 0 ? 0 : Math.round((report.phases.done / report.phases.total) * width);
  const mark = (status: string) => (status === 'done' ? '✔' : status === 'active' ? '▶' : status === 'blocked' ? '✖' : '·');
  const lines = [
    `${report.title ?? report.path} (${report.id ?? '?'}): ${report.status ?? '?'}`,
    `phases      [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${report.phases.done}/${report.phases.total} done${report.phases.current ? `, at ${report.phases.current}` : ''}`,
    `iterations  ${report.iterations.used} of ${report.iterations.budget ?? '?'}`,
    `criteria    ${report.criteria.ticked}/${report.criteria.total} verified`,
    `next        ${report.nextAction ?? '-'}`,
    ...(report.blockers.length > 0 ? [`blocked on  ${report.blockers.join('; ')}`] : []),
    '',
    report.phases.list.map((phase) => `  ${mark(phase.status)} ${phase.id.padEnd(4)} ${phase.title}`).join('\n'),
    '',
    ...renderBurndown(report.burndown, { width: 80, unicode: options.unicode ?? (process.stdout.isTTY === true && !process.env['NO_COLOR']) }),
  ];
  if (report.lastRows.length > 0) {
    lines.push('', 'last iterations:');
    for (const row of report.lastRows)
      lines.push(`  ${String(row.number ?? '?').padStart(3)}  ${row.when}  ${row.result.padEnd(9)} ${row.signal.padEnd(18)} ${row.action}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
