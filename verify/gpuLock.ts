// Serialises GPU work so GPU-use samples are attributable to one job: a FIFO async mutex within
// this process (share one lock across lanes verified together), optionally backed by a lock file
// so separate verifier processes on the same machine (e.g. Pulumi's per-lane verification
// commands running in parallel) take turns too. A lock file left by a dead process is taken over.
import * as fs from "node:fs";
import * as path from "node:path";

export interface GpuLockOptions {
  /** Lock file shared by every verifier process that must take turns. */
  file?: string;
  /** How long to wait for the file lock before failing; default 10 minutes. */
  waitMs?: number;
  /** Poll interval while another process holds the file lock; default 200 ms. */
  pollMs?: number;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function holderOf(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export class GpuLock {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly options: GpuLockOptions = {}) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      const unlock = this.options.file ? await this.lockFile(this.options.file) : () => undefined;
      try {
        return await fn();
      } finally {
        unlock();
      }
    } finally {
      release();
    }
  }

  private async lockFile(file: string): Promise<() => void> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const deadline = Date.now() + (this.options.waitMs ?? 600_000);
    const poll = this.options.pollMs ?? 200;
    for (;;) {
      try {
        fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
        return () => {
          if (holderOf(file) === process.pid) fs.rmSync(file, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = holderOf(file);
      if (holder !== undefined && !processAlive(holder)) {
        fs.rmSync(file, { force: true }); // left by a process that is gone
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`waited ${Math.round((this.options.waitMs ?? 600_000) / 1000)} s for the GPU lock ${file} held by ${holder === undefined ? "an unknown process" : `pid ${holder}`}`);
      }
      await new Promise((resolve) => setTimeout(resolve, poll));
    }
  }
}
