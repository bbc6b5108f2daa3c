import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { ConfigError } from '../config/config.js';
import type { Finding } from '../rules/rule.js';

/** One file's lint result (lint.ts makes it; it is here so the pool needs nothing of lint.ts). */
export interface FileResult {
  /** As shown to people: relative to the working directory, with forward slashes. */
  path: string;
  /** Relative to the repository root (for SARIF). */
  repoPath: string;
  findings: Finding[];
}

/**
 * Lints a large set of files on several threads: this thread and `threads - 1` worker threads take the next file
 * from one shared counter until none is left, so a thread that is slow to start (a worker spends ~0.2 s loading the
 * parser and more warming up) or that gets the long plans simply takes fewer files. When no file is left to take,
 * this thread also lints the files workers are still busy with, and the first result for a file wins: nobody waits
 * for a cold worker's last file. Results are put back in the order of `files`, so the output is the same as a
 * sequential run's.
 */

/** What a worker sends back: one message per file. */
export type WorkerMessage = { index: number; result: FileResult } | { index: number; error: { name: string; message: string } };

export interface WorkerInput {
  files: string[];
  cwd: string;
  /** Int32Array over a SharedArrayBuffer: the index of the next file nobody has taken. */
  next: Int32Array;
}

export interface PoolOptions {
  /** Threads in all, this one included; at least 1. */
  threads: number;
  /** Whether this thread lints files too (default true). Off, every file goes to a worker (tests use it). */
  mainThread?: boolean;
}

export interface PoolRun {
  files: FileResult[];
  /** Files linted by each thread: [0] this thread, then one entry per worker. */
  perThread: number[];
}

type Outcome = { result: FileResult } | { error: unknown };

/**
 * The compiled worker entry: next to this module in dist/lint/, beside it when this module is bundled into a chunk
 * (dist/chunks/), or dist/lint/worker.js when this module runs from src/.
 */
export function workerEntry(): URL | null {
  for (const candidate of ['./worker.js', '../lint/worker.js', '../../dist/lint/worker.js']) {
    const url = new URL(candidate, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return null;
}

export async function lintInPool(
  files: string[],
  cwd: string,
  lintFile: (file: string, cwd: string) => Promise<FileResult>,
  options: PoolOptions,
): Promise<PoolRun> {
  const entry = workerEntry();
  const workerCount = entry ? Math.max(0, Math.min(Math.floor(options.threads) - 1, files.length)) : 0;
  const useMainThread = options.mainThread !== false || workerCount === 0;
  const outcomes: Array<Outcome | undefined> = new Array(files.length);
  const perThread = new Array<number>(1 + workerCount).fill(0);
  const next = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const input: WorkerInput = { files, cwd, next };
  let missing = files.length;
  let running = workerCount;
  let progress = () => {};
  const settled = new Promise<void>((resolve) => {
    progress = () => {
      if (missing === 0 || running === 0) resolve();
    };
  });

  const settle = (index: number, outcome: Outcome, thread: number) => {
    if (outcomes[index] !== undefined) return;
    outcomes[index] = outcome;
    perThread[thread]!++;
    missing--;
    progress();
  };
  const lintHere = async (index: number) => {
    let outcome: Outcome;
    try {
      outcome = { result: await lintFile(files[index]!, cwd) };
    } catch (error) {
      outcome = { error };
    }
    settle(index, outcome, 0);
  };

  const workers: Worker[] = [];
  // Loaded only when threads start: a run of a few files (one plan in a pre-commit hook) does not pay for it. Through
  // getBuiltinModule, not import(): the start-up snapshot (src/cli/snapshot.ts) runs this code, and code restored from
  // a snapshot cannot import().
  const WorkerThread = workerCount > 0 ? process.getBuiltinModule('node:worker_threads').Worker : null;
  for (let n = 0; n < workerCount; n++) {
    let worker: Worker;
    try {
      worker = new WorkerThread!(entry!, { workerData: input });
    } catch {
      // No thread to be had (resource limits): the threads that did start, this one included, do the work.
      running--;
      continue;
    }
    workers.push(worker);
    worker.on('message', (message: WorkerMessage) => {
      settle(message.index, 'result' in message ? { result: message.result } : { error: reviveError(message.error) }, n + 1);
    });
    // A worker that dies (it could not load, it ran out of memory) is not fatal: the files it took and did not
    // report are linted below, on this thread.
    let exited = false;
    const exit = () => {
      if (exited) return;
      exited = true;
      running--;
      progress();
    };
    worker.on('error', exit);
    worker.on('exit', exit);
  }
  progress();

  try {
    if (useMainThread) {
      for (let index = Atomics.add(next, 0, 1); index < files.length; index = Atomics.add(next, 0, 1)) await lintHere(index);
      // Every file is taken; those a worker is still on are done here too, and whichever result comes first counts.
      for (let index = 0; index < files.length && missing > 0; index++) if (outcomes[index] === undefined) await lintHere(index);
    }
    await settled;
    for (let index = 0; index < files.length && missing > 0; index++) if (outcomes[index] === undefined) await lintHere(index);
  } finally {
    // Workers still loading, or still on a file this thread finished first, are not waited for.
    for (const worker of workers) worker.terminate().catch(() => {});
  }

  // A sequential run stops at the first file that throws (an unreadable configuration): throw that same error.
  const results: FileResult[] = [];
  for (const outcome of outcomes) {
    if ('error' in outcome!) throw outcome.error;
    results.push(outcome!.result);
  }
  return { files: results, perThread };
}

export function serializeError(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}

function reviveError(error: { name: string; message: string }): Error {
  if (error.name === 'ConfigError') return new ConfigError(error.message);
  const revived = new Error(error.message);
  revived.name = error.name;
  return revived;
}
