// Time helpers: an absolute deadline, abortable sleep and bounded exponential backoff.

export class Deadline {
  readonly at: number;
  constructor(
    readonly totalMs: number,
    now: number = Date.now(),
  ) {
    this.at = now + totalMs;
  }
  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }
  expired(): boolean {
    return this.remainingMs() <= 0;
  }
  /** A per-attempt timeout: the smaller of `capMs` and what is left. */
  cap(capMs: number): number {
    return Math.min(capMs, this.remainingMs());
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Bounded exponential backoff: 100 ms, 200 ms, 400 ms ... capped at `maxMs`. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 1000,
  ) {}
  next(): number {
    const ms = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt += 1;
    return ms;
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)}s`;
}
