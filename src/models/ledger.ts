import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
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
}

/** One JSON line per model call in `.deepplan/runs/<run-id>.jsonl`, and the running totals of this run. */
export class Ledger {
  readonly path: string | null;
  spentUsd = 0;
  inputTokens = 0;
  outputTokens = 0;
  calls = 0;

  constructor(
    readonly runId: string,
    root: string | null,
  ) {
    this.path = root ? join(root, '.deepplan', 'runs', `${runId}.jsonl`) : null;
  }

  static newRunId(): string {
    return `${new Date().toISOString().replace(/[:.]/g, '-')}-${Math.random().toString(36).slice(2, 8)}`;
  }

  record(entry: LedgerEntry): void {
    this.calls++;
    this.inputTokens += entry.inputTokens;
    this.outputTokens += entry.outputTokens;
    this.spentUsd += entry.costUsd ?? 0;
    if (!this.path) return;
    mkdirSync(join(this.path, '..'), { recursive: true });
    appendFileSync(this.path, `${redact(JSON.stringify({ at: new Date().toISOString(), run: this.runId, ...entry }))}\n`);
  }
}
