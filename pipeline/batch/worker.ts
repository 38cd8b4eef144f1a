/** Worker thread of a batch: runs the files it is handed, one at a time, and reports back. */
import { parentPort, workerData } from 'node:worker_threads';
import { InProcessExecutor, postError, type FromWorker, type JobSettings, type ToWorker } from './executor.js';

const port = parentPort!;
const executor = new InProcessExecutor(workerData as JobSettings);
const post = (m: FromWorker) => port.postMessage(m);

let current: AbortController | null = null;

port.on('message', (m: ToWorker) => {
  if (m.type === 'stop') {
    current?.abort(m.reason);
    return;
  }
  const stop = (current = new AbortController());
  executor
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
