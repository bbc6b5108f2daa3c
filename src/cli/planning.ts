import { createInterface } from 'node:readline/promises';
import { ModelError } from '../models/errors.js';
import { PipelineError } from '../pipeline/errors.js';
import type { PipelineEvent } from '../pipeline/run.js';
import { SessionError } from '../pipeline/session.js';
import type { Question } from '../pipeline/sufficiency.js';
import { EXIT, UserError } from './exit.js';

/**
 * Planning at the command line without the screens: the interview question and the pipeline's events as plain text,
 * the interview on a terminal, and the failures of `deepplan plan` and `deepplan new` as one-line errors. What the
 * two share beyond that is in src/pipeline/session.ts.
 */

export function describeQuestion(question: Question, index: number): string {
  const lines = [`${index + 1}. [${question.id}] ${question.text}`];
  question.options.forEach((option, n) => lines.push(`   ${n + 1}) ${option}${question.recommended === n ? '  (recommended)' : ''}`));
  if (question.options.length === 0) lines.push('   (a short free answer)');
  return lines.join('\n');
}

/** A pipeline, model or session failure as a one-line error with its exit status; anything else is passed on. */
export function planningFailure(error: unknown): unknown {
  if (error instanceof PipelineError || error instanceof ModelError) return new UserError(error.message, EXIT.failed);
  if (error instanceof SessionError) return new UserError(error.message, EXIT[error.kind]);
  return error;
}

/** `read()`, with its session failure (a request or answers file that cannot be read, an --out that exists) as a UserError. */
export function asUserError<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw planningFailure(error);
  }
}

/** A pipeline event as the line `deepplan plan` prints on standard error, or null. */
export function eventLine(event: PipelineEvent): string | null {
  if (event.type === 'result') return `${event.phase.padEnd(12)} ${event.summary}`;
  if (event.type === 'progress') return `${''.padEnd(12)} ${event.message}`;
  return null;
}

/**
 * Asks interview questions on the terminal, one readline for the whole interview (typed-ahead answers are kept):
 * Enter takes the recommended option, a number picks one, text is a free answer.
 */
export function terminalInterview(): { ask: (question: Question) => Promise<string>; close: () => void } {
  let readline: ReturnType<typeof createInterface> | null = null;
  let lines: AsyncIterator<string> | null = null;
  return {
    async ask(question) {
      readline ??= createInterface({ input: process.stdin, output: process.stdout });
      // The line iterator buffers what was typed ahead; question() would drop lines typed before its prompt.
      lines ??= readline[Symbol.asyncIterator]();
      const recommended = question.recommended === null ? '' : String(question.recommended + 1);
      process.stdout.write(`\n${describeQuestion(question, 0).replace(/^1\. /, '? ')}\nAnswer${recommended ? ` [${recommended}]` : ''}: `);
      const next = await lines.next();
      if (next.done) throw new UserError('the interview was cancelled; nothing was written', EXIT.blocked);
      return next.value.trim() === '' ? recommended : next.value.trim();
    },
    close() {
      readline?.close();
    },
  };
}
