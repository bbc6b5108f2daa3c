import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { loadConfig } from '../config/config.js';
import { EngineError } from '../execute/executors.js';
import { isoSecond } from '../execute/history.js';
import { type EngineEvent, type IterationReport, runIteration } from '../execute/iteration.js';
import { LoopControl, reportOfPlan, runLoop } from '../execute/loop.js';
import { iterationBudget, nextAction } from '../execute/next.js';
import { ModelRunner } from '../models/runner.js';
import { IN_FLIGHT } from '../execute/record.js';
import { outcomeUnknownNotes, parseInFlight } from '../plan/log-grammar.js';
import { readPlanFile } from '../plan/store.js';
import type { LogRow, Phase, Plan } from '../plan/types.js';
import { overlaps } from '../rules/plan-paths.js';
import { ITERATIONS_WITHOUT_PROGRESS } from '../rules/escape-hatch.js';
import { focusPlan, MatrixError, mergeRecords, phaseStops, RECORD_VERSION, type RecordedRow, type RowRecord, readyPhases, recordOf } from './matrix.js';
import { declaredOutputs, listed, makeCopy, PLAN_NAME, sweepOtherHomes, wavesHome } from './wave-copies.js';

export { wavesHome };

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
  /**
   * When the copy last gave the repository its files (ms since the epoch): a repository file that changed after it was
   * changed by someone else (a person fixing a cause while the plan waited), and is never overwritten by the copy.
   */
  synced?: number;
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
  /** The cost cap in force (--max-cost, else limits.max_cost of the repository's config), or null. */
  private readonly cap: { usd: number; name: string } | null;

  constructor(private readonly options: WavesOptions) {
    this.home = options.home ?? wavesHome(options.planPath);
    this.planArg = relative(options.root, options.planPath);
    this.onWave = options.onWave ?? null;
    const configured = options.maxCostUsd === null ? loadConfig(options.root).limits?.max_cost : undefined;
    this.cap =
      options.maxCostUsd !== null
        ? { usd: options.maxCostUsd, name: '--max-cost' }
        : configured !== undefined
          ? { usd: configured, name: 'limits.max_cost' }
          : null;
  }

  /** One round of the waves, as the one loop's `iterate`. */
  readonly round = async (emit: (event: EngineEvent) => void): Promise<IterationReport> => {
    if (this.failure) throw this.failure;
    let plan = await readPlanFile(this.options.planPath);
    this.main = plan;
    if (!this.resumed) {
      this.resumed = true;
      await sweepOtherHomes(this.home);
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
    // The copies of finished phases go; all of them once the plan is complete, and the folder then. Copies of unfinished
    // phases stay for the next run (a run of another plan removes them once this plan is complete or gone).
    const plan = await readPlanFile(this.options.planPath).catch(() => null);
    const names = () => listed(this.home).filter((name) => name !== PLAN_NAME);
    for (const name of names()) {
      const id = name.replace(/\.json(?:\.tmp)?$/, '');
      if (plan?.meta.status === 'complete' || plan?.phases.find((phase) => phase.id === id)?.status === 'done') this.removeLane(id);
    }
    if (names().length === 0) rmSync(this.home, { recursive: true, force: true });
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
      writeFileSync(join(this.home, PLAN_NAME), this.options.planPath);
      const marker: LaneMarker = { phase: phase.id, base: plan.log?.rows.length ?? 0, spentBase: plan.meta.state?.spent_usd ?? 0, synced: Date.now() };
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
      await this.queued(() => this.logCutShort(lane, emit));
      this.removeLane(id);
      return false;
    }
    // A copy that waits for a person while the plan does not: its rows are in the plan and the plan no longer waits for
    // it (a person answered it, or edited the plan). It would stop at once on every round: it is made again.
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
    // The cap counts what the plan spent in total: the merged spend and what every copy spent since its last merge.
    models.ledger.startFrom(this.spentInTotal());
    return runIteration({ planPath: lane.planPath, root: lane.root, config, models, sandbox, maxCostUsd, onEvent });
  }

  /**
   * The plan's model spend in total: its state.spent_usd as the last merge wrote it, and each running copy's spend
   * not merged yet (as its last iteration wrote it). A copy's calls under way are not in it until they are written.
   */
  private spentInTotal(): number {
    let total = this.main?.meta.state?.spent_usd ?? 0;
    for (const lane of this.lanes.values()) total += Math.max(0, (lane.plan?.meta.state?.spent_usd ?? 0) - lane.spentBase);
    return total;
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
    // The cost cap holds in total too: no copy starts an iteration once the plan and the copies have spent it.
    if (this.cap !== null && this.spentInTotal() >= this.cap.usd) return true;
    return this.options.maxIterations !== undefined && this.iterations + this.active >= this.options.maxIterations;
  }

  /** Merges are one at a time: each reads the plan, checks the revision, and writes once. */
  private merge(lane: Lane, changed: string[], emit: (event: EngineEvent) => void): Promise<void> {
    return this.queued(() => this.mergeNow(lane, changed, emit));
  }

  /** Writes to the plan, one after the other. */
  private queued<T>(work: () => Promise<T>): Promise<T> {
    const next = this.merging.then(work);
    this.merging = next.catch(() => {});
    return next;
  }

  /**
   * A copy about to be made again (the plan moved past it) whose action a kill cut short: the action is logged in the
   * plan first, failed with "outcome unknown", as the copy's next iteration would have and as a run without --parallel
   * does after an approval. The log keeps every action that started; its effects, if any, stayed in the copy.
   */
  private async logCutShort(lane: Lane, emit: (event: EngineEvent) => void): Promise<void> {
    const copy = await readPlanFile(lane.planPath).catch(() => null);
    const inFlight = (copy?.meta.state as Record<string, unknown> | undefined)?.[IN_FLIGHT];
    if (typeof inFlight !== 'string' || inFlight.trim() === '') return;
    const main = await readPlanFile(this.options.planPath);
    const phase = main.phases.find((candidate) => candidate.id === lane.phase);
    if (!phase || phase.status === 'done') return;
    const { action, started } = parseInFlight(inFlight);
    const notes = outcomeUnknownNotes(started);
    const row: RecordedRow = { when: isoSecond(new Date()), phase: phase.id, action, result: 'failed', signal: 'CONTINUE', notes };
    const shown = relative(process.cwd(), this.options.planPath) || this.planArg;
    const blockers: string[] = [];
    const rows = stallInTotal(main.log?.rows ?? [], [row], blockers, `deepplan approve ${shown} ${phase.id} --retry`);
    if (blockersOf(main).length + blockers.length > 0) rows[0] = { ...rows[0]!, signal: 'BLOCKED_NEED_HUMAN' };
    const record: RowRecord = {
      version: RECORD_VERSION,
      plan: this.planArg,
      planId: main.meta.id ?? null,
      phase: phase.id,
      base: { rows: main.log?.rows.length ?? 0, lastWhen: main.log?.rows.at(-1)?.when ?? null },
      rows,
      status: (phase.status ?? 'pending') as RowRecord['status'],
      blockers,
      learnings: [],
      ticks: [],
      changed: [],
      spentUsd: 0,
    };
    const merged = await mergeRecords(this.options.planPath, [record]);
    this.main = merged.plan;
    const written = merged.plan.log?.rows.at(-1);
    if (written) emit({ type: 'row', number: written.number ?? 0, action, result: 'failed', signal: written.signal as never, notes: written.notes });
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
    if (this.copyBack(lane, [...changed, ...declaredOutputs(lane.root, phase)]) > 0) this.writeMarker(lane);
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
    // A copy that blocks while the plan already waits for a person is merged at once: the plan then waits at both
    // phases, and a person answers each (deepplan approve clears the blockers of the phase it names only).
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
    // The cost cap in total: the merge that brings the plan's spend to it stops the plan, as the engine's check would.
    const spentNow = (main.meta.state?.spent_usd ?? 0) + record.spentUsd;
    if (this.cap !== null && spentNow >= this.cap.usd && blockers.length === 0 && blockersOf(main).length === 0) {
      const { name, usd } = this.cap;
      const where = `${used} of ${budget ?? '?'} iterations used; last action ${rows.at(-1)?.action}`;
      blockers.push(`${name} $${usd.toFixed(2)} spent ($${spentNow.toFixed(4)} by the phases run at once): ${where}`);
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

  /**
   * Files of a copy copied into the repository; how many were. Refused (WaveError, nothing copied) when another phase
   * of this run wrote one of them, or when the repository's file changed since the copy last gave it its files: that
   * change is someone else's (a person's fix while the plan waited), and is kept; the copy is then made again.
   */
  private copyBack(lane: Lane, files: string[]): number {
    const copies: Array<[string, string, string]> = [];
    for (const file of new Set(files)) {
      const from = join(lane.root, file);
      if (file === this.planArg || file.startsWith('..') || !existsSync(from) || !statSync(from).isFile()) continue;
      const to = join(this.options.root, file);
      // A file the copy has as the repository has it was not written by this phase (an earlier phase's output).
      if (existsSync(to) && readFileSync(to).equals(readFileSync(from))) continue;
      const owner = this.owners.get(file);
      if (owner && owner !== lane.phase) throw new WaveError(`${file} was written by both ${owner} and ${lane.phase}; no output is overwritten`);
      // Our own copies back are older than `synced` (written before it); a few ms allow for the clocks' rounding.
      if (lane.synced !== undefined && existsSync(to) && statSync(to).mtimeMs > lane.synced + 5) {
        throw new WaveError(`${file} changed in the repository while ${lane.phase} ran in its working copy; the repository's version is kept`);
      }
      copies.push([file, from, to]);
    }
    for (const [file, from, to] of copies) {
      this.owners.set(file, lane.phase);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
    }
    return copies.length;
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
      return marker.phase === phase &&
        typeof marker.base === 'number' &&
        typeof marker.spentBase === 'number' &&
        ['number', 'undefined'].includes(typeof marker.synced)
        ? marker
        : null;
    } catch {
      return null;
    }
  }

  /** The marker is written whole (a temporary file renamed), after the copy is complete. */
  private writeMarker(lane: Lane): void {
    lane.synced = Date.now();
    const marker: LaneMarker = { phase: lane.phase, base: lane.base, spentBase: lane.spentBase, synced: lane.synced };
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
  if (parallel === undefined) {
    // A run without --parallel that finishes the plan removes the working copies an earlier --parallel run left.
    const home = wavesHome(run.planPath);
    if (!existsSync(home)) return run;
    const iterate: WavesOptions['iterate'] = async (onEvent) => {
      const report = await run.iterate(onEvent);
      if (report.signal === 'TASK_COMPLETE') rmSync(home, { recursive: true, force: true });
      return report;
    };
    return { ...run, iterate };
  }
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
