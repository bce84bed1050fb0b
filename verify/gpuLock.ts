// A FIFO async mutex for GPU work: checks that use the GPU take turns (share one lock across lanes
// on the same host so GPU-use samples are attributable to one job).

export class GpuLock {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
