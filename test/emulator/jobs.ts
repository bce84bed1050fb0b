// The emulator's job store: v1 and v2 jobs on disk under the data root (raw input, artifacts,
// manifest.json), a timed lifecycle queued -> running -> succeeded|failed, and the "conversions".
// GPU work is visible the way the real device shows it: while a GPU job runs, a marker file in the
// (device-wide, shared by lanes) GPU state dir holds `<use %> <pid> <process name>` for the fake
// rocm-smi, and the process holds an open fd on the kfd device node when it exists (the box's
// stand-in rocm-smi lists processes with such an fd). Like the real service, a cancel does not stop
// a running conversion: the GPU keeps working until the job would have ended.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { makeDocx, makePdf } from "./documents";

export type Api = "v1" | "v2";
export type Status = "queued" | "running" | "succeeded" | "failed" | "canceled";

export interface JobFailure {
  code: string;
  message: string;
  retryable: boolean;
  details: Record<string, unknown> | null;
}

export interface Job {
  api: Api;
  id: string;
  status: Status;
  stage: string;
  spec: Record<string, unknown>;
  sourceFilename: string;
  sourceFormat: "pdf" | "md" | "html";
  outputFormat: "md" | "pdf" | "docx";
  input: Buffer;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  pinned: boolean;
  artifact?: Buffer;
  metadata?: Record<string, unknown>;
  warnings: string[];
  error: JobFailure | null;
}

export interface LifecycleOptions {
  jobDurationMs: number;
  acceleration: "cuda" | "cpu";
  warnings: string[];
  /** Route (e.g. `pdf->md`, `md->docx`) -> the error that job fails with. */
  failRoutes: Record<string, JobFailure>;
  gpuStateDir?: string;
  gpuUsePercent: number;
  /** Host PID the markers name (the lane container's process); default this process. */
  gpuPid: number;
  /** Device node held open while a GPU job runs, when it exists (default /dev/kfd). */
  kfdPath: string;
  /** Routes (e.g. `pdf->docx`) whose Docling silently runs without the GPU: no GPU use, still "cuda". */
  cpuRoutes: readonly string[];
}

/** The kfd path the emulator holds: EMULATOR_KFD_PATH, else /dev/kfd. */
export function defaultKfdPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.EMULATOR_KFD_PATH ?? "/dev/kfd";
}

export function rfc3339(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function isGpuRoute(job: Job): boolean {
  return job.sourceFormat === "pdf";
}

export function routeOf(job: Job): string {
  return `${job.sourceFormat}->${job.outputFormat}`;
}

/** Text a "conversion" works from: Tj/' strings of a PDF, or the visible text of HTML/Markdown. */
export function extractLines(job: Job): string[] {
  const text = job.input.toString("latin1");
  if (job.sourceFormat === "pdf") {
    const lines = [...text.matchAll(/\(((?:\\.|[^\\)])*)\)\s*(?:Tj|')/g)].map((m) => (m[1] ?? "").replace(/\\(.)/g, "$1"));
    return lines.length > 0 ? lines : ["(no text layer)"];
  }
  const plain = job.sourceFormat === "html" ? text.replace(/<style[\s\S]*?<\/style>/gi, "").replace(/<[^>]+>/g, " ") : text;
  return plain
    .split("\n")
    .map((l) => l.replace(/\s+/g, " ").trim())
    .filter((l) => l.length > 0);
}

export class JobStore {
  readonly jobs = new Map<string, Job>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Open kfd fds of running GPU jobs, by job id. */
  private readonly kfdFds = new Map<string, number>();

  constructor(
    private readonly diskRoot: string,
    private readonly lifecycle: LifecycleOptions,
  ) {
    for (const dir of ["jobs", "jobs_v2", "idempotency", "expired", "expired_v2"]) mkdirSync(path.join(diskRoot, dir), { recursive: true });
  }

  newId(api: Api): string {
    return `${api === "v1" ? "job_" : "jobv2_"}${randomBytes(13).toString("hex")}`;
  }

  jobDir(job: Pick<Job, "api" | "id">): string {
    return path.join(this.diskRoot, job.api === "v1" ? "jobs" : "jobs_v2", job.id);
  }

  create(job: Job): void {
    this.jobs.set(job.id, job);
    const dir = this.jobDir(job);
    mkdirSync(path.join(dir, "raw"), { recursive: true });
    writeFileSync(path.join(dir, "raw", `input.${job.sourceFormat}`), job.input);
    this.writeManifest(job);
    this.later(20, () => this.start(job));
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private touch(job: Job, status: Status, stage: string): void {
    job.status = status;
    job.stage = stage;
    job.updatedAt = rfc3339();
    if (status === "succeeded" || status === "failed" || status === "canceled") job.completedAt = job.updatedAt;
    this.writeManifest(job);
  }

  /** True when this job's conversion really uses the GPU (a GPU route not forced onto the CPU). */
  private usesGpu(job: Job): boolean {
    return isGpuRoute(job) && !this.lifecycle.cpuRoutes.includes(routeOf(job)) && this.lifecycle.gpuUsePercent > 0;
  }

  private gpuMarker(job: Job): string | undefined {
    return this.lifecycle.gpuStateDir && isGpuRoute(job) ? path.join(this.lifecycle.gpuStateDir, job.id) : undefined;
  }

  private holdGpu(job: Job): void {
    if (!this.usesGpu(job)) return;
    const marker = this.gpuMarker(job);
    if (marker) writeFileSync(marker, `${this.lifecycle.gpuUsePercent} ${this.lifecycle.gpuPid} python3\n`);
    if (existsSync(this.lifecycle.kfdPath)) {
      try {
        this.kfdFds.set(job.id, openSync(this.lifecycle.kfdPath, "r"));
      } catch {
        // not openable here (permissions): the marker still shows the work
      }
    }
  }

  private releaseGpu(job: Job): void {
    const marker = this.gpuMarker(job);
    if (marker) rmSync(marker, { force: true });
    const fd = this.kfdFds.get(job.id);
    if (fd !== undefined) {
      this.kfdFds.delete(job.id);
      closeSync(fd);
    }
  }

  private start(job: Job): void {
    if (job.status !== "queued") return;
    this.touch(job, "running", "converting");
    this.holdGpu(job);
    // The conversion runs to its end whatever happens to the job record (cancel does not stop it).
    this.later(this.lifecycle.jobDurationMs, () => {
      this.releaseGpu(job);
      this.finish(job);
    });
  }

  private finish(job: Job): void {
    if (job.status !== "running") return;
    const failure = this.lifecycle.failRoutes[routeOf(job)];
    if (failure) {
      job.error = failure;
      this.touch(job, "failed", "converting");
      return;
    }
    const lines = extractLines(job);
    let artifact: Buffer;
    if (job.outputFormat === "md") artifact = Buffer.from(`# ${lines[0] ?? "Document"}\n\n${lines.slice(1).join("\n\n")}\n`, "utf8");
    else if (job.outputFormat === "pdf") artifact = makePdf(lines, job.sourceFilename);
    else artifact = makeDocx(lines);
    const dir = this.jobDir(job);
    mkdirSync(path.join(dir, "artifacts"), { recursive: true });
    writeFileSync(path.join(dir, "artifacts", `output.${job.outputFormat}`), artifact);
    const fingerprint = `sha256:${createHash("sha256").update(JSON.stringify(job.spec)).digest("hex")}`;
    const gpu = isGpuRoute(job);
    job.artifact = artifact;
    job.warnings = gpu ? [...this.lifecycle.warnings] : [];
    job.metadata =
      job.api === "v1"
        ? {
            backend_used: "docling",
            acceleration_used: this.lifecycle.acceleration,
            ocr_enabled: false,
            table_mode: "accurate",
            options_fingerprint: fingerprint,
          }
        : {
            pipeline_used: `${job.sourceFormat}_to_${job.outputFormat}_v2`,
            backend_used: gpu
              ? "docling"
              : job.sourceFormat === "html" && job.outputFormat === "pdf"
                ? "weasyprint"
                : job.outputFormat === "pdf"
                  ? "pandoc+weasyprint"
                  : "pandoc",
            acceleration_used: gpu ? this.lifecycle.acceleration : null,
            options_fingerprint: fingerprint,
          };
    this.touch(job, "succeeded", "converting");
  }

  cancel(job: Job): void {
    this.touch(job, "canceled", "canceled");
  }

  writeManifest(job: Job): void {
    const created = Date.parse(job.createdAt);
    const manifest = {
      job_id: job.id,
      job_spec: job.spec,
      status: job.status,
      source_filename: job.sourceFilename,
      progress: { stage: job.stage, pages_total: null, pages_processed: null },
      timestamps: { created_at: job.createdAt, updated_at: job.updatedAt, completed_at: job.completedAt },
      retention: { pinned: job.pinned, raw_expires_at: rfc3339(created + 86_400_000), artifact_expires_at: rfc3339(created + 604_800_000) },
      result_metadata: job.metadata ? { ...job.metadata, warnings: job.warnings } : null,
      error: job.error,
      diagnostics: { last_heartbeat_at: job.updatedAt, current_phase_started_at: job.updatedAt, phase_timings_ms: {} },
    };
    const file = path.join(this.jobDir(job), "manifest.json");
    writeFileSync(`${file}.tmp`, JSON.stringify(manifest, null, 2));
    renameSync(`${file}.tmp`, file);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const job of this.jobs.values()) this.releaseGpu(job);
  }
}
