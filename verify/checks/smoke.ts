// smoke: real conversions (v1 pdf->md and v2 pdf->docx on the GPU, v2 html->pdf, md->pdf, md->docx).
// Non-GPU routes run concurrently; GPU routes take the GPU lock one at a time. Every artifact is
// validated and saved. The GPU proof of a GPU route is its own attributed GPU use (use above the
// baseline from the lane container's processes while that job runs, after a preflight that waits for
// other GPU work to end); acceleration_used "cuda" and the absence of a CPU-fallback warning are
// still checked but prove nothing (the real service reports "cuda" for every Docling run). A job is
// submitted only with `minJobSeconds` left; a job the run gives up on is canceled and recorded.
import { createHash } from "node:crypto";
import { validateArtifact } from "../artifacts/validate";
import { seconds } from "../deadline";
import { CONVERSIONS, type Conversion, isCpuFallbackWarning } from "../smoke/conversions";
import { describeProcesses, GpuAttribution, type GpuUseEvidence, noAttributedUse } from "../smoke/gpuAttribution";
import { fetchResult, pollJob, readManifest, type SubmittedJob, submitJob } from "../smoke/jobs";
import type { CheckFailure } from "../types";
import { type Check, type CheckContext, type CheckRecorder, errorToFailure, fact } from "./context";

interface Outcome {
  failures: CheckFailure[];
  detail: string;
  /** Attributed peak GPU use of a sampled route (undefined when not sampled or not reached). */
  gpuPeak?: number;
}

async function saveGpuEvidence(ctx: CheckContext, conv: Conversion, e: GpuUseEvidence): Promise<void> {
  await ctx.evidence.writeJson(`host/${conv.label}_gpu_use.json`, e);
}

async function runConversion(ctx: CheckContext, conv: Conversion): Promise<Outcome> {
  const failures: CheckFailure[] = [];
  let gpu: GpuAttribution | undefined;
  let job: SubmittedJob | undefined;
  let detail = "";
  let gpuPeak: number | undefined;
  try {
    if (ctx.deadline.expired()) {
      const why = conv.gpu ? "deadline reached while waiting for the GPU lock" : "deadline reached";
      return { failures: [fact("deadline", `${conv.title} started before the deadline`, why)], detail: why };
    }
    const tooLate = (): Outcome | undefined => {
      const left = ctx.deadline.remainingMs();
      if (left >= ctx.opts.minJobMs) return undefined;
      const seen = `${(left / 1000).toFixed(1)} s left (not submitted)`;
      return {
        failures: [fact("deadline", `${conv.title} submitted with at least ${ctx.opts.minJobMs / 1000} s left before the deadline`, seen)],
        detail: seen,
      };
    };
    const early = tooLate();
    if (early) return early;
    if (conv.sampleGpuUse) {
      gpu = new GpuAttribution({
        host: ctx.host,
        docker: ctx.opts.dockerCommand,
        container: ctx.opts.container,
        intervalMs: ctx.opts.pollIntervalMs,
        remainingMs: () => ctx.deadline.remainingMs(),
        ...(ctx.opts.signal ? { signal: ctx.opts.signal } : {}),
      });
      const waitMs = Math.max(0, Math.min(ctx.opts.gpuIdleWaitMs, ctx.deadline.remainingMs() - ctx.opts.minJobMs));
      const pre = await gpu.preflight(waitMs);
      if (pre.waitedMs > 1000) ctx.log(`  smoke ${conv.title}: waited ${seconds(pre.waitedMs)} for the GPU to be free of other work`);
      if (!pre.idle) {
        await saveGpuEvidence(ctx, conv, await gpu.stop());
        gpu = undefined;
        const seen =
          pre.foreign.length > 0
            ? `GPU busy with work that is not ours: ${describeProcesses(pre.foreign)}; GPU use ${pre.baseline} % after waiting ${seconds(pre.waitedMs)}`
            : `GPU use ${pre.baseline} % with no process but this lane's listed, after waiting ${seconds(pre.waitedMs)}`;
        const why = "refusing to judge GPU use that cannot be attributed";
        return { failures: [fact("gpu_idle", `the GPU free of other work before the ${conv.title} job`, seen, why)], detail: why };
      }
    }
    const late = tooLate();
    if (late) return late;
    job = await submitJob(ctx, conv);
    ctx.jobs.add({ api: conv.api, jobId: job.jobId, correlationId: job.correlationId, title: conv.title });
    gpu?.start();
    const status = await pollJob(ctx, conv, job);
    ctx.jobs.done(job.jobId);
    if (gpu) {
      const e = await gpu.stop();
      gpu = undefined;
      await saveGpuEvidence(ctx, conv, e);
      gpuPeak = e.attributedPeak;
      if (e.attributedPeak <= 0) {
        failures.push(
          fact("gpu_use", `GPU use (%) above the baseline from container ${ctx.opts.container} while the ${conv.title} job ran`, noAttributedUse(e)),
        );
      }
    }
    if (status !== "succeeded") {
      const manifest = await readManifest(ctx, conv, job.jobId);
      const seen =
        typeof manifest === "string"
          ? `${status} (${manifest})`
          : `${status} (manifest error ${manifest.error?.code ?? "none"}: ${manifest.error?.message ?? "no error recorded"})`;
      failures.push(fact("job", `${conv.title} job ${job.jobId} succeeded`, seen));
      return { failures, detail: `job ${job.jobId} ${status}`, ...(gpuPeak !== undefined ? { gpuPeak } : {}) };
    }
    const result = await fetchResult(ctx, conv, job);
    await ctx.evidence.writeBuffer(`artifacts/${conv.label}.${conv.output}`, result.artifact);
    const problem = validateArtifact(conv.output, result.artifact);
    if (problem) failures.push(fact("artifact", `a valid ${conv.output} artifact from ${conv.title}`, problem));
    const sha = createHash("sha256").update(result.artifact).digest("hex");
    if (sha !== result.expectedSha256.replace(/^sha256:/, "") || result.artifact.length !== result.expectedSize) {
      failures.push(
        fact(
          "artifact",
          `${conv.title} artifact matching its metadata (${result.expectedSize} bytes, sha256 ${result.expectedSha256})`,
          `${result.artifact.length} bytes, sha256 ${sha}`,
        ),
      );
    }
    if (conv.gpu) {
      // Kept, but not GPU proof: the real service reports "cuda" for every Docling run.
      if (result.acceleration !== "cuda") {
        failures.push(fact("acceleration", `${conv.title} acceleration_used cuda`, `${result.acceleration ?? "null"} (backend ${result.backend ?? "null"})`));
      }
      const fallback = result.warnings.filter(isCpuFallbackWarning);
      if (fallback.length > 0) failures.push(fact("fallback", `${conv.title} without a CPU-fallback warning`, fallback.join(", ")));
    }
    detail = `job ${job.jobId} succeeded: ${result.artifact.length} bytes${conv.gpu ? `, acceleration ${result.acceleration ?? "null"}` : ""}${gpuPeak !== undefined ? `, GPU use ${gpuPeak} % ours` : ""}`;
  } catch (error) {
    const failure = errorToFailure(error, conv.title);
    if (job) {
      // pollJob gives up (fact "terminal") when less than one poll interval is left
      const atDeadline = failure.fact === "terminal" || ctx.deadline.expired();
      const c = await ctx.jobs.cancel(ctx.client, job.jobId, atDeadline ? "deadline" : "step failed");
      if (c) failure.seen += `; ${atDeadline ? "canceled at the deadline" : "canceled"} (${c.route}: ${c.seen})`;
    }
    failures.push(failure);
  } finally {
    if (gpu) await saveGpuEvidence(ctx, conv, await gpu.stop());
  }
  return { failures, detail, ...(gpuPeak !== undefined ? { gpuPeak } : {}) };
}

async function timed(ctx: CheckContext, rec: CheckRecorder, conv: Conversion, proof: string[]): Promise<void> {
  const go = async (): Promise<void> => {
    const started = Date.now();
    ctx.log(`  smoke ${conv.title}: started`);
    const { failures, detail, gpuPeak } = await runConversion(ctx, conv);
    if (conv.sampleGpuUse) proof.push(`${conv.title} ${gpuPeak !== undefined && gpuPeak > 0 ? `${gpuPeak} %` : "none"}`);
    const ms = Date.now() - started;
    for (const f of failures) rec.fail(f);
    const text = failures.length > 0 ? failures.map((f) => `expected ${f.expected}, saw ${f.seen}`).join("; ") : detail;
    rec.addStep(conv.label, failures.length > 0 ? "failed" : "passed", ms, text);
    ctx.log(`  smoke ${conv.title}: ${failures.length > 0 ? "FAIL" : "PASS"} (${(ms / 1000).toFixed(2)}s)`);
  };
  // GPU conversions time only their own work, not the wait for the lock.
  await (conv.gpu ? ctx.gpuLock.run(go) : go());
}

export const smokeCheck: Check = async (ctx, rec) => {
  const proof: string[] = [];
  await Promise.all(CONVERSIONS.map((conv) => timed(ctx, rec, conv, proof)));
  const passed = rec.steps.filter((s) => s.status === "passed").length;
  rec.note(`${passed}/${CONVERSIONS.length} conversions passed`);
  rec.note(`GPU proof is each GPU route's own attributed GPU use (acceleration_used is not GPU proof): ${proof.join(", ")}`);
};
