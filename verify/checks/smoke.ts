// smoke: real conversions (v1 pdf->md on the GPU, v2 html->pdf, md->pdf, md->docx, pdf->docx). Non-GPU
// routes run concurrently; GPU routes take the GPU lock one at a time. Every artifact is validated and
// saved; GPU routes must report cuda with no CPU fallback; a failed job shows its manifest error code.
import { createHash } from "node:crypto";
import { validateArtifact } from "../artifacts/validate";
import { CONVERSIONS, type Conversion, isCpuFallbackWarning } from "../smoke/conversions";
import { GpuUseSampler } from "../smoke/gpuSampler";
import { fetchResult, pollJob, readManifest, submitJob } from "../smoke/jobs";
import type { CheckFailure } from "../types";
import { type Check, type CheckContext, type CheckRecorder, errorToFailure, fact } from "./context";

async function runConversion(ctx: CheckContext, conv: Conversion): Promise<{ failures: CheckFailure[]; detail: string }> {
  const failures: CheckFailure[] = [];
  let sampler: GpuUseSampler | undefined;
  let detail = "";
  try {
    if (ctx.deadline.expired()) {
      const why = conv.gpu ? "deadline reached while waiting for the GPU lock" : "deadline reached";
      return { failures: [fact("deadline", `${conv.title} started before the deadline`, why)], detail: why };
    }
    const job = await submitJob(ctx, conv);
    if (conv.sampleGpuUse) sampler = new GpuUseSampler(ctx.host, ctx.opts.pollIntervalMs, () => ctx.deadline.remainingMs());
    const status = await pollJob(ctx, conv, job);
    const gpuUse = sampler ? await sampler.stop() : undefined;
    sampler = undefined;
    if (gpuUse) {
      await ctx.evidence.writeJson(`host/${conv.label}_gpu_use.json`, gpuUse);
      if (gpuUse.samples.length === 0) {
        failures.push(fact("gpu_use", `rocm-smi --showuse samples while the ${conv.title} job ran`, gpuUse.errors[0] ?? "no samples"));
      } else if (gpuUse.peak <= 0) {
        failures.push(fact("gpu_use", `peak GPU use (%) above 0 while the ${conv.title} job ran`, `peak 0 over ${gpuUse.samples.length} sample(s)`));
      }
    }
    if (status !== "succeeded") {
      const manifest = await readManifest(ctx, conv, job.jobId);
      const seen =
        typeof manifest === "string"
          ? `${status} (${manifest})`
          : `${status} (manifest error ${manifest.error?.code ?? "none"}: ${manifest.error?.message ?? "no error recorded"})`;
      failures.push(fact("job", `${conv.title} job ${job.jobId} succeeded`, seen));
      return { failures, detail: `job ${job.jobId} ${status}` };
    }
    const result = await fetchResult(ctx, conv, job);
    await ctx.evidence.writeBuffer(`artifacts/${conv.label}.${conv.output}`, result.artifact);
    const problem = validateArtifact(conv.output, result.artifact);
    if (problem) failures.push(fact("artifact", `a valid ${conv.output} artifact from ${conv.title}`, problem));
    const sha = createHash("sha256").update(result.artifact).digest("hex");
    if (sha !== result.expectedSha256.replace(/^sha256:/, "") || result.artifact.length !== result.expectedSize) {
      failures.push(
        fact("artifact", `${conv.title} artifact matching its metadata (${result.expectedSize} bytes, sha256 ${result.expectedSha256})`, `${result.artifact.length} bytes, sha256 ${sha}`),
      );
    }
    if (conv.gpu) {
      if (result.acceleration !== "cuda") {
        failures.push(fact("acceleration", `${conv.title} acceleration_used cuda`, `${result.acceleration ?? "null"} (backend ${result.backend ?? "null"})`));
      }
      const fallback = result.warnings.filter(isCpuFallbackWarning);
      if (fallback.length > 0) failures.push(fact("fallback", `${conv.title} without a CPU-fallback warning`, fallback.join(", ")));
    }
    detail = `job ${job.jobId} succeeded: ${result.artifact.length} bytes${conv.gpu ? `, acceleration ${result.acceleration ?? "null"}` : ""}`;
  } catch (error) {
    failures.push(errorToFailure(error, conv.title));
  } finally {
    if (sampler) await sampler.stop();
  }
  return { failures, detail };
}

async function timed(ctx: CheckContext, rec: CheckRecorder, conv: Conversion): Promise<void> {
  const go = async (): Promise<void> => {
    const started = Date.now();
    ctx.log(`  smoke ${conv.title}: started`);
    const { failures, detail } = await runConversion(ctx, conv);
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
  await Promise.all(CONVERSIONS.map((conv) => timed(ctx, rec, conv)));
  const passed = rec.steps.filter((s) => s.status === "passed").length;
  rec.note(`${passed}/${CONVERSIONS.length} conversions passed`);
};
