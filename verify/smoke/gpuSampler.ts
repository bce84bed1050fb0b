// Samples `rocm-smi --showuse` on the host while a GPU job runs and keeps the peak `GPU use (%)`.
import { sleep } from "../deadline";
import { type HostRunner, describeCommandFailure } from "../host/runner";
import { gpuUsePercents } from "../host/rocmSmi";

export interface GpuUseSummary {
  samples: number[];
  peak: number;
  errors: string[];
}

export class GpuUseSampler {
  private readonly samples: number[] = [];
  private readonly errors: string[] = [];
  private stopped = false;
  private readonly wake = new AbortController();
  private readonly loop: Promise<void>;

  constructor(private readonly host: HostRunner, private readonly intervalMs: number, private readonly timeoutMs: () => number) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const res = await this.host.run(["rocm-smi", "--showuse"], Math.max(1, Math.min(10_000, this.timeoutMs())));
      if (res.exitCode === 0) {
        const values = gpuUsePercents(res.stdout);
        if (values.length > 0) this.samples.push(Math.max(...values));
        else this.errors.push("rocm-smi --showuse printed no `GPU use (%)` line");
      } else {
        this.errors.push(describeCommandFailure(res));
      }
      if (!this.stopped) await sleep(this.intervalMs, this.wake.signal);
    }
  }

  /** Stops after the in-flight sample completes (so there is always at least one). */
  async stop(): Promise<GpuUseSummary> {
    this.stopped = true;
    this.wake.abort();
    await this.loop;
    return { samples: [...this.samples], peak: this.samples.length > 0 ? Math.max(...this.samples) : 0, errors: [...this.errors] };
  }
}
