// An emulator of the Sir Convert-a-Lot service built from the runtime contract: a real HTTP server on
// 127.0.0.1 with /healthz, /readyz, /metrics (real counting), the v1 and v2 job APIs (multipart, auth,
// idempotency, lifecycle, manifest.json on disk) and scenario switches for failure modes. It also
// plays the lane's container for the fake docker: the container state (`docker inspect`) and log
// (`docker logs`) live in files the emulator writes, so a service that crashes at import is seen as
// a restarting container whose log holds the traceback.
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { Socket } from "node:net";
import path from "node:path";
import { type Api, defaultKfdPath, type Job, type JobFailure, JobStore, rfc3339 } from "./jobs";
import { RequestMetrics } from "./metrics";
import { boundaryOf, parseMultipart } from "./multipart";
import { v1SpecSchema, v2SpecSchema } from "./specs";

export interface Scenario {
  /** /readyz answers a plain 503 for this long after listening, then heals. */
  readyz503ForMs?: number;
  /** The prod and eval roots resolve to the same path (reason data_root_configuration_collision). */
  dataRootCollision?: boolean;
  /** Requests whose path starts with one of these never get an answer. */
  hangPaths?: string[];
  /** The first N requests to each path answer 502 (a proxy-style burst). */
  burst5xx?: number;
  /** Paths (exact) that answer 200 with truncated JSON. */
  malformedJsonPaths?: string[];
  /**
   * acceleration_used on GPU routes (default cuda). The real service reports "cuda" for every
   * Docling run (or fails); "cpu" here is only for the verifier's own check of the field.
   */
  acceleration?: "cuda" | "cpu";
  /** Routes (e.g. `pdf->docx`) whose Docling silently runs on the CPU: still "cuda", no GPU use. */
  cpuRoutes?: string[];
  /**
   * The service raises at import (as eval does on a data-root collision): it never listens, and the
   * container restarts every `restartEveryMs` (default 40) with `message` as the log's last line.
   */
  crashAtImport?: { message: string; restartEveryMs?: number };
  /** Warnings on GPU routes. */
  warnings?: string[];
  /** Route -> failure written to the manifest (the job ends `failed`). */
  failRoutes?: Record<string, JobFailure>;
  /** /metrics serves no request metrics. */
  metricsMissing?: boolean;
  /** Content-Type of /metrics (default `text/plain; version=1.0.0; charset=utf-8`). */
  metricsContentType?: string;
}

export interface EmulatorOptions {
  profile: "prod" | "eval";
  revision: string;
  /** Default: the revision (so readiness passes). */
  expectedRevision?: string;
  /** Default: the profile. */
  expectedProfile?: string;
  /** Data root the service reports; default `/var/lib/sir-convert-a-lot/<profile>`. */
  dataRoot?: string;
  /** Host directory that stands in for the data root (jobs and manifests are written here). */
  diskRoot: string;
  apiKey: string;
  jobDurationMs?: number;
  /** Added to every request. */
  latencyMs?: number;
  /** Refuse connections (not listening) for this long. */
  startDelayMs?: number;
  port?: number;
  /** Address to listen on (default 127.0.0.1; the box's container image listens on 0.0.0.0). */
  host?: string;
  /** While a GPU job runs, a file `<dir>/<job id>` holds the GPU use percent (read by the fake rocm-smi). */
  gpuStateDir?: string;
  /** GPU use written while a GPU job runs (default 87; 0 emulates an idle GPU). */
  gpuUsePercent?: number;
  /** Host PID of the lane container's service process, as rocm-smi --showpids names it; default this process. */
  gpuPid?: number;
  /** Device node held open while a GPU job runs, when it exists; default EMULATOR_KFD_PATH or /dev/kfd. */
  kfdPath?: string;
  /** The container's state as `docker inspect` shows it (JSON), written by the emulator. */
  containerStateFile?: string;
  /** The container's log as `docker logs` shows it, written by the emulator. */
  containerLogFile?: string;
  scenario?: Scenario;
}

export interface Emulator {
  url: string;
  port: number;
  /** Resolves once the server listens (after startDelayMs). */
  listening: Promise<void>;
  listeningAt(): number | undefined;
  store: JobStore;
  requestCount(): number;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: string | Buffer;
  headers?: Record<string, string>;
}

const JSON_TYPE = "application/json";

function json(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return { status, body: JSON.stringify(value), headers: { "content-type": JSON_TYPE, ...headers } };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = http.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const ROUTES: Array<{ method: string; template: string; re: RegExp }> = [
  ["GET", "/healthz"],
  ["GET", "/readyz"],
  ["GET", "/metrics"],
  ["POST", "/v1/convert/jobs"],
  ["GET", "/v1/convert/jobs/{job_id}"],
  ["GET", "/v1/convert/jobs/{job_id}/result"],
  ["POST", "/v1/convert/jobs/{job_id}/cancel"],
  ["POST", "/v2/convert/jobs"],
  ["GET", "/v2/convert/jobs/{job_id}"],
  ["GET", "/v2/convert/jobs/{job_id}/result"],
  ["GET", "/v2/convert/jobs/{job_id}/artifact"],
  ["POST", "/v2/convert/jobs/{job_id}/cancel"],
].map(([method, template]) => ({
  method: method as string,
  template: template as string,
  re: new RegExp(`^${(template as string).replace("{job_id}", "([^/]+)")}$`),
}));

export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const scenario = options.scenario ?? {};
  const dataRoot = options.dataRoot ?? `/var/lib/sir-convert-a-lot/${options.profile}`;
  const expectedRevision = options.expectedRevision ?? options.revision;
  const expectedProfile = options.expectedProfile ?? options.profile;
  mkdirSync(options.diskRoot, { recursive: true });
  if (options.gpuStateDir) mkdirSync(options.gpuStateDir, { recursive: true });
  const store = new JobStore(options.diskRoot, {
    jobDurationMs: options.jobDurationMs ?? 200,
    acceleration: scenario.acceleration ?? "cuda",
    warnings: scenario.warnings ?? [],
    failRoutes: scenario.failRoutes ?? {},
    ...(options.gpuStateDir ? { gpuStateDir: options.gpuStateDir } : {}),
    gpuUsePercent: options.gpuUsePercent ?? 87,
    gpuPid: options.gpuPid ?? process.pid,
    kfdPath: options.kfdPath ?? defaultKfdPath(),
    cpuRoutes: scenario.cpuRoutes ?? [],
  });
  const container = containerPlay(options);
  const metrics = new RequestMetrics();
  const startedAt = rfc3339();
  const perPathCount = new Map<string, number>();
  const sockets = new Set<Socket>();
  const idempotency = new Map<string, { fingerprint: string; jobId: string }>();
  let listenedAt: number | undefined;
  let requests = 0;

  const envelope = (api: Api, status: number, code: string, message: string, correlationId: string, details: unknown = null, retryable = false): Reply =>
    json(status, { api_version: api, error: { code, message, retryable, details, correlation_id: correlationId } });

  const readyPayload = (): Record<string, unknown> => {
    const reasons: Array<{ code: string; message: string; details: Record<string, unknown> | null }> = [];
    if (options.revision === "unknown") reasons.push({ code: "unknown_service_revision", message: "Service revision is unknown.", details: null });
    if (expectedRevision === "unknown") reasons.push({ code: "unknown_expected_revision", message: "Expected revision is unknown.", details: null });
    else if (expectedRevision !== options.revision) {
      reasons.push({
        code: "stale_revision",
        message: "Service revision does not match expected revision.",
        details: { service_revision: options.revision, expected_revision: expectedRevision },
      });
    }
    if (expectedProfile !== options.profile) {
      reasons.push({
        code: "profile_mismatch",
        message: "Service profile does not match expected profile.",
        details: { service_profile: options.profile, expected_profile: expectedProfile },
      });
    }
    if (scenario.dataRootCollision) {
      reasons.push({
        code: "data_root_configuration_collision",
        message: "Prod and eval data roots resolve to the same path.",
        details: { data_root: dataRoot },
      });
    }
    return {
      status: reasons.length === 0 ? "ready" : "not_ready",
      ready: reasons.length === 0,
      service_revision: options.revision,
      expected_revision: expectedRevision,
      service_profile: options.profile,
      expected_service_profile: expectedProfile,
      started_at: startedAt,
      data_root: dataRoot,
      reasons,
    };
  };

  const jobRecord = (job: Job): Record<string, unknown> => {
    const base = `/${job.api}/convert/jobs/${job.id}`;
    const common = {
      job_id: job.id,
      status: job.status,
      created_at: job.createdAt,
      updated_at: job.updatedAt,
      expires_at: job.pinned ? null : rfc3339(Date.parse(job.createdAt) + 604_800_000),
      source_filename: job.sourceFilename,
    };
    const timing = { last_heartbeat_at: job.updatedAt, current_phase_started_at: job.updatedAt, phase_timings_ms: {} };
    if (job.api === "v1") {
      const pages = job.status === "queued" ? null : 1;
      return {
        api_version: "v1",
        job: {
          ...common,
          progress: { stage: job.stage, pages_total: pages, pages_processed: pages, ...timing },
          links: { self: base, result: `${base}/result`, cancel: `${base}/cancel` },
        },
      };
    }
    return {
      api_version: "v2",
      job: {
        ...common,
        source_format: job.sourceFormat,
        output_format: job.outputFormat,
        progress: { stage: job.stage, ...timing },
        links: { self: base, result: `${base}/result`, artifact: `${base}/artifact`, cancel: `${base}/cancel` },
      },
    };
  };

  const createJob = (api: Api, req: http.IncomingMessage, body: Buffer, corr: string): Reply => {
    const boundary = boundaryOf(req.headers["content-type"]);
    let parts: ReturnType<typeof parseMultipart>;
    try {
      parts = boundary ? parseMultipart(body, boundary) : [];
    } catch (error) {
      return envelope(api, 422, "validation_error", "Request validation failed.", corr, { errors: [(error as Error).message] });
    }
    const file = parts.find((p) => p.name === "file");
    const specPart = parts.find((p) => p.name === "job_spec");
    if (!file || !specPart) {
      const missing = [!file ? "file" : undefined, !specPart ? "job_spec" : undefined].filter(Boolean);
      return envelope(api, 422, "validation_error", "Request validation failed.", corr, {
        errors: missing.map((m) => ({ loc: ["body", m], msg: "Field required" })),
      });
    }
    if (req.headers["x-api-key"] !== options.apiKey) return envelope(api, 401, "auth_invalid_api_key", "Missing or invalid API key.", corr);
    const idemKey = String(req.headers["idempotency-key"] ?? "").trim();
    if (!idemKey) return envelope(api, 400, "idempotency_key_missing", "Idempotency-Key header is required.", corr);
    if (!file.filename) return envelope(api, 400, "validation_error", "Upload filename is required.", corr, { field: "file.filename" });
    const filename = path.basename(file.filename);
    const ext = path.extname(filename).toLowerCase();
    let sourceFormat: "pdf" | "md" | "html";
    if (api === "v1") {
      if (ext !== ".pdf") return envelope(api, 415, "unsupported_media_type", "Only PDF uploads are supported.", corr);
      sourceFormat = "pdf";
    } else {
      const byExt: Record<string, "pdf" | "md" | "html"> = { ".pdf": "pdf", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html" };
      const f = byExt[ext];
      if (!f) return envelope(api, 415, "unsupported_media_type", "Unsupported upload type.", corr, { filename });
      sourceFormat = f;
    }
    if (file.data.length === 0) return envelope(api, 422, api === "v1" ? "pdf_unreadable" : "input_unreadable", "Upload is empty.", corr);
    let rawSpec: unknown;
    try {
      rawSpec = JSON.parse(specPart.data.toString("utf8"));
    } catch {
      return envelope(api, 400, "validation_error", "job_spec is not valid JSON.", corr);
    }
    if (typeof rawSpec !== "object" || rawSpec === null || Array.isArray(rawSpec)) {
      return envelope(api, 400, "validation_error", "job_spec must be a JSON object.", corr);
    }
    const parsed = api === "v1" ? v1SpecSchema.safeParse(rawSpec) : v2SpecSchema.safeParse(rawSpec);
    if (!parsed.success) {
      return envelope(api, 422, "validation_error", "job_spec failed validation.", corr, {
        errors: parsed.error.issues.map((i) => ({ loc: i.path, msg: i.message })),
      });
    }
    const spec = parsed.data as Record<string, unknown>;
    let outputFormat: "md" | "pdf" | "docx" = "md";
    if (api === "v2") {
      const v2 = parsed.data as { source: { filename: string; format: string }; conversion: { output_format: "pdf" | "docx" } };
      if (v2.source.filename !== filename) {
        return envelope(api, 422, "validation_error", "job_spec filename does not match upload.", corr, {
          job_spec_filename: v2.source.filename,
          upload_filename: filename,
        });
      }
      if (v2.source.format !== sourceFormat) {
        return envelope(api, 422, "validation_error", "job_spec format does not match upload.", corr, {
          job_spec_format: v2.source.format,
          upload_format: sourceFormat,
        });
      }
      outputFormat = v2.conversion.output_format;
    }
    const sortedSpec = JSON.stringify(rawSpec, Object.keys(rawSpec as object).sort());
    const fingerprint = createHash("sha256")
      .update(`${sortedSpec}:${createHash("sha256").update(file.data).digest("hex")}`)
      .digest("hex");
    const scope = createHash("sha256").update(`${options.apiKey}:POST:/${api}/convert/jobs:${idemKey}`).digest("hex");
    const prior = idempotency.get(scope);
    if (prior) {
      if (prior.fingerprint !== fingerprint)
        return envelope(api, 409, "idempotency_key_reused_with_different_payload", "Idempotency key reused with a different payload.", corr);
      const job = store.jobs.get(prior.jobId);
      if (!job) return envelope(api, 404, "job_not_found", "Job not found.", corr);
      const terminal = ["succeeded", "failed", "canceled"].includes(job.status);
      return json(terminal ? 200 : 202, jobRecord(job), { "x-idempotent-replay": "true" });
    }
    const now = rfc3339();
    const job: Job = {
      api,
      id: store.newId(api),
      status: "queued",
      stage: "queued",
      spec,
      sourceFilename: filename,
      sourceFormat,
      outputFormat,
      input: file.data,
      createdAt: now,
      updatedAt: now,
      completedAt: null,
      pinned: Boolean((spec.retention as { pin?: boolean } | undefined)?.pin),
      warnings: [],
      error: null,
    };
    store.create(job);
    idempotency.set(scope, { fingerprint, jobId: job.id });
    writeFileSync(path.join(options.diskRoot, "idempotency", `${scope}.json`), JSON.stringify({ fingerprint, job_id: job.id, created_at: now }));
    return json(202, jobRecord(job));
  };

  const handle = (
    req: http.IncomingMessage,
    route: (typeof ROUTES)[number],
    jobId: string | undefined,
    query: URLSearchParams,
    body: Buffer,
    corr: string,
  ): Reply => {
    const t = route.template;
    if (t === "/healthz")
      return json(200, { status: "ok", service_revision: options.revision, started_at: startedAt, data_root: dataRoot, service_profile: options.profile });
    if (t === "/readyz") {
      if (scenario.readyz503ForMs !== undefined && listenedAt !== undefined && Date.now() - listenedAt < scenario.readyz503ForMs) {
        return { status: 503, body: "Service Unavailable", headers: { "content-type": "text/plain; charset=utf-8" } };
      }
      const payload = readyPayload();
      return json(payload.ready ? 200 : 503, payload);
    }
    if (t === "/metrics") {
      const contentType = scenario.metricsContentType ?? "text/plain; version=1.0.0; charset=utf-8";
      const text = scenario.metricsMissing
        ? "# HELP process_start_time_seconds Start time.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1.7e9\n"
        : metrics.render();
      return { status: 200, body: text, headers: { "content-type": contentType } };
    }
    const api: Api = t.startsWith("/v1/") ? "v1" : "v2";
    if (t === `/${api}/convert/jobs`) return createJob(api, req, body, corr);
    if (req.headers["x-api-key"] !== options.apiKey) return envelope(api, 401, "auth_invalid_api_key", "Missing or invalid API key.", corr);
    const job = jobId ? store.jobs.get(jobId) : undefined;
    if (!job || job.api !== api) return envelope(api, 404, "job_not_found", "Job not found.", corr);
    const terminal = ["succeeded", "failed", "canceled"].includes(job.status);
    if (t.endsWith("/cancel")) {
      if (job.status === "canceled") return json(200, jobRecord(job));
      if (terminal) return envelope(api, 409, "job_not_cancelable", "Job is not cancelable.", corr, { status: job.status });
      store.cancel(job);
      return json(202, jobRecord(job));
    }
    if (t.endsWith("/result") || t.endsWith("/artifact")) {
      if (!terminal) return json(202, { api_version: api, job_id: job.id, status: job.status });
      if (job.status !== "succeeded" || !job.artifact || !job.metadata)
        return envelope(api, 409, "job_not_succeeded", "Job did not succeed.", corr, { status: job.status });
      const sha256 = createHash("sha256").update(job.artifact).digest("hex");
      const docxType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
      if (t.endsWith("/artifact")) {
        return {
          status: 200,
          body: job.artifact,
          headers: {
            "content-type": job.outputFormat === "pdf" ? "application/pdf" : docxType,
            "content-disposition": `attachment; filename="output.${job.outputFormat}"`,
          },
        };
      }
      if (api === "v1") {
        const inline = query.get("inline") === "true";
        return json(200, {
          api_version: "v1",
          job_id: job.id,
          status: "succeeded",
          result: {
            artifact: { markdown_filename: "output.md", size_bytes: job.artifact.length, sha256 },
            conversion_metadata: job.metadata,
            warnings: job.warnings,
            markdown_content: inline ? job.artifact.toString("utf8") : null,
          },
        });
      }
      return json(200, {
        api_version: "v2",
        job_id: job.id,
        status: "succeeded",
        result: {
          artifact: {
            filename: `output.${job.outputFormat}`,
            format: job.outputFormat,
            size_bytes: job.artifact.length,
            sha256,
            content_type: job.outputFormat === "pdf" ? "application/pdf" : docxType,
          },
          conversion_metadata: job.metadata,
          warnings: job.warnings,
        },
      });
    }
    return json(200, jobRecord(job));
  };

  const server = http.createServer((req, res) => {
    requests += 1;
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? "/", "http://emulator");
    const corrHeader = req.headers["x-correlation-id"];
    const corr = typeof corrHeader === "string" && corrHeader ? corrHeader : `corr_${randomBytes(16).toString("hex")}`;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const respond = (): void => {
        const n = (perPathCount.get(url.pathname) ?? 0) + 1;
        perPathCount.set(url.pathname, n);
        if (scenario.burst5xx !== undefined && n <= scenario.burst5xx) {
          res.writeHead(502, { "content-type": "text/plain" }).end("Bad Gateway");
          return;
        }
        if (scenario.hangPaths?.some((p) => url.pathname.startsWith(p))) return; // never answer
        const candidates = ROUTES.filter((r) => r.re.test(url.pathname));
        const route = candidates.find((r) => r.method === req.method);
        let reply: Reply;
        let template = url.pathname;
        if (!route) {
          reply = candidates.length > 0 ? json(405, { detail: "Method Not Allowed" }) : json(404, { detail: "Not Found" });
        } else {
          template = route.template;
          const jobId = route.re.exec(url.pathname)?.[1];
          reply = handle(req, route, jobId, url.searchParams, Buffer.concat(chunks), corr);
          if (scenario.malformedJsonPaths?.includes(url.pathname))
            reply = { status: 200, body: '{"status": "ok", "service_rev', headers: { "content-type": JSON_TYPE } };
        }
        res.writeHead(reply.status, { ...(reply.headers ?? {}), "x-correlation-id": corr });
        res.end(reply.body);
        metrics.observe(req.method ?? "GET", template, reply.status, Number(process.hrtime.bigint() - started) / 1e9);
      };
      const latency = options.latencyMs ?? 0;
      if (latency > 0) setTimeout(respond, latency);
      else respond();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  const port = options.port ?? (await freePort());
  let startTimer: NodeJS.Timeout | undefined;
  if (scenario.crashAtImport) {
    // Never listens: the process dies at import and docker restarts it, again and again.
    container.crashLoop(scenario.crashAtImport.message, scenario.crashAtImport.restartEveryMs ?? 40);
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      listening: new Promise<void>(() => undefined),
      listeningAt: () => undefined,
      store,
      requestCount: () => requests,
      close: async () => {
        container.stop();
        store.close();
      },
    };
  }
  const listening = new Promise<void>((resolve, reject) => {
    const listen = (): void => {
      server.once("error", reject);
      server.listen(port, options.host ?? "127.0.0.1", () => {
        listenedAt = Date.now();
        container.log(`INFO:     Uvicorn running on http://0.0.0.0:${port} (Press CTRL+C to quit)`);
        resolve();
      });
    };
    if (options.startDelayMs) startTimer = setTimeout(listen, options.startDelayMs);
    else listen();
  });
  if (!options.startDelayMs) await listening;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    listening,
    listeningAt: () => listenedAt,
    store,
    requestCount: () => requests,
    close: async () => {
      if (startTimer) clearTimeout(startTimer);
      container.stop();
      store.close();
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The container side of the emulator: its `docker inspect` state and its log, in files. */
function containerPlay(options: EmulatorOptions): { log(line: string): void; crashLoop(message: string, everyMs: number): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const started = new Date().toISOString();
  const writeState = (state: Record<string, unknown>): void => {
    if (!options.containerStateFile) return;
    writeFileSync(`${options.containerStateFile}.tmp`, JSON.stringify(state));
    renameSync(`${options.containerStateFile}.tmp`, options.containerStateFile);
  };
  const log = (line: string): void => {
    if (options.containerLogFile) appendFileSync(options.containerLogFile, `${line}\n`);
  };
  const running = (restartCount: number): Record<string, unknown> => ({
    Status: "running",
    Running: true,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: options.gpuPid ?? process.pid,
    ExitCode: 0,
    Error: "",
    StartedAt: started,
    FinishedAt: "0001-01-01T00:00:00Z",
    RestartCount: restartCount,
  });
  writeState(running(0));
  return {
    log,
    crashLoop(message: string, everyMs: number): void {
      let restarts = 0;
      const crash = (): void => {
        log("Traceback (most recent call last):");
        log('  File "/app/scripts/sir_convert_a_lot/service_eval.py", line 1, in <module>');
        log(message);
        writeState({ ...running(restarts), Status: "restarting", Running: false, Restarting: true, Pid: 0, ExitCode: 1, FinishedAt: new Date().toISOString() });
        restarts += 1;
        timer = setTimeout(crash, everyMs);
      };
      crash();
    },
    stop(): void {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Reads a manifest the emulator wrote (for assertions in tests). */
export function readManifestFromDisk(diskRoot: string, api: Api, jobId: string): unknown {
  const file = path.join(diskRoot, api === "v1" ? "jobs" : "jobs_v2", jobId, "manifest.json");
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined;
}
