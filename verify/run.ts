// runVerification: sets up transport (direct or SSH tunnel), runs the selected checks concurrently where
// they are independent (liveness, metrics and smoke wait for readiness; gpu runs alongside), prints
// progress with durations, and always writes report.json/report.md to the evidence dir.
import { randomBytes } from "node:crypto";
import { type Check, type CheckContext, CheckRecorder, errorToFailure, fact } from "./checks/context";
import { gpuCheck } from "./checks/gpu";
import { livenessCheck } from "./checks/liveness";
import { metricsCheck } from "./checks/metrics";
import { readinessCheck } from "./checks/readiness";
import { smokeCheck } from "./checks/smoke";
import { Deadline, seconds } from "./deadline";
import { failureLine, renderMarkdown } from "./evidence/report";
import { EvidenceWriter } from "./evidence/writer";
import { GpuLock } from "./gpuLock";
import { type HostRunner, LocalRunner, SshRunner } from "./host/runner";
import { ServiceClient } from "./http/client";
import { type ResolvedOptions, resolveOptions, type VerificationOptions } from "./options";
import { Redactor } from "./redact";
import { JobRegistry } from "./smoke/jobRegistry";
import { parseSshTarget } from "./ssh/target";
import { openTunnel, type Tunnel } from "./ssh/tunnel";
import { CHECK_NAMES, type CheckName, type CheckResult, type VerificationReport } from "./types";

const CHECKS: Record<CheckName, Check> = {
  readiness: readinessCheck,
  liveness: livenessCheck,
  metrics: metricsCheck,
  gpu: gpuCheck,
  smoke: smokeCheck,
};

/** Checks that need a ready service; they are skipped when readiness fails. */
const NEEDS_READY: ReadonlySet<CheckName> = new Set(["liveness", "metrics", "smoke"]);

async function runCheck(name: CheckName, ctx: CheckContext): Promise<CheckResult> {
  const startedAt = new Date();
  ctx.log(`START ${name}`);
  const rec = new CheckRecorder();
  try {
    await CHECKS[name](ctx, rec);
  } catch (error) {
    rec.fail(errorToFailure(error));
  }
  const durationMs = Date.now() - startedAt.getTime();
  const result: CheckResult = {
    name,
    status: rec.failures.length > 0 ? "failed" : "passed",
    startedAt: startedAt.toISOString(),
    durationMs,
    detail: rec.summary(),
    failures: rec.failures,
    steps: rec.steps,
  };
  const line = failureLine(result);
  ctx.log(
    `${result.status === "passed" ? "PASS" : "FAIL"} ${name} (${seconds(durationMs)})${result.status === "passed" ? `: ${result.detail}` : ` -> ${line ?? ""}`}`,
  );
  return result;
}

function skipped(name: CheckName, why: string): CheckResult {
  return { name, status: "skipped", startedAt: new Date().toISOString(), durationMs: 0, detail: why, failures: [], steps: [] };
}

function failedSetup(name: CheckName, error: unknown): CheckResult {
  return { ...skipped(name, ""), status: "failed", failures: [errorToFailure(error, "setup")], detail: "setup failed" };
}

export async function runVerification(options: VerificationOptions): Promise<VerificationReport> {
  const opts: ResolvedOptions = resolveOptions(options);
  const redactor = new Redactor([opts.apiKey]);
  const log = (line: string): void => opts.log(redactor.text(`[${opts.lane}] ${line}`));
  const started = new Date();
  const deadline = new Deadline(opts.timeoutMs);
  const evidence = new EvidenceWriter(opts.evidenceDir, redactor);
  await evidence.init();
  log(
    `verifying ${opts.serviceUrl.href}${opts.via ? ` via ${opts.via}` : ""}: revision ${opts.expectedRevision}, profile ${opts.profile}, checks ${[...opts.checks].join(",")}`,
  );

  let tunnel: Tunnel | undefined;
  let client: ServiceClient | undefined;
  let results: CheckResult[];
  const jobs = new JobRegistry();
  try {
    let baseUrl = opts.serviceUrl;
    let host: HostRunner = new LocalRunner(opts.env);
    if (opts.via) {
      const target = parseSshTarget(opts.via);
      tunnel = await openTunnel({ target, sshOptions: opts.sshOptions, serviceUrl: opts.serviceUrl, env: opts.env, timeoutMs: deadline.cap(30_000) });
      log(`tunnel open: ssh pid ${tunnel.pid}, ${tunnel.socketPath} -> ${opts.serviceUrl.host} on ${target.display}`);
      baseUrl = tunnel.localUrl;
      host = new SshRunner(target, opts.sshOptions, opts.env, tunnel.controlPath);
    }
    client = new ServiceClient(baseUrl, {
      apiKey: opts.apiKey,
      evidence,
      maxJsonBytes: opts.maxJsonBytes,
      maxArtifactBytes: opts.maxArtifactBytes,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(tunnel ? { socketPath: tunnel.socketPath } : {}),
    });
    const ctx: CheckContext = {
      opts,
      client,
      host,
      evidence,
      deadline,
      gpuLock: options.gpuLock ?? new GpuLock({ file: opts.gpuLockFile, waitMs: opts.timeoutMs }),
      jobs,
      runId: `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`,
      log,
    };
    const selected = CHECK_NAMES.filter((c) => opts.checks.has(c));
    const readiness = opts.checks.has("readiness") ? runCheck("readiness", ctx) : Promise.resolve(undefined);
    results = await Promise.all(
      selected.map((name) => {
        if (name === "readiness") return readiness as Promise<CheckResult>;
        if (!NEEDS_READY.has(name)) return runCheck(name, ctx);
        return readiness.then((r) => (r && r.status !== "passed" ? skipped(name, "not run because readiness failed") : runCheck(name, ctx)));
      }),
    );
  } catch (error) {
    results = CHECK_NAMES.filter((c) => opts.checks.has(c)).map((c) => failedSetup(c, error));
    log(`FAIL setup: ${errorToFailure(error).seen}`);
  } finally {
    // No abandoned work: whatever is still open (an abort, an error) is canceled on the way out.
    if (client) {
      const late = await jobs.cancelAll(client, opts.signal?.aborted ? "aborted" : "run ended");
      for (const c of late) log(`canceled ${c.title} job ${c.jobId} (${c.why}): ${c.route}: ${c.seen}`);
    }
    await client?.close();
    if (tunnel) {
      await tunnel.close();
      log(`tunnel closed (ssh pid ${tunnel.pid})`);
    }
  }
  if (opts.signal?.aborted) {
    results = results.map((r) =>
      r.status === "passed" ? r : { ...r, status: "failed", failures: [...r.failures, fact("aborted", "the run to finish", "aborted by signal")] },
    );
  }

  if (jobs.cancellations.length > 0) {
    await evidence.writeJson("cancellations.json", jobs.cancellations);
    for (const c of jobs.cancellations.filter((x) => x.why === "deadline")) log(`canceled ${c.title} job ${c.jobId} at the deadline: ${c.route}: ${c.seen}`);
  }
  const late = jobs.cancellations.filter((c) => c.why === "aborted" || c.why === "run ended");
  if (late.length > 0) {
    results = results.map((r) =>
      r.name !== "smoke"
        ? r
        : {
            ...r,
            status: "failed",
            failures: [
              ...r.failures,
              ...late.map((c) => fact("abandoned", `${c.title} job ${c.jobId} terminal before the run ended`, `canceled (${c.why}): ${c.route}: ${c.seen}`)),
            ],
          },
    );
  }

  const finished = new Date();
  const report: VerificationReport = {
    ok: results.every((r) => r.status === "passed"),
    lane: opts.lane,
    profile: opts.profile,
    serviceUrl: opts.serviceUrl.href,
    via: opts.via ?? null,
    expectedRevision: opts.expectedRevision,
    dataDir: opts.dataDir,
    container: opts.container,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    evidenceDir: opts.evidenceDir,
    checks: results,
    failureLines: results.map(failureLine).filter((l): l is string => l !== undefined),
  };
  const safe = redactor.value(report);
  await evidence.writeJson("report.json", safe);
  await evidence.writeText("report.md", renderMarkdown(safe));
  log(`${safe.ok ? "PASS" : "FAIL"} ${opts.lane} in ${seconds(safe.durationMs)}; evidence ${opts.evidenceDir}`);
  return safe;
}
