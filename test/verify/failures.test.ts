// Failure modes after readiness: hangs, 5xx bursts, malformed bodies, CPU acceleration and fallback
// warnings, failed jobs (manifest error shown), an idle GPU, a wrong API key, missing metrics, and
// each GPU fact. Every failure must name the check, what was expected and what was seen.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { VerificationReport } from "../../verify";
import { API_KEY, laneRunner, readTree } from "./harness";

describe("failure modes", () => {
  const verify = laneRunner();

  const line = (r: VerificationReport, check: string) => r.failureLines.find((l) => l.startsWith(`FAIL ${check}:`));

  test("a route that hangs fails at the deadline and not much later", async () => {
    const { report, ms } = await verify({ emulator: { scenario: { hangPaths: ["/healthz"] } } }, { timeoutSeconds: 2, checks: ["readiness", "liveness"] });
    expect(ms).toBeGreaterThanOrEqual(1900);
    expect(ms).toBeLessThan(3000);
    expect(line(report, "liveness")).toMatch(
      /^FAIL liveness: expected a response before the deadline, saw healthz: GET \/healthz: no response within \d\.\ds \(timed out\)/,
    );
  });

  test("a job that never finishes fails at the deadline", async () => {
    const { report, ms } = await verify({ emulator: { jobDurationMs: 30_000 } }, { timeoutSeconds: 2, checks: ["smoke"] });
    expect(ms).toBeLessThan(3000);
    expect(line(report, "smoke")).toMatch(/expected v2 md->pdf job jobv2_[0-9a-f]+ terminal before the deadline, saw status running/);
  });

  test("5xx bursts are retried and the run passes", async () => {
    const { report, lane } = await verify({ emulator: { scenario: { burst5xx: 2 } } });
    expect(report.failureLines).toEqual([]);
    // every path answered 502 twice before the real answer
    expect(lane.emulator.requestCount()).toBeGreaterThan(40);
  });

  test("malformed /healthz JSON fails liveness with a clear message", async () => {
    const { report } = await verify({ emulator: { scenario: { malformedJsonPaths: ["/healthz"] } } }, { checks: ["readiness", "liveness"] });
    expect(line(report, "liveness")).toMatch(
      /^FAIL liveness: expected a response body matching the contract, saw healthz: GET \/healthz: body is not valid JSON \(.+\); body starts: /,
    );
  });

  test("acceleration cpu on GPU routes fails", async () => {
    const { report } = await verify({ emulator: { scenario: { acceleration: "cpu" } } }, { checks: ["smoke"] });
    const l = line(report, "smoke") ?? "";
    expect(l).toContain("expected v1 pdf->md acceleration_used cuda, saw cpu (backend docling)");
    expect(l).toContain("expected v2 pdf->docx acceleration_used cuda, saw cpu (backend docling)");
  });

  test("a CPU-fallback warning fails", async () => {
    const { report } = await verify(
      { emulator: { scenario: { warnings: ["docling_ordering_layout_fallback_applied", "docling_cuda_unavailable_fallback_cpu"] } } },
      { checks: ["smoke"] },
    );
    expect(line(report, "smoke")).toContain("expected v1 pdf->md without a CPU-fallback warning, saw docling_cuda_unavailable_fallback_cpu");
  });

  test("a failed job fails and shows the error code from its manifest.json", async () => {
    const failRoutes = {
      "md->docx": { code: "pandoc_not_installed", message: "Pandoc is not installed in the runtime.", retryable: true, details: null },
      "pdf->md": { code: "gpu_not_available", message: "GPU runtime is not available.", retryable: true, details: { runtime_kind: "cuda" } },
    };
    const { report, lane } = await verify({ emulator: { scenario: { failRoutes } } }, { checks: ["smoke"] });
    const l = line(report, "smoke") ?? "";
    expect(l).toMatch(
      /expected v2 md->docx job jobv2_[0-9a-f]+ succeeded, saw failed \(manifest error pandoc_not_installed: Pandoc is not installed in the runtime\.\)/,
    );
    expect(l).toMatch(/expected v1 pdf->md job job_[0-9a-f]+ succeeded, saw failed \(manifest error gpu_not_available: GPU runtime is not available\.\)/);
    const manifest = JSON.parse(await readFile(path.join(lane.evidenceDir, "manifests", "v2_md_to_docx.json"), "utf8"));
    expect(manifest.error.code).toBe("pandoc_not_installed");
  });

  test("an unreadable manifest is reported as such", async () => {
    const failRoutes = { "html->pdf": { code: "html_to_pdf_failed", message: "x", retryable: false, details: null } };
    const { report } = await verify({ emulator: { scenario: { failRoutes } }, docker: { mounts: {} } }, { checks: ["smoke"] });
    expect(line(report, "smoke")).toMatch(
      /saw failed \(manifest unreadable: docker exec sir_convert_a_lot_prod cat \/var\/lib\/sir-convert-a-lot\/prod\/jobs_v2\/jobv2_[0-9a-f]+\/manifest\.json: exit 1 \(cat: .*No such file or directory\)\)/,
    );
  });

  test("GPU use never above zero fails", async () => {
    const { report } = await verify({ emulator: { gpuUsePercent: 0 } }, { checks: ["smoke"] });
    const l = line(report, "smoke");
    for (const route of ["v1 pdf->md", "v2 pdf->docx"]) {
      expect(l).toMatch(
        new RegExp(
          `expected GPU use \\(%\\) above the baseline from container sir_convert_a_lot_prod while the ${route} job ran, saw none of ours over \\d+ sample\\(s\\) \\(peak 0 %, baseline 0 %\\)`,
        ),
      );
    }
  });

  test("a wrong API key fails with the service's auth error and never leaks", async () => {
    const wrongKey = "sk-wrong-0000-verifier-key";
    const { report, lane } = await verify({}, { apiKey: wrongKey, checks: ["readiness", "liveness", "smoke"] });
    expect(line(report, "liveness")).toBe(
      "FAIL liveness: expected the configured API key accepted (404 job_not_found for GET /v1/convert/jobs/job_00000000000000000000000000), saw HTTP 401 auth_invalid_api_key: Missing or invalid API key.",
    );
    expect(line(report, "smoke")).toContain("expected v1 pdf->md job accepted by POST /v1/convert/jobs (202), saw HTTP 401 auth_invalid_api_key");
    for (const { file, data } of await readTree(lane.evidenceDir)) {
      expect({ file, leaked: data.includes(wrongKey) || data.includes(API_KEY) }).toEqual({ file, leaked: false });
    }
    expect(lane.logs.join("\n")).not.toContain(wrongKey);
  });

  test("a job route that accepts requests without a key fails liveness", async () => {
    // An emulator whose key is empty-equivalent: requests without X-API-Key match `undefined`.
    const { report } = await verify({ emulator: { apiKey: undefined as unknown as string } }, { checks: ["liveness"] });
    expect(line(report, "liveness")).toMatch(
      /expected GET \/v1\/convert\/jobs\/job_0+ without X-API-Key refused with 401 auth_invalid_api_key, saw HTTP 404 job_not_found/,
    );
  });

  test("missing request metrics fail", async () => {
    const { report } = await verify({ emulator: { scenario: { metricsMissing: true } } }, { checks: ["metrics"] });
    expect(line(report, "metrics")).toBe(
      "FAIL metrics: expected metric family sir_convert_a_lot_http_requests_total (counter), saw absent (families: process_start_time_seconds)",
    );
  });

  test("a non-Prometheus content type fails", async () => {
    const { report } = await verify({ emulator: { scenario: { metricsContentType: "application/json" } } }, { checks: ["metrics"] });
    expect(line(report, "metrics")).toBe(
      "FAIL metrics: expected Content-Type text/plain; version=0.0.4 or 1.0.0, saw application/json (media type application/json is not text/plain)",
    );
  });

  test("the 0.0.4 content type is accepted", async () => {
    const { report } = await verify({ emulator: { scenario: { metricsContentType: "text/plain; version=0.0.4; charset=utf-8" } } }, { checks: ["metrics"] });
    expect(report.ok).toBe(true);
  });

  describe("gpu facts", () => {
    test("rocm-smi listing no GPU fails", async () => {
      const { report } = await verify({ env: { FAKE_ROCM_SMI_MODE: "no-gpu" } }, { checks: ["gpu"] });
      expect(line(report, "gpu")).toBe("FAIL gpu: expected rocm-smi to list at least one GPU[N], saw no GPU[N] lines");
    });

    test("rocm-smi failing fails with its stderr", async () => {
      const { report } = await verify({ env: { FAKE_ROCM_SMI_MODE: "fail" } }, { checks: ["gpu"] });
      expect(line(report, "gpu")).toBe(
        "FAIL gpu: expected rocm-smi to run on local host, saw rocm-smi --showproductname --showuse --showmemuse: exit 1 (ERROR:root:Driver not initialized (amdgpu not found in modules))",
      );
    });

    test("missing device nodes fail, each named", async () => {
      const { report } = await verify({ docker: { devices: { kfd: false, dri: false } } }, { checks: ["gpu"] });
      const l = line(report, "gpu") ?? "";
      expect(l).toContain("expected /dev/kfd to exist in container sir_convert_a_lot_prod, saw docker exec sir_convert_a_lot_prod test -e /dev/kfd: exit 1");
      expect(l).toContain(
        "expected /dev/dri to be a directory in container sir_convert_a_lot_prod, saw docker exec sir_convert_a_lot_prod test -d /dev/dri: exit 1",
      );
    });

    test("a CUDA torch build without a GPU fails each fact", async () => {
      const torch = {
        runtime_kind: "cuda",
        torch_version: "2.10.0+cu128",
        hip_version: null,
        cuda_version: "12.8",
        is_available: false,
        device_count: 0,
        device_name: null,
      };
      const { report } = await verify({ docker: { torch } }, { checks: ["gpu"] });
      expect(line(report, "gpu")).toBe(
        "FAIL gpu: expected torch runtime_kind rocm, saw cuda (torch 2.10.0+cu128); expected torch is_available true, saw false (device_count 0); expected a +rocm torch build, saw 2.10.0+cu128",
      );
    });

    test("a torch version other than the pin fails", async () => {
      const { report } = await verify({}, { checks: ["gpu"], torchVersion: "2.9.1+rocm6.4" });
      expect(line(report, "gpu")).toBe("FAIL gpu: expected torch_version 2.9.1+rocm6.4, saw 2.10.0+rocm7.1");
    });

    test("malformed probe JSON fails with the contract problem", async () => {
      const { report } = await verify({ docker: { torch: { runtime_kind: "rocm" } } }, { checks: ["gpu"] });
      expect(line(report, "gpu")).toMatch(
        /^FAIL gpu: expected probe JSON with the contract's fields, saw torch probe in sir_convert_a_lot_prod: body does not match the contract: torch_version: /,
      );
    });

    test("a missing container fails with docker's message", async () => {
      const { report } = await verify({}, { checks: ["gpu"], container: "sir_convert_a_lot_nope" });
      expect(line(report, "gpu")).toContain(
        "saw docker exec sir_convert_a_lot_nope test -e /dev/kfd: exit 1 (Error response from daemon: No such container: sir_convert_a_lot_nope)",
      );
    });
  });
});
