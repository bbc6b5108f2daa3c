import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { globSync } from 'tinyglobby';
import { loadConfig } from '../config/config.js';
import { EngineError } from '../execute/executors.js';
import { type EngineEvent, type IterationReport, runIteration } from '../execute/iteration.js';
import { LoopControl, reportOfPlan, runLoop } from '../execute/loop.js';
import { iterationBudget, nextAction } from '../execute/next.js';
import { ModelRunner } from '../models/runner.js';
import { readPlanFile } from '../plan/store.js';
import type { LogRow, Phase, Plan } from '../plan/types.js';
import { overlaps } from '../rules/plan-paths.js';
import { ITERATIONS_WITHOUT_PROGRESS } from '../rules/escape-hatch.js';
import { focusPlan, MatrixError, mergeRecords, phaseStops, type RecordedRow, type RowRecord, readyPhases, recordOf } from './matrix.js';

/**
 * Waves (`deepplan run <plan> --loop --parallel N`, docs/scale-out.md): the ready phases of a plan run at the same
 * time, up to N, each in a working copy of its own (the repository copied, without .git, into a folder per plan
 * under the system's temporary folder), through the one loop (execute/loop.ts) and the same engine entry as every
 * runner. After every iteration in a copy, the files it changed and the phase's declared outputs are copied back, and
 * the copy's new rows are merged into the one plan file through the matrix's merge (one locked, revision-checked
 * write). The plan run lock is per plan file, so N copies do not wait for each other.
 *
 * When at most one phase is ready and no copy runs, the iteration runs on the plan itself (the shared first phase,
 * the success criteria at the end, recovering an action left in flight): a plan whose phases form a chain runs as
 * with `--loop`.
 *
 * Why a kill loses and duplicates nothing: the plan file and each copy's plan file are written atomically. A copy
 * whose rows are not all merged is found by the next run (its marker, `<phase>.json` beside it), checked against the
 * plan (the plan's rows of that phase since the copy's base must be the copy's first ones) and merged, then resumed:
 * its next iteration logs an action a kill cut short as failed, "outcome unknown", and retries it. A copy the plan
 * has moved past (the phase is done, or a person approved or retried it in the plan) is removed, and made again.
 */

/** The marker of a working copy: which phase it runs and from which plan row; written once the copy is complete. */
interface LaneMarker {
  phase: string;
  /** Rows in the plan when the copy was made: the copy's rows after it are its own. */
  base: number;
  /** The copy's state.spent_usd already merged into the plan. */
  spentBase: number;
}

interface Lane extends LaneMarker {
  root: string;
  planPath: string;
  done: Promise<void>;
  /** The copy's plan as its last iteration wrote it (null until one ran): read once, not again before the next. */
  plan: Plan | null;
}

/** What the dashboard shows of the waves: the phases running now, done, and waiting. */
export interface WaveView {
  running: string[];
  done: string[];
  waiting: string[];
}

export interface WavesOptions {
  /** The plan file (absolute) and its repository. */
  planPath: string;
  root: string;
  parallel: number;
  sandbox: boolean;
  maxCostUsd: number | null;
  /** Iterations across all copies and the plan in this run; default none beyond the plan's budget. */
  maxIterations?: number;
  /** One iteration on the plan itself (the prepared run's `iterate`). */
  iterate(onEvent: (event: EngineEvent) => void): Promise<IterationReport>;
  /** Where the working copies live; default `<tmp>/deepplan-waves/<hash of the plan path>`. */
  home?: string;
  onWave?: (view: WaveView) => void;
}

/** A working copy that cannot be merged: one line, the run stops. */
export class WaveError extends EngineError {
  override name = 'WaveError';
}

/** The folder of a plan's working copies: the same for every run of the plan, so a killed run's copies are found. */
export function wavesHome(planPath: string): string {
  return join(tmpdir(), 'deepplan-waves', createHash('sha256').update(resolve(planPath)).digest('hex').slice(0, 16));
}

const sameRow = (a: LogRow, b: LogRow) => a.action === b.action && a.result === b.result && a.notes === b.notes;
const blockersOf = (plan: Plan) => plan.meta.state?.blockers ?? [];

/**
 * The scheduler: `round` is the loop's `iterate` (one round starts the ready phases it may, then waits for one of
 * them to end, or runs one iteration on the plan itself); `close` stops the copies still running and waits for them.
 */
export class Waves {
  private readonly lanes = new Map<string, Lane>();
  private readonly home: string;
  private readonly planArg: string;
  private readonly abort = new AbortController();
  private merging: Promise<unknown> = Promise.resolve();
  /** Files copied back in this run, by the phase that wrote them: two phases never write one file. */
  private readonly owners = new Map<string, string>();
  private readonly refused = new Set<string>();
  private resumed = false;
  private active = 0;
  private iterations = 0;
  private failure: Error | null = null;
  private main: Plan | null = null;
  private onWave: ((view: WaveView) => void) | null;

  constructor(private readonly options: WavesOptions) {
    this.home = options.home ?? wavesHome(options.planPath);
    this.planArg = relative(options.root, options.planPath);
    this.onWave = options.onWave ?? null;
  }

  /** One round of the waves, as the one loop's `iterate`. */
  readonly round = async (emit: (event: EngineEvent) => void): Promise<IterationReport> => {
    if (this.failure) throw this.failure;
    let plan = await readPlanFile(this.options.planPath);
    this.main = plan;
    if (!this.resumed) {
      this.resumed = true;
      plan = await this.resumeLeftovers(plan, emit);
    }
    if (this.lanes.size === 0 && this.serialNext(plan)) return this.serial(emit);
    if (blockersOf(plan).length === 0 && !this.abort.signal.aborted) await this.startLanes(plan, emit);
    if (this.lanes.size === 0) return this.serial(emit);
    this.show(plan);
    await Promise.race([...this.lanes.values()].map((lane) => lane.done));
    if (this.failure) throw this.failure;
    const after = await readPlanFile(this.options.planPath);
    this.show(after);
    return { ...reportOfPlan(after), signal: 'CONTINUE', blockers: [] };
  };

  /** Who is told of each wave (the dashboard). */
  watch(onWave: (view: WaveView) => void): void {
    this.onWave = onWave;
  }

  /** Stops the copies still running (after their current iteration) and waits for them. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.lanes.values()].map((lane) => lane.done));
    await this.merging.catch(() => {});
    // The copies of finished phases go; the folder too, once empty. Copies of unfinished phases stay for the next run.
    if (!existsSync(this.home)) return;
    const plan = await readPlanFile(this.options.planPath).catch(() => null);
    for (const name of readdirSync(this.home)) {
      const id = name.replace(/\.json(?:\.tmp)?$/, '');
      if (plan?.phases.find((phase) => phase.id === id)?.status === 'done') this.removeLane(id);
    }
    if (readdirSync(this.home).length === 0) rmSync(this.home, { recursive: true, force: true });
  }

  /** Whether the next iteration runs on the plan itself: nothing to fan out, or something only the plan may do. */
  private serialNext(plan: Plan): boolean {
    if (this.options.parallel <= 1 || plan.meta.status === 'complete' || blockersOf(plan).length > 0) return true;
    if (typeof (plan.meta.state as Record<string, unknown> | undefined)?.['in_flight'] === 'string') return true;
    const next = nextAction(plan);
    if (next.kind !== 'step' && next.kind !== 'check' && next.kind !== 'gate') return true;
    return this.candidates(plan).length <= 1;
  }

  private async serial(emit: (event: EngineEvent) => void): Promise<IterationReport> {
    this.iterations++;
    return this.options.iterate(emit);
  }

  /** Ready phases not running, less those whose outputs overlap a running (or earlier chosen) phase's. */
  private candidates(plan: Plan, emit?: (event: EngineEvent) => void): Phase[] {
    const chosen: Phase[] = [...this.lanes.keys()].map((id) => plan.phases.find((phase) => phase.id === id)!).filter(Boolean);
    const picked: Phase[] = [];
    for (const id of readyPhases(plan).phase) {
      if (this.lanes.has(id)) continue;
      const phase = plan.phases.find((candidate) => candidate.id === id)!;
      const clash = chosen.find((other) => other.outputs.some((mine) => phase.outputs.some((theirs) => overlaps(mine, theirs))));
      if (clash) {
        const key = `${clash.id} ${phase.id}`;
        if (emit && !this.refused.has(key)) {
          this.refused.add(key);
          emit({
            type: 'notice',
            message: `${phase.id} and ${clash.id} declare overlapping outputs: not at the same time; ${phase.id} runs after ${clash.id}`,
          });
        }
        continue;
      }
      chosen.push(phase);
      picked.push(phase);
    }
    return picked;
  }

  private async startLanes(plan: Plan, emit: (event: EngineEvent) => void): Promise<void> {
    for (const phase of this.candidates(plan, emit)) {
      if (this.lanes.size >= this.options.parallel) break;
      // A copy of the phase that is still there (it stopped blocked) goes on, unless a person answered it in the plan.
      if (await this.resumeLane(phase.id, emit)) continue;
      const root = join(this.home, phase.id);
      makeCopy(this.options.root, root, this.home);
      const marker: LaneMarker = { phase: phase.id, base: plan.log?.rows.length ?? 0, spentBase: plan.meta.state?.spent_usd ?? 0 };
      this.launch({ ...marker, root, planPath: join(root, this.planArg), done: Promise.resolve(), plan: null }, emit, plan);
    }
  }

  /**
   * Merges and runs on the working copy a phase has (marker and folder): false, and the copy removed, when there is
   * none, or it does not match the plan (the plan's rows of the phase since the copy was made are not its first ones).
   */
  private async resumeLane(id: string, emit: (event: EngineEvent) => void): Promise<boolean> {
    const marker = this.readMarker(id);
    const root = join(this.home, id);
    if (!marker || !existsSync(root)) {
      this.removeLane(id);
      return false;
    }
    const lane: Lane = { ...marker, root, planPath: join(root, this.planArg), done: Promise.resolve(), plan: null };
    try {
      await this.merge(lane, [], emit);
    } catch (error) {
      if (!(error instanceof WaveError)) throw error;
      this.removeLane(id);
      return false;
    }
    // A copy that waits for a person while the plan does not: its rows are in the plan and a person answered the plan
    // (docs/scale-out.md, "Two phases blocked at once"). It would stop at once on every round: it is made again.
    if (blockersOf(await readPlanFile(lane.planPath)).length > 0 && blockersOf(await readPlanFile(this.options.planPath)).length === 0) {
      this.removeLane(id);
      return false;
    }
    this.launch(lane, emit, null);
    return true;
  }

  /** Runs a lane (focusing its copy first when it is new) and keeps its promise in the map until it ends. */
  private launch(lane: Lane, emit: (event: EngineEvent) => void, focusFrom: Plan | null): void {
    this.lanes.set(lane.phase, lane);
    lane.done = (async () => {
      if (focusFrom) {
        await focusPlan(lane.planPath, focusFrom, lane.phase);
        this.writeMarker(lane);
      }
      await this.runLane(lane, emit);
    })()
      .catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      })
      .finally(() => this.lanes.delete(lane.phase));
  }

  /** A phase's iterations in its copy, through the one loop, each merged into the plan as soon as it is written. */
  private async runLane(lane: Lane, emit: (event: EngineEvent) => void): Promise<void> {
    await runLoop({
      limit: Number.POSITIVE_INFINITY,
      control: LoopControl.from(this.abort.signal),
      before: async () => ((await this.laneStops(lane)) ? true : null),
      iterate: async () => {
        this.active++;
        try {
          const report = await this.iterateCopy(lane, (event) => event.type !== 'row' && emit(event));
          this.iterations++;
          lane.plan = report.plan;
          await this.merge(lane, report.changed, emit);
          return report;
        } finally {
          this.active--;
        }
      },
    });
    await this.merge(lane, [], emit);
    const plan = await readPlanFile(this.options.planPath);
    if (plan.phases.find((phase) => phase.id === lane.phase)?.status === 'done') this.removeLane(lane.phase);
  }

  /** One iteration of the copy's plan: the engine entry every runner calls, with the copy as the repository. */
  private async iterateCopy(lane: Lane, onEvent: (event: EngineEvent) => void): Promise<IterationReport> {
    const { sandbox, maxCostUsd } = this.options;
    const config = loadConfig(lane.root);
    const models = new ModelRunner({ config, root: lane.root, signal: this.abort.signal, maxCostUsd, notice: () => {} });
    lane.plan ??= await readPlanFile(lane.planPath);
    models.ledger.startFrom(lane.plan.meta.state?.spent_usd ?? 0);
    return runIteration({ planPath: lane.planPath, root: lane.root, config, models, sandbox, maxCostUsd, onEvent });
  }

  /** Before each iteration of a lane: its phase is finished or blocked, the plan waits for a person, or the budget is used. */
  private async laneStops(lane: Lane): Promise<boolean> {
    if (this.failure || this.abort.signal.aborted) return true;
    lane.plan ??= await readPlanFile(lane.planPath);
    if (phaseStops(lane.plan, lane.phase)) return true;
    // The plan as the last merge wrote it: only merges write it while copies run.
    const plan = (this.main ??= await readPlanFile(this.options.planPath));
    if (blockersOf(plan).length > 0) return true;
    // The budget holds in total: the plan's rows and the iterations under way in other copies.
    const budget = iterationBudget(plan) ?? 0;
    if ((plan.log?.rows.length ?? 0) + this.active >= budget) return true;
    return this.options.maxIterations !== undefined && this.iterations + this.active >= this.options.maxIterations;
  }

  /** Merges are one at a time: each reads the plan, checks the revision, and writes once. */
  private merge(lane: Lane, changed: string[], emit: (event: EngineEvent) => void): Promise<void> {
    const next = this.merging.then(() => this.mergeNow(lane, changed, emit));
    this.merging = next.catch(() => {});
    return next;
  }

  /**
   * Copies back what the copy changed and its phase's declared outputs, then merges the copy's rows the plan lacks.
   * Refused (WaveError) when the plan's rows of the phase since the copy's base are not the copy's first ones.
   */
  private async mergeNow(lane: Lane, changed: string[], emit: (event: EngineEvent) => void): Promise<void> {
    const main = await readPlanFile(this.options.planPath);
    const copy = lane.plan ?? (await readPlanFile(lane.planPath));
    const mine = (plan: Plan) => (plan.log?.rows ?? []).slice(lane.base).filter((row) => row.phase === lane.phase);
    const there = mine(main);
    const here = mine(copy);
    if (there.length > here.length || !there.every((row, index) => sameRow(row, here[index]!))) {
      throw new WaveError(`the working copy of ${lane.phase} does not match the plan`);
    }
    const phase = copy.phases.find((candidate) => candidate.id === lane.phase);
    this.copyBack(lane, [...changed, ...declaredOutputs(lane.root, phase)]);
    const fresh = here.slice(there.length);
    const status = main.phases.find((candidate) => candidate.id === lane.phase)?.status;
    const spent = copy.meta.state?.spent_usd ?? 0;
    const copyArg = relative(process.cwd(), lane.planPath);
    const shown = relative(process.cwd(), this.options.planPath) || this.planArg;
    const blockers = blockersOf(copy).map((blocker) => blocker.split(copyArg).join(shown));
    // Several phases run at once, but the plan shows one active phase at most (lint: state-consistency): a phase running
    // in a copy shows as pending in the plan until it is done or blocked.
    const shownStatus = (phase?.status === 'done' || phase?.status === 'blocked' ? phase.status : 'pending') as RowRecord['status'];
    if (fresh.length === 0 || status === 'done') return;
    // A copy that blocked while the plan already waits for a person keeps its rows until the plan is answered: merged
    // now, its blocker would go with the approval of the other phase (approve clears every blocker), and nothing would
    // stop its step from being tried again. The next run merges them, and the plan then waits at this phase.
    if (blockers.length > 0 && blockersOf(main).length > 0 && blockers.some((blocker) => !blockersOf(main).includes(blocker))) return;
    const record = recordOf({
      plan: this.planArg,
      before: main,
      after: copy,
      phase: lane.phase,
      rows: fresh,
      changed: [],
      spentUsd: Math.max(0, spent - lane.spentBase),
    });
    const rows = stallInTotal(main.log?.rows ?? [], record.rows, blockers, `deepplan approve ${shown} ${lane.phase} --retry`);
    // The budget in total: the row that uses the plan's last iteration stops the plan, as the engine's would.
    const used = (main.log?.rows.length ?? 0) + rows.length;
    const budget = iterationBudget(main);
    if (budget !== null && used >= budget && blockers.length === 0) {
      const then = `raise budget.max_iterations, then deepplan approve ${shown} ${lane.phase} --retry`;
      blockers.push(`Budget spent: ${used} of ${budget} iterations used (last action ${rows.at(-1)?.action}); ${then}`);
    }
    // A plan that waits for a person ends its log with BLOCKED_NEED_HUMAN, whichever copy wrote the last row.
    const last = rows.at(-1);
    if (last && blockersOf(main).length + blockers.length > 0) rows[rows.length - 1] = { ...last, signal: 'BLOCKED_NEED_HUMAN' };
    // Phases a person's retry made active that run in copies now show as pending too.
    const settle = main.phases.filter((other) => other.status === 'active' && other.id !== lane.phase).map((other) => other.id);
    const merged = await mergeRecords(this.options.planPath, [{ ...record, status: shownStatus, rows, blockers }], undefined, { pending: settle }).catch(
      (error: unknown) => {
        throw error instanceof MatrixError ? new WaveError(`${lane.phase}: ${error.message}`) : error;
      },
    );
    lane.spentBase = Math.max(lane.spentBase, spent);
    this.writeMarker(lane);
    this.main = merged.plan;
    const written = merged.plan.log?.rows ?? [];
    for (const row of written.slice(written.length - merged.rows)) {
      emit({ type: 'row', number: row.number ?? 0, action: row.action, result: row.result as never, signal: row.signal as never, notes: row.notes });
    }
  }

  /** Files of a copy copied into the repository; a file another phase of this run wrote is refused. */
  private copyBack(lane: Lane, files: string[]): void {
    for (const file of new Set(files)) {
      const from = join(lane.root, file);
      if (file === this.planArg || file.startsWith('..') || !existsSync(from) || !statSync(from).isFile()) continue;
      const to = join(this.options.root, file);
      // A file the copy has as the repository has it was not written by this phase (an earlier phase's output).
      if (existsSync(to) && readFileSync(to).equals(readFileSync(from))) continue;
      const owner = this.owners.get(file);
      if (owner && owner !== lane.phase) throw new WaveError(`${file} was written by both ${owner} and ${lane.phase}; no output is overwritten`);
      this.owners.set(file, lane.phase);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
    }
  }

  /**
   * The copies a killed run left: each whose phase the plan has not finished is merged and resumed; the others (no
   * marker, a finished phase, a plan that moved on without it) are removed.
   */
  private async resumeLeftovers(plan: Plan, emit: (event: EngineEvent) => void): Promise<Plan> {
    if (!existsSync(this.home)) return plan;
    for (const name of readdirSync(this.home)) {
      if (name.includes('.')) continue;
      const phase = plan.phases.find((candidate) => candidate.id === name);
      if (!phase || phase.status === 'done') this.removeLane(name);
      else if (await this.resumeLane(name, emit)) emit({ type: 'notice', message: `resuming ${name} in its working copy, left by a run that stopped` });
    }
    return readPlanFile(this.options.planPath);
  }

  private readMarker(phase: string): LaneMarker | null {
    try {
      const marker = JSON.parse(readFileSync(join(this.home, `${phase}.json`), 'utf8')) as LaneMarker;
      return marker.phase === phase && typeof marker.base === 'number' && typeof marker.spentBase === 'number' ? marker : null;
    } catch {
      return null;
    }
  }

  /** The marker is written whole (a temporary file renamed), after the copy is complete. */
  private writeMarker(lane: Lane): void {
    const marker: LaneMarker = { phase: lane.phase, base: lane.base, spentBase: lane.spentBase };
    const file = join(this.home, `${lane.phase}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(marker));
    renameSync(`${file}.tmp`, file);
  }

  private removeLane(phase: string): void {
    rmSync(join(this.home, `${phase}.json`), { force: true });
    rmSync(join(this.home, phase), { recursive: true, force: true });
  }

  private show(plan: Plan): void {
    if (!this.onWave) return;
    const running = [...this.lanes.keys()];
    const done = plan.phases.filter((phase) => phase.status === 'done').map((phase) => phase.id);
    const waiting = plan.phases.map((phase) => phase.id).filter((id) => !running.includes(id) && !done.includes(id));
    this.onWave({ running, done, waiting });
  }
}

/**
 * The escape hatch of 5 iterations without progress, in total: each copy applies it to its own phase's rows, and the
 * merged log, where sibling phases' rows interleave, must honour it too (rules/escape-hatch.ts). The row that makes
 * the 5th in a row without progress is merged as BLOCKED_NEED_HUMAN, with the engine's blocker (`blockers` grows).
 */
function stallInTotal(before: LogRow[], rows: RecordedRow[], blockers: string[], approve: string): RecordedRow[] {
  const stuck = (result: string) => result === 'failed' || result === 'no-change';
  let stalled = 0;
  for (const row of before) stalled = stuck(row.result) ? stalled + 1 : 0;
  return rows.map((row) => {
    stalled = stuck(row.result) ? stalled + 1 : 0;
    if (stalled < ITERATIONS_WITHOUT_PROGRESS || row.signal === 'BLOCKED_NEED_HUMAN') return row;
    if (blockers.length === 0)
      blockers.push(
        `${stalled} iterations without progress (last: ${row.action}: ${row.notes.slice(0, 120)}); look at the log, fix the cause, then ${approve}`,
      );
    return { ...row, signal: 'BLOCKED_NEED_HUMAN' };
  });
}

/** The files a phase declares as Outputs that exist in the copy (globs expanded there). */
function declaredOutputs(root: string, phase: Phase | undefined): string[] {
  if (!phase) return [];
  const patterns = phase.outputs.map((output) => output.replace(/^`|`$/g, '')).filter((output) => output !== '' && !output.startsWith('/'));
  return patterns.length === 0 ? [] : globSync(patterns, { cwd: root, onlyFiles: true, dot: true });
}

/** A fresh working copy of the repository: everything but .git, lock folders and the copies' own folder. */
function makeCopy(root: string, to: string, home: string): void {
  rmSync(to, { recursive: true, force: true });
  rmSync(`${to}.json`, { force: true });
  mkdirSync(dirname(to), { recursive: true });
  const skip = (path: string) => {
    const inside = relative(root, path);
    return inside === '.git' || inside.startsWith(`.git${sep}`) || path.endsWith('.lock') || path === home || path.startsWith(`${home}${sep}`);
  };
  cpSync(root, to, { recursive: true, filter: (path) => !skip(path) });
}

/** Why `run --parallel` cannot run with the other options given (one line), or null. */
export function parallelProblem(options: { parallel?: number; once?: boolean; executor: string; commit?: boolean }): string | null {
  const { parallel } = options;
  if (parallel === undefined) return null;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) return '--parallel takes a whole number of phases at once, 1 to 64';
  if (options.once) return '--parallel runs phases until a signal: give --loop, not --once';
  if (options.executor === 'command') return '--parallel runs the built-in executor only (not --executor command)';
  return options.commit ? '--parallel does not commit after each iteration: run without --commit' : null;
}

const WAVES = Symbol('waves');

/** A prepared run whose loop iterates in waves: each `iterate` is a round (Waves.round); the rest is unchanged. */
export function withWaves<R extends { planPath: string; root: string; iterate: WavesOptions['iterate'] }>(
  run: R,
  options: { parallel?: number | undefined; sandbox: boolean; maxCostUsd: number | null; maxIterations?: number | undefined },
): R {
  const { maxIterations, parallel, sandbox, maxCostUsd } = options;
  if (parallel === undefined) return run;
  const waves = new Waves({
    planPath: run.planPath,
    root: run.root,
    iterate: run.iterate,
    parallel,
    sandbox,
    maxCostUsd,
    ...(maxIterations ? { maxIterations } : {}),
  });
  return Object.assign({ ...run, iterate: waves.round }, { [WAVES]: waves });
}

/** The waves of a run made by withWaves, or null. */
export function wavesOf(run: object): Waves | null {
  return (run as { [WAVES]?: Waves })[WAVES] ?? null;
}
