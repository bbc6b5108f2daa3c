import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { EngineError } from '../execute/executors.js';
import { bubblewrapAvailable, NO_BUBBLEWRAP } from '../execute/sandbox.js';
import { PlanFileError } from '../plan/store.js';
import { toPosix } from '../plan/text.js';
import { checkRecord, MatrixError, mergeRecords, readyPhases, runPhase, type RowRecord } from '../runners/matrix.js';
import { EXIT, UserError } from './exit.js';
import { planPathArgument, readPlanArgument } from './plan-argument.js';

/**
 * `deepplan matrix ready | run | merge`: the three commands of the GitHub Actions matrix workflow
 * (templates/init/workflows/deepplan-matrix.yml): list the ready phases as JSON, run one phase in a job's own checkout
 * and write its row record, merge the records into the plan.
 */

/** Engine and plan-file failures of a matrix command: one line, exit 1. */
function oneLine(error: unknown): never {
  if (error instanceof MatrixError || error instanceof EngineError || error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
  throw error;
}

export async function runMatrixReady(planArgument: string): Promise<number> {
  const { plan } = await readPlanArgument(planArgument, { phases: true });
  process.stdout.write(`${JSON.stringify(readyPhases(plan))}\n`);
  return EXIT.ok;
}

/** Where a phase's record goes: `<dir>/<plan id>.<phase>.json`. */
export function recordFile(dir: string, planId: string | null, phase: string): string {
  return join(dir, `${planId ?? 'plan'}.${phase}.json`);
}

export async function runMatrixPhase(planArgument: string, options: { phase: string; records: string; sandbox?: boolean }): Promise<number> {
  const { path, root } = planPathArgument(planArgument);
  const sandbox = options.sandbox !== false;
  if (sandbox && !bubblewrapAvailable()) throw new UserError(NO_BUBBLEWRAP);
  const plan = toPosix(relative(root, path));
  let record: RowRecord;
  try {
    record = await runPhase({ request: { plan, root, sandbox, onEvent: progress }, phase: options.phase }, path);
  } catch (error) {
    oneLine(error);
  }
  const file = recordFile(resolve(options.records), record.planId, record.phase);
  mkdirSync(resolve(options.records), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  process.stderr.write(`${record.phase}: ${record.status} after ${record.rows.length} row(s); record ${toPosix(relative(process.cwd(), file))}\n`);
  if (record.status !== 'done') for (const blocker of record.blockers) process.stderr.write(`blocked: ${blocker}\n`);
  return record.status === 'done' ? EXIT.ok : EXIT.blocked;
}

function progress(event: { type: string; action?: string; number?: number; result?: string }): void {
  if (event.type === 'row') process.stderr.write(`  #${event.number} ${event.result}  ${event.action}\n`);
}

/** The record files the arguments name: files, and the `*.json` files in folders (and their subfolders). */
function recordFiles(paths: string[]): string[] {
  const files: string[] = [];
  const visit = (path: string) => {
    if (!existsSync(path)) throw new UserError(`${path}: no such file`);
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        const child = join(path, name);
        if (statSync(child).isDirectory() || name.endsWith('.json')) visit(child);
      }
    } else files.push(path);
  };
  for (const path of paths) visit(path);
  return files;
}

export async function runMatrixMerge(planArgument: string, paths: string[]): Promise<number> {
  const { path } = planPathArgument(planArgument);
  const records = recordFiles(paths).map((file) => {
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new UserError(`${file} is not JSON; give the row records matrix run wrote`, EXIT.failed);
    }
    try {
      return checkRecord(value, file);
    } catch (error) {
      oneLine(error);
    }
  });
  if (records.length === 0) throw new UserError('no row records found; give the files (or folders) matrix run wrote');
  try {
    const result = await mergeRecords(path, records);
    const state = result.plan.meta.state;
    process.stderr.write(
      `merged ${result.merged.join(', ') || 'nothing'} (${result.rows} row(s))${result.skipped.length ? `; already merged: ${result.skipped.join(', ')}` : ''}; ` +
        `the plan is ${result.plan.meta.status}, next: ${state?.next_action ?? 'none'}\n`,
    );
  } catch (error) {
    oneLine(error);
  }
  return EXIT.ok;
}
