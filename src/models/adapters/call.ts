import { fromSdkError } from '../errors.js';
import type { GenerateRequest } from '../types.js';

/** Runs one SDK call with the request's abort signal and time limit, turning any failure into a ModelError. */
export async function callWithTimeout<T>(provider: string, model: string, request: GenerateRequest, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeout = new AbortController();
  const timer = request.timeoutMs ? setTimeout(() => timeout.abort(), request.timeoutMs) : null;
  const signal = request.signal ? AbortSignal.any([request.signal, timeout.signal]) : timeout.signal;
  try {
    return await call(signal);
  } catch (error) {
    throw fromSdkError(error, provider, model, timeout.signal.aborted && !request.signal?.aborted);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
