// GPU use that belongs to our job. rocm-smi's `GPU use (%)` is device-wide, so a reading proves
// nothing until it is attributed: `rocm-smi --showpids` lists the processes using the GPU (host PIDs)
// and `docker top` says which of them are the lane container's.
//   - Before the job (preflight): wait, bounded, until no GPU work but this lane's runs and the GPU
//     is idle; the idle readings are the baseline. Foreign work that does not end in time is a refusal
//     to judge, naming its PIDs and their containers.
//   - During the job: a sample counts only when its use is above the baseline, some working GPU
//     process is the lane container's and none is anyone else's. Where rocm-smi cannot list processes
//     (or docker top fails), a sample counts when it is above the baseline of an idle GPU (mode
//     "baseline"), and the evidence says so.
// Every sample and its attribution go into the evidence (host/<label>_gpu_use.json).
import * as rocmSmi from "../../lib/commands/rocmSmi";
import { sleep } from "../deadline";
import { containerPids, ownersOf } from "../host/docker";
import { type GpuProcess, gpuProcesses, gpuUsePercents, isWorking } from "../host/rocmSmi";
import { describeCommandFailure, type HostRunner } from "../host/runner";

/** At or below this, the GPU is idle for the preflight. */
export const IDLE_USE_PERCENT = 5;
/** Consecutive idle samples the preflight needs. */
const IDLE_SAMPLES = 2;
const COMMAND_TIMEOUT_MS = 10_000;

export interface ListedProcess {
  pid: number;
  name: string;
  /** The container owning the PID; null for a host process (or unknown). */
  container: string | null;
}

export interface GpuSample {
  atMs: number;
  use: number | null;
  processes: ListedProcess[];
  ours: number[];
  foreign: number[];
  counted: boolean;
  why: string;
}

export interface Preflight {
  idle: boolean;
  waitedMs: number;
  baseline: number;
  foreign: ListedProcess[];
  samples: GpuSample[];
}

export type AttributionMode = "pids" | "baseline";

export interface GpuUseEvidence {
  container: string;
  lanePids: number[];
  mode: AttributionMode;
  modeWhy: string;
  preflight: Preflight | null;
  samples: GpuSample[];
  /** Highest use among counted samples (0 when none counted). */
  attributedPeak: number;
  errors: string[];
}

export function describeProcesses(ps: readonly ListedProcess[]): string {
  return ps.map((p) => `pid ${p.pid} (${p.name || "unknown"}) ${p.container ? `in container ${p.container}` : "on the host"}`).join(", ");
}

export interface AttributionContext {
  host: HostRunner;
  docker: readonly string[];
  container: string;
  intervalMs: number;
  /** Time left for commands (the run's deadline). */
  remainingMs(): number;
  signal?: AbortSignal;
}

export class GpuAttribution {
  private lanePids: Set<number> | undefined;
  private mode: AttributionMode = "pids";
  private modeWhy = "rocm-smi --showpids and docker top attribute each process";
  private readonly owners = new Map<number, string | null>();
  private readonly errors: string[] = [];
  private preflightResult: Preflight | null = null;
  private readonly samples: GpuSample[] = [];
  private started = Date.now();
  private stopped = true;
  private loop: Promise<void> = Promise.resolve();
  private wake = new AbortController();

  constructor(private readonly ctx: AttributionContext) {}

  private timeout(): number {
    return Math.max(1, Math.min(COMMAND_TIMEOUT_MS, this.ctx.remainingMs()));
  }

  private async refreshLanePids(): Promise<void> {
    const found = await containerPids(this.ctx.host, this.ctx.docker, this.ctx.container, this.timeout());
    if (found instanceof Set) {
      this.lanePids = found;
    } else if (this.lanePids === undefined) {
      this.mode = "baseline";
      this.modeWhy = `docker top ${this.ctx.container} failed (${describeCommandFailure(found)}): only use above the baseline of an idle GPU counts`;
    }
  }

  /** One `rocm-smi --showuse --showpids` reading, attributed. */
  private async sample(baseline: number | undefined): Promise<GpuSample> {
    const atMs = Date.now() - this.started;
    const res = await this.ctx.host.run(rocmSmi.useAndPids(), this.timeout());
    if (res.exitCode !== 0) {
      this.errors.push(describeCommandFailure(res));
      return { atMs, use: null, processes: [], ours: [], foreign: [], counted: false, why: "rocm-smi failed" };
    }
    const values = gpuUsePercents(res.stdout);
    const use = values.length > 0 ? Math.max(...values) : null;
    if (use === null) this.errors.push("rocm-smi --showuse printed no `GPU use (%)` line");
    const listed = gpuProcesses(res.stdout);
    if (listed === undefined && this.mode === "pids") {
      this.mode = "baseline";
      this.modeWhy = "rocm-smi lists no processes (--showpids): only use above the baseline of an idle GPU counts";
    }
    const working = (listed ?? []).filter(isWorking);
    // A PID never seen before may be a new process of the lane's container: ask docker top again.
    if (this.mode === "pids" && working.some((p) => !this.lanePids?.has(p.pid) && !this.owners.has(p.pid))) await this.refreshLanePids();
    const processes = await this.describe(working);
    const ours = this.mode === "pids" ? working.filter((p) => this.lanePids?.has(p.pid)).map((p) => p.pid) : [];
    const foreign = working.filter((p) => !this.lanePids?.has(p.pid)).map((p) => p.pid);
    let counted = false;
    let why: string;
    if (use === null) why = "no reading";
    else if (baseline !== undefined && use <= baseline) why = `not above the baseline ${baseline}`;
    else if (foreign.length > 0 && this.mode === "pids") why = "foreign GPU work";
    else if (this.mode === "pids" && ours.length === 0) why = "no process of ours on the GPU";
    else {
      counted = baseline !== undefined;
      why = counted ? "ours" : "preflight";
    }
    return { atMs, use, processes, ours, foreign: this.mode === "pids" ? foreign : [], counted, why };
  }

  private async describe(ps: readonly GpuProcess[]): Promise<ListedProcess[]> {
    const unknown = ps.map((p) => p.pid).filter((pid) => !this.owners.has(pid) && !this.lanePids?.has(pid));
    if (unknown.length > 0) {
      const found = await ownersOf(this.ctx.host, this.ctx.docker, unknown, this.timeout());
      for (const pid of unknown) this.owners.set(pid, found.get(pid) ?? null);
    }
    return ps.map((p) => ({ pid: p.pid, name: p.name, container: this.lanePids?.has(p.pid) ? this.ctx.container : (this.owners.get(p.pid) ?? null) }));
  }

  /**
   * Waits (at most `waitMs`) until no GPU work but this lane's runs and the GPU is idle; the result
   * says whether it did, the baseline and, if not, whose work was running.
   */
  async preflight(waitMs: number): Promise<Preflight> {
    this.started = Date.now();
    await this.refreshLanePids();
    const until = Date.now() + waitMs;
    const samples: GpuSample[] = [];
    let idleRun: number[] = [];
    for (;;) {
      const s = await this.sample(undefined);
      samples.push(s);
      const foreign = s.processes.filter((p) => s.foreign.includes(p.pid));
      const idle = s.use !== null && s.use <= IDLE_USE_PERCENT && foreign.length === 0;
      idleRun = idle ? [...idleRun, s.use ?? 0] : [];
      const done = idleRun.length >= IDLE_SAMPLES;
      const outOfTime = samples.length >= IDLE_SAMPLES && Date.now() + this.ctx.intervalMs > until;
      if (done || outOfTime || this.ctx.signal?.aborted) {
        this.preflightResult = {
          idle: done,
          waitedMs: Date.now() - this.started,
          baseline: done ? Math.max(...idleRun) : (s.use ?? 0),
          foreign: done ? [] : foreign,
          samples: samples.slice(-20),
        };
        return this.preflightResult;
      }
      await sleep(this.ctx.intervalMs, this.ctx.signal);
    }
  }

  /** Samples until `stop()`; needs a preflight first (its baseline). */
  start(): void {
    const baseline = this.preflightResult?.baseline ?? 0;
    this.stopped = false;
    this.wake = new AbortController();
    this.loop = (async () => {
      while (!this.stopped) {
        this.samples.push(await this.sample(baseline));
        if (!this.stopped) await sleep(this.ctx.intervalMs, this.wake.signal);
      }
    })();
  }

  /** Stops after the in-flight sample completes (so there is always at least one). */
  async stop(): Promise<GpuUseEvidence> {
    this.stopped = true;
    this.wake.abort();
    await this.loop;
    const counted = this.samples.filter((s) => s.counted);
    return {
      container: this.ctx.container,
      lanePids: [...(this.lanePids ?? [])],
      mode: this.mode,
      modeWhy: this.modeWhy,
      preflight: this.preflightResult,
      samples: [...this.samples],
      attributedPeak: counted.length > 0 ? Math.max(...counted.map((s) => s.use ?? 0)) : 0,
      errors: [...this.errors],
    };
  }
}

/** Why no sample counted, for the failure line. */
export function noAttributedUse(e: GpuUseEvidence): string {
  const n = e.samples.length;
  if (n === 0 || e.samples.every((s) => s.use === null)) return e.errors[0] ?? "no samples";
  const foreign = e.samples.filter((s) => s.why === "foreign GPU work");
  const whose = new Map<number, ListedProcess>();
  for (const s of foreign) for (const p of s.processes) if (s.foreign.includes(p.pid)) whose.set(p.pid, p);
  const parts = [`none of ours over ${n} sample(s)`];
  const extra: string[] = [];
  if (foreign.length > 0) extra.push(`${foreign.length} with foreign GPU work: ${describeProcesses([...whose.values()])}`);
  const peak = Math.max(...e.samples.map((s) => s.use ?? 0));
  if (foreign.length === 0) extra.push(`peak ${peak} %, baseline ${e.preflight?.baseline ?? 0} %`);
  if (e.mode === "baseline") extra.push(e.modeWhy);
  return `${parts.join("")} (${extra.join("; ")})`;
}
