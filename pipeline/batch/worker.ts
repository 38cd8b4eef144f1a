/**
 * Worker thread of a batch: started ahead of its settings (executor.ts), it loads the pipeline
 * validator meanwhile when there is a pipeline; then runs the files it is handed, one at a time,
 * and reports back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InProcessExecutor, postError, type FromWorker, type ToWorker, type WorkerStart } from './executor.js';

const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);
// The validator's module (zod, every stage): loading it is most of a worker's start-up with a pipeline.
if ((workerData as WorkerStart).loadValidator) import('../config.js').catch(() => {});

let executor: InProcessExecutor | null = null;
let current: AbortController | null = null;

port.on('message', (m: ToWorker) => {
  if (m.type === 'settings') {
    executor = new InProcessExecutor(m.settings);
    executor.prepare();
    return;
  }
  if (m.type === 'stop') {
    current?.abort(m.reason);
    return;
  }
  const stop = (current = new AbortController());
  executor!
    .run(m.job, {
      onWarning: (message) => post({ type: 'warning', message }),
      onProgress: (bytesIn) => post({ type: 'progress', bytesIn }),
      signal: stop.signal,
    })
    .then(
      (outcome) => post({ type: 'done', outcome }),
      (e: unknown) => post({ type: 'failed', error: postError(e) }),
    );
});
