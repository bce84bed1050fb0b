// Job API steps for one smoke conversion: submit (multipart, Idempotency-Key, X-Correlation-ID), poll to
// a terminal state, fetch the result and artifact, and read a failed job's manifest.json over docker exec.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { FormData } from "undici";
import type { z } from "zod";
import { type CheckContext, FactFailure, fact } from "../checks/context";
import { sleep } from "../deadline";
import { describeCommandFailure } from "../host/runner";
import { describeResponse, type HttpResponse, TransportError } from "../http/client";
import {
  type JobStatus,
  type Manifest,
  manifestSchema,
  parseJsonWith,
  TERMINAL_STATUSES,
  type V1JobRecord,
  type V2JobRecord,
  v1JobRecordSchema,
  v1ResultSchema,
  v2JobRecordSchema,
  v2ResultSchema,
} from "../schemas";
import type { Conversion } from "./conversions";

export interface SubmittedJob {
  jobId: string;
  correlationId: string;
}

const JOB_REQUEST_TIMEOUT_MS = 60_000;

type JobRecord = V1JobRecord | V2JobRecord;

function jobRecordSchema(api: "v1" | "v2"): z.ZodType<JobRecord> {
  return api === "v1" ? v1JobRecordSchema : v2JobRecordSchema;
}

export async function submitJob(ctx: CheckContext, conv: Conversion): Promise<SubmittedJob> {
  const correlationId = `corr_verify_${ctx.opts.lane}_${conv.label}_${ctx.runId}`;
  const idempotencyKey = `verify_${ctx.opts.lane}_${conv.label}_${ctx.runId}`;
  const data = await readFile(path.join(ctx.opts.fixturesDir, conv.fixture));
  const form = new FormData();
  form.append("file", new Blob([data]), conv.fixture);
  form.append("job_spec", JSON.stringify(conv.spec));
  const route = `/${conv.api}/convert/jobs`;
  const res = await ctx.client.sendRetrying(
    {
      method: "POST",
      path: route,
      auth: true,
      headers: { "idempotency-key": idempotencyKey, "x-correlation-id": correlationId },
      body: form,
      label: `${conv.label}_create`,
    },
    ctx.deadline,
    { attemptTimeoutMs: JOB_REQUEST_TIMEOUT_MS },
  );
  if (res.status !== 202 && res.status !== 200) {
    throw new FactFailure(fact("submit", `${conv.title} job accepted by POST ${route} (202)`, describeResponse(res)));
  }
  const record = parseJsonWith(jobRecordSchema(conv.api), res.text(), `POST ${route}`);
  const echoed = res.headers["x-correlation-id"];
  if (echoed !== correlationId) {
    throw new FactFailure(fact("correlation", `X-Correlation-ID ${correlationId} echoed by POST ${route}`, echoed ?? "no header"));
  }
  return { jobId: record.job.job_id, correlationId };
}

/** Polls the job until it is terminal; fails at the deadline. */
export async function pollJob(ctx: CheckContext, conv: Conversion, job: SubmittedJob): Promise<JobStatus> {
  const route = `/${conv.api}/convert/jobs/${job.jobId}`;
  let last: JobStatus = "queued";
  const notTerminal = (): FactFailure => new FactFailure(fact("terminal", `${conv.title} job ${job.jobId} terminal before the deadline`, `status ${last}`));
  for (;;) {
    let res: HttpResponse;
    try {
      res = await ctx.client.sendRetrying(
        { method: "GET", path: route, auth: true, headers: { "x-correlation-id": job.correlationId }, label: `${conv.label}_status` },
        ctx.deadline,
        { attemptTimeoutMs: JOB_REQUEST_TIMEOUT_MS, maxAttempts: 3 },
      );
    } catch (error) {
      // A status poll cut off by the deadline means the job did not finish in time.
      if (error instanceof TransportError && error.kind === "timeout" && ctx.deadline.expired()) throw notTerminal();
      throw error;
    }
    if (res.status !== 200) throw new FactFailure(fact("status", `HTTP 200 from GET ${route}`, describeResponse(res)));
    last = parseJsonWith(jobRecordSchema(conv.api), res.text(), `GET ${route}`).job.status;
    if (TERMINAL_STATUSES.has(last)) return last;
    if (ctx.deadline.remainingMs() <= ctx.opts.pollIntervalMs) throw notTerminal();
    await sleep(ctx.opts.pollIntervalMs, ctx.opts.signal);
  }
}

export function manifestPath(ctx: CheckContext, conv: Conversion, jobId: string): string {
  return `${ctx.opts.dataDir}/${conv.api === "v1" ? "jobs" : "jobs_v2"}/${jobId}/manifest.json`;
}

/** A failed job's error lives only in manifest.json in the lane's data dir (read inside the container). */
export async function readManifest(ctx: CheckContext, conv: Conversion, jobId: string): Promise<Manifest | string> {
  const file = manifestPath(ctx, conv, jobId);
  const res = await ctx.host.run([...ctx.opts.dockerCommand, "exec", ctx.opts.container, "cat", file], ctx.deadline.cap(30_000));
  if (res.exitCode !== 0) return `manifest unreadable: ${describeCommandFailure(res)}`;
  await ctx.evidence.writeText(`manifests/${conv.label}.json`, res.stdout);
  try {
    return parseJsonWith(manifestSchema, res.stdout, file);
  } catch (error) {
    return (error as Error).message;
  }
}

export interface FetchedResult {
  acceleration: string | null;
  backend: string | null;
  warnings: string[];
  artifact: Buffer;
  expectedSha256: string;
  expectedSize: number;
}

export async function fetchResult(ctx: CheckContext, conv: Conversion, job: SubmittedJob): Promise<FetchedResult> {
  const base = `/${conv.api}/convert/jobs/${job.jobId}`;
  const headers = { "x-correlation-id": job.correlationId };
  const opts = { attemptTimeoutMs: JOB_REQUEST_TIMEOUT_MS, maxAttempts: 3 };
  if (conv.api === "v1") {
    const route = `${base}/result?inline=true`;
    const res = await ctx.client.sendRetrying(
      { method: "GET", path: route, auth: true, headers, label: `${conv.label}_result`, bodyKind: "artifact" },
      ctx.deadline,
      opts,
    );
    if (res.status !== 200) throw new FactFailure(fact("result", `HTTP 200 from GET ${route}`, describeResponse(res)));
    const body = parseJsonWith(v1ResultSchema, res.text(), `GET ${route}`);
    if (body.result.markdown_content === null) {
      throw new FactFailure(fact("result", `markdown_content inline in GET ${route}`, "null"));
    }
    const meta = body.result.conversion_metadata;
    return {
      acceleration: meta.acceleration_used,
      backend: meta.backend_used,
      warnings: body.result.warnings,
      artifact: Buffer.from(body.result.markdown_content, "utf8"),
      expectedSha256: body.result.artifact.sha256,
      expectedSize: body.result.artifact.size_bytes,
    };
  }
  const resultRoute = `${base}/result`;
  const res = await ctx.client.sendRetrying({ method: "GET", path: resultRoute, auth: true, headers, label: `${conv.label}_result` }, ctx.deadline, opts);
  if (res.status !== 200) throw new FactFailure(fact("result", `HTTP 200 from GET ${resultRoute}`, describeResponse(res)));
  const body = parseJsonWith(v2ResultSchema, res.text(), `GET ${resultRoute}`);
  if (body.result.artifact.format !== conv.output) {
    throw new FactFailure(fact("result", `artifact format ${conv.output}`, body.result.artifact.format));
  }
  const artifactRoute = `${base}/artifact`;
  const art = await ctx.client.sendRetrying(
    { method: "GET", path: artifactRoute, auth: true, headers, label: `${conv.label}_artifact`, bodyKind: "artifact" },
    ctx.deadline,
    opts,
  );
  if (art.status !== 200) throw new FactFailure(fact("artifact", `HTTP 200 from GET ${artifactRoute}`, describeResponse(art)));
  const meta = body.result.conversion_metadata;
  return {
    acceleration: meta.acceleration_used,
    backend: meta.backend_used,
    warnings: body.result.warnings,
    artifact: art.body,
    expectedSha256: body.result.artifact.sha256,
    expectedSize: body.result.artifact.size_bytes,
  };
}
