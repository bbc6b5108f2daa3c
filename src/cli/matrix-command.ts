import { relative } from 'node:path';
import { EngineError } from '../execute/executors.js';
import { bubblewrapAvailable, NO_BUBBLEWRAP } from '../execute/sandbox.js';
import { PlanFileError } from '../plan/store.js';
import { toPosix } from '../plan/text.js';
import { MatrixError, mergeRecords, readyPhases, runPhase, type RowRecord } from '../runners/matrix.js';
import { readRecords, RecordPathError, writeRecord } from '../runners/matrix-records.js';
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
  const file = writeRecord(options.records, record);
  process.stderr.write(`${record.phase}: ${record.status} after ${record.rows.length} row(s); record ${toPosix(relative(process.cwd(), file))}\n`);
  if (record.status !== 'done') for (const blocker of record.blockers) process.stderr.write(`blocked: ${blocker}\n`);
  return record.status === 'done' ? EXIT.ok : EXIT.blocked;
}

function progress(event: { type: string; action?: string; number?: number; result?: string }): void {
  if (event.type === 'row') process.stderr.write(`  #${event.number} ${event.result}  ${event.action}\n`);
}

export async function runMatrixMerge(planArgument: string, paths: string[]): Promise<number> {
  const { path } = planPathArgument(planArgument);
  let records: RowRecord[] = [];
  try {
    records = readRecords(paths);
  } catch (error) {
    if (error instanceof RecordPathError) throw new UserError(error.message);
    oneLine(error);
  }
  try {
    const result = await mergeRecords(path, records);
    const state = result.plan.meta.state;
    const merged = `merged ${result.merged.join(', ') || 'nothing'} (${result.rows} row(s))`;
    const skipped = result.skipped.length ? `; already merged: ${result.skipped.join(', ')}` : '';
    process.stderr.write(`${merged}${skipped}; the plan is ${result.plan.meta.status}, next: ${state?.next_action ?? 'none'}\n`);
  } catch (error) {
    oneLine(error);
  }
  return EXIT.ok;
}
