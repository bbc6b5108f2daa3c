// A lint worker thread (see pool.ts): takes the next file index from the shared counter, lints that file and sends
// the result back, until no file is left.
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInput, WorkerMessage } from './pool.js';

// A thread does not share its process's compile cache: turn it on here, before the linter's modules load (they come
// with import() for that reason), so a thread's start reuses compiled code as the process's does.
process.getBuiltinModule?.('node:module')?.enableCompileCache?.();
const { lintFile } = await import('./lint.js');
const { serializeError } = await import('./pool.js');

const { files, cwd, next } = workerData as WorkerInput;
const port = parentPort!;
const send = (message: WorkerMessage) => port.postMessage(message);

for (let index = Atomics.add(next, 0, 1); index < files.length; index = Atomics.add(next, 0, 1)) {
  try {
    send({ index, result: await lintFile(files[index]!, cwd) });
  } catch (error) {
    send({ index, error: serializeError(error) });
  }
}
