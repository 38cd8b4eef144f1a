/**
 * Waits a signal must be able to end: a read from stdin that never gets data, a write to a
 * reader that stopped reading. Such a wait cannot be cancelled itself, so it is raced with the
 * signal and abandoned (the process is about to exit).
 */

/** The rejection of an abandoned wait. */
function stopped(signal: AbortSignal): Error {
  const e = new Error(`stopped by ${String(signal.reason)}`);
  e.name = 'AbortError';
  return e;
}

/** `p`, or a rejection as soon as `signal` aborts. */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(stopped(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(stopped(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Iterate `source` until `signal` aborts, even while it waits for its next item. */
export async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  if (!signal) {
    yield* source;
    return;
  }
  const it = source[Symbol.asyncIterator]();
  let pending = false;
  try {
    for (;;) {
      pending = true;
      const r = await untilAborted(it.next(), signal);
      pending = false;
      if (r.done) return;
      yield r.value;
    }
  } finally {
    // Ending early (an error downstream) releases the source; an abandoned next() cannot be.
    if (!pending) await it.return?.();
  }
}
