/**
 * Time for the pacer, injected so pacing is testable without the wall clock.
 *
 * `now()` is a monotonic time in milliseconds (fractional); `sleep(ms)` waits at least `ms`
 * (a real timer may wake later, never earlier: the pacer re-reads `now()` after each wake);
 * `wallMs()` is the epoch time in milliseconds that corresponds to the current `now()`, used to
 * stamp packets written to live streams with their time of sending.
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  wallMs(): number;
}

/** The process clock: performance.now() and one setTimeout per sleep (1 ms granularity). */
export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      // setTimeout has 1 ms granularity and truncates: round up so we never wake early.
      const timer = setTimeout(done, Math.max(1, Math.ceil(ms)));
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
  wallMs: () => performance.timeOrigin + performance.now(),
};

/**
 * A clock that only moves when slept on: sleeping advances it by exactly the time asked. Used
 * for destinations that are plain files (the schedule is a computation, nothing waits) and by
 * tests. `advance()` lets a test charge time to an operation (a slow destination, say).
 */
export class VirtualClock implements Clock {
  /** Total time slept, and how many sleeps it took. */
  slept = 0;
  sleeps = 0;

  constructor(
    private t = 0,
    /** Epoch milliseconds at t = 0. */
    private readonly epochMs = 0,
  ) {}

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    if (ms > 0) {
      this.t += ms;
      this.slept += ms;
    }
    this.sleeps++;
    return Promise.resolve();
  }

  advance(ms: number): void {
    this.t += ms;
  }

  wallMs(): number {
    return this.epochMs + this.t;
  }
}
