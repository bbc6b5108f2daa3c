// A lint worker thread (see pool.ts): takes the next file index from the shared counter, lints that file and sends
// the result back, until no file is left.
import { parentPort, workerData } from 'node:worker_threads';
import { lintFile } from './lint.js';
import { serializeError, type WorkerInput, type WorkerMessage } from './pool.js';

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
