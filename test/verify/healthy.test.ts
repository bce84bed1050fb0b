// Healthy lanes (prod and eval) pass every check, write complete evidence without the API key, and
// two lanes can be verified concurrently through runVerification.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { GpuLock, runVerification } from "../../verify";
import { validateDocx, validatePdf } from "../../verify/artifacts/validate";
import { API_KEY, makeLane, REV, readTree, type TestLane } from "./harness";

describe("healthy lanes", () => {
  const lanes: TestLane[] = [];
  afterEach(async () => {
    await Promise.all(lanes.splice(0).map((l) => l.cleanup()));
  });

  test.each(["prod", "eval"] as const)("%s passes all checks and writes evidence", async (profile) => {
    const lane = await makeLane({ profile });
    lanes.push(lane);
    const report = await runVerification(lane.options());
    expect(report.failureLines).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ["readiness", "passed"],
      ["liveness", "passed"],
      ["metrics", "passed"],
      ["gpu", "passed"],
      ["smoke", "passed"],
    ]);
    expect(report.dataDir).toBe(`/var/lib/sir-convert-a-lot/${profile}`);
    const smoke = report.checks.find((c) => c.name === "smoke");
    expect(smoke?.steps.map((s) => s.name).sort()).toEqual(["v1_pdf_to_md", "v2_html_to_pdf", "v2_md_to_docx", "v2_md_to_pdf", "v2_pdf_to_docx"]);

    // evidence: reports, raw responses, artifacts
    const reportJson = JSON.parse(await readFile(path.join(lane.evidenceDir, "report.json"), "utf8"));
    expect(reportJson.ok).toBe(true);
    expect(reportJson.expectedRevision).toBe(REV);
    const md = await readFile(path.join(lane.evidenceDir, "report.md"), "utf8");
    expect(md).toContain("| check | result | duration | detail |");
    expect(md).toMatch(/\| readiness \| PASS \| \d+\.\d\ds \|/);
    const readyz = JSON.parse(await readFile(path.join(lane.evidenceDir, "responses", "readyz.json"), "utf8"));
    expect(readyz.body.service_revision).toBe(REV);
    const pdf = await readFile(path.join(lane.evidenceDir, "artifacts", "v2_md_to_pdf.pdf"));
    expect(validatePdf(pdf)).toBeUndefined();
    const docx = await readFile(path.join(lane.evidenceDir, "artifacts", "v2_pdf_to_docx.docx"));
    expect(validateDocx(docx)).toBeUndefined();
    const markdown = await readFile(path.join(lane.evidenceDir, "artifacts", "v1_pdf_to_md.md"), "utf8");
    expect(markdown).toContain("Sir Convert-a-Lot deployment smoke test");
    const probe = JSON.parse(await readFile(path.join(lane.evidenceDir, "host", "torch_probe.json"), "utf8"));
    expect(probe.runtime_kind).toBe("rocm");

    // the API key never appears in evidence or progress output
    const files = await readTree(lane.evidenceDir);
    expect(files.length).toBeGreaterThan(15);
    for (const { file, data } of files) expect({ file, leaked: data.includes(API_KEY) }).toEqual({ file, leaked: false });
    expect(lane.logs.join("\n")).not.toContain(API_KEY);
    const withKey = JSON.parse(await readFile(path.join(lane.evidenceDir, "responses", "auth_with_key.json"), "utf8"));
    expect(withKey.request.headers["x-api-key"]).toBe("[REDACTED]");

    // progress: each check starts and ends with a duration
    for (const name of ["readiness", "liveness", "metrics", "gpu", "smoke"]) {
      expect(lane.logs).toContainEqual(`[${profile}] START ${name}`);
      expect(lane.logs.some((l) => new RegExp(`^\\[${profile}\\] PASS ${name} \\(\\d+\\.\\d\\ds\\)`).test(l))).toBe(true);
    }
  });

  test("two lanes verify concurrently with a shared GPU lock, each with its own evidence", async () => {
    const prod = await makeLane({ profile: "prod", emulator: { jobDurationMs: 400 } });
    const evalLane = await makeLane({ profile: "eval", emulator: { jobDurationMs: 400 } });
    lanes.push(prod, evalLane);
    const gpuLock = new GpuLock();
    const started = Date.now();
    const [a, b] = await Promise.all([runVerification(prod.options({ gpuLock })), runVerification(evalLane.options({ gpuLock }))]);
    const wall = Date.now() - started;
    expect([a.ok, b.ok]).toEqual([true, true]);
    expect(a.evidenceDir).not.toBe(b.evidenceDir);
    const leafSum = [a, b]
      .flatMap((r) => r.checks)
      .reduce((sum, c) => sum + (c.steps.length > 0 && c.name === "smoke" ? c.steps.reduce((s, x) => s + x.durationMs, 0) : c.durationMs), 0);
    // 10 conversions of >= 400 ms each: sequentially >= 4 s; concurrently much less.
    expect(leafSum).toBeGreaterThan(4000);
    expect(wall).toBeLessThan(leafSum * 0.6);
  });
});
