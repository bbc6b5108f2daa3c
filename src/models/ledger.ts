import { appendFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { redact } from './redact.js';

export interface LedgerEntry {
  role: string;
  model: string;
  attempt: number;
  ok: boolean;
  inputTokens: number;
  outputTokens: number;
  /** null when the model's price is unknown. */
  costUsd: number | null;
  latencyMs: number;
  error?: string;
  /** The context pack the call carried: its sections' sizes in tokens, with `total` and `budget` (the planner's calls). */
  pack?: Record<string, number>;
}

/**
 * One JSON line per model call in `.deepplan/runs/<run-id>.jsonl`, and the running totals of this run. The file is a
 * local record; what a plan has spent in all lives in the plan itself (`state.spent_usd`, committed with it), so a cost
 * cap holds across runs and machines: the engine adds this run's spend to it in every write of the plan.
 */
export class Ledger {
  readonly path: string | null;
  spentUsd = 0;
  inputTokens = 0;
  outputTokens = 0;
  calls = 0;
  /** The plan's `state.spent_usd` as last read or written: what it had spent apart from this run's unrecorded calls. */
  planSpentUsd = 0;
  /** How much of `spentUsd` is already in the plan's `state.spent_usd`. */
  private recordedUsd = 0;

  constructor(
    readonly runId: string,
    root: string | null,
  ) {
    this.path = root ? join(root, '.deepplan', 'runs', `${runId}.jsonl`) : null;
  }

  /**
   * The run id of this command: one per process, so every model runner a command makes (`deepplan plan` plans, then
   * reviews) appends to the one ledger file, `.deepplan/runs/<id>.jsonl`. It is handed down in DEEPPLAN_RUN_ID, so
   * a deepplan process the command starts (the review `deepplan new` runs in a child) writes the same ledger.
   */
  static newRunId(): string {
    if (commandRunId === null) {
      const inherited = process.env[RUN_ID_VARIABLE];
      commandRunId =
        inherited && /^[\w.-]{1,80}$/.test(inherited)
          ? inherited
          : `${new Date().toISOString().replace(/[:.]/g, '-')}-${Math.random().toString(36).slice(2, 8)}`;
      process.env[RUN_ID_VARIABLE] = commandRunId;
    }
    return commandRunId;
  }

  /** This run's spend not yet added to the plan's `state.spent_usd`. */
  get unrecordedUsd(): number {
    return Math.max(0, this.spentUsd - this.recordedUsd);
  }

  /** What the plan has spent in all: its recorded total and this run's calls since. */
  get totalUsd(): number {
    return this.planSpentUsd + this.unrecordedUsd;
  }

  /** The plan's recorded total after adding this run's unrecorded spend to `recorded` (rounded to a millionth). */
  totalWith(recorded: number): number {
    return roundUsd(recorded + this.unrecordedUsd);
  }

  /** The plan now records `total`, which includes every call of this run so far. */
  recordedInPlan(total: number): void {
    this.planSpentUsd = total;
    this.recordedUsd = this.spentUsd;
  }

  /** Read from the plan at the start of a run: what it had spent before. */
  startFrom(planSpentUsd: number): void {
    this.recordedInPlan(Number.isFinite(planSpentUsd) && planSpentUsd > 0 ? planSpentUsd : 0);
  }

  /** While set, every entry records it as its `pack`: the context pack the calls in progress carry. */
  contextPack: Record<string, number> | null = null;

  record(entry: LedgerEntry): void {
    if (this.contextPack && !entry.pack) entry = { ...entry, pack: this.contextPack };
    this.calls++;
    this.inputTokens += entry.inputTokens;
    this.outputTokens += entry.outputTokens;
    this.spentUsd += entry.costUsd ?? 0;
    command.calls++;
    command.spentUsd += entry.costUsd ?? 0;
    if (entry.ok && entry.costUsd === null) command.unpriced.add(entry.model);
    if (!this.path) return;
    command.paths.add(this.path);
    mkdirSync(join(this.path, '..'), { recursive: true });
    appendFileSync(this.path, `${redact(JSON.stringify({ at: new Date().toISOString(), run: this.runId, ...entry }))}\n`);
  }
}

let commandRunId: string | null = null;
const RUN_ID_VARIABLE = 'DEEPPLAN_RUN_ID';

/** What the model calls of this command (this process) cost, over every ledger it wrote. */
const command = { calls: 0, spentUsd: 0, unpriced: new Set<string>(), paths: new Set<string>() };

export interface CommandSpend {
  calls: number;
  spentUsd: number;
  /** Models that answered without a known price (their calls count as $0 in `spentUsd`). */
  unpriced: string[];
  /** The ledger files written (one per repository root; one in all for a command in one repository). */
  ledgers: string[];
}

export function commandSpend(): CommandSpend {
  return { calls: command.calls, spentUsd: roundUsd(command.spentUsd), unpriced: [...command.unpriced].sort(), ledgers: [...command.paths] };
}

/**
 * The line a command that calls models ends with: `model cost: $0.0123 (14 calls); ledger: .deepplan/runs/<id>.jsonl`,
 * with the models of unknown price named. Paths are shown relative to `cwd`. The offline engine is not a model call.
 */
export function commandCostLine(spend: CommandSpend = commandSpend(), cwd = process.cwd()): string {
  if (spend.calls === 0) return "model cost: $0.0000 (no calls to a provider's model)";
  const unknown = spend.unpriced.length > 0 ? `, plus calls to ${spend.unpriced.join(', ')} of unknown price` : '';
  const ledgers = spend.ledgers.map((path) => relative(cwd, path) || path).join(', ');
  return `model cost: $${spend.spentUsd.toFixed(4)} (${spend.calls} call${spend.calls === 1 ? '' : 's'}${unknown})${ledgers ? `; ledger: ${ledgers}` : ''}`;
}

function roundUsd(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
