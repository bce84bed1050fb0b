// `npm run status`: one SSH round trip (fake ssh in shell mode running test/bin's fake docker and
// rocm-smi), each lane compared with the stack's recorded revision and image, verdicts read from
// the evidence layout of components/laneVerification.ts, exit 1 on drift.
import * as fs from "node:fs";
import * as path from "node:path";
import { CHECK_GROUPS, evidenceRunsDir } from "../../components/laneVerification";
import { main } from "../../ops/cli/status";
import { VERIFICATION_GROUPS } from "../../ops/cli/status/verdicts";
import { sectionStep, splitSections, sshScriptArgv } from "../../ops/hemma/remoteShell";
import { parseGpuSection, statusScript } from "../../ops/hemma/statusProbe";
import { captureContext } from "./helpers";
import { healthyContainer, imageId, makeSurfaceSandbox, RUNTIME, SHA, STACK_IMAGE, type SurfaceSandbox } from "./surfaceSandbox";

describe("status command lines (pure)", () => {
  it("builds the ssh argv: batch mode, port, destination, then the script as one word", () => {
    expect(sshScriptArgv({ destination: "op@hemma", port: 2222, options: ["-o", "ConnectTimeout=15"], display: "ssh://op@hemma:2222" }, "true")).toEqual([
      "-o",
      "ConnectTimeout=15",
      "-o",
      "BatchMode=yes",
      "-p",
      "2222",
      "--",
      "op@hemma",
      "true",
    ]);
  });

  it("quotes each word of a step and brackets it with markers carrying the exit code", () => {
    expect(sectionStep("container.prod", ["docker", "container", "inspect", "--format", "{{json .}}", "sir_convert_a_lot_prod"])).toBe(
      `printf '\\n@@scal begin container.prod\\n'; docker container inspect --format '{{json .}}' sir_convert_a_lot_prod 2>&1; printf '\\n@@scal end container.prod %s\\n' "$?"`,
    );
    expect(statusScript([{ lane: "prod", containerName: "p" }], "img").split("\n")).toHaveLength(3);
  });

  it("splits a sectioned answer back into outputs and exit codes", () => {
    const text = "motd\n\n@@scal begin a\nline1\nline2\n\n@@scal end a 0\n\n@@scal begin b\nnope\n\n@@scal end b 127\n\n@@scal begin c\ncut";
    const s = splitSections(text);
    expect([...s.keys()]).toEqual(["a", "b"]);
    expect(s.get("a")).toEqual({ code: 0, output: "line1\nline2" });
    expect(s.get("b")!.code).toBe(127);
    expect(parseGpuSection(s.get("b")).detail).toMatch(/not installed/);
  });

  it("knows the same check groups as the verification component", () => {
    expect([...VERIFICATION_GROUPS]).toEqual(Object.keys(CHECK_GROUPS));
  });
});

describe("npm run status", () => {
  let sb: SurfaceSandbox;
  afterEach(() => sb?.cleanup());

  const OTHER = `sha256:${"b".repeat(64)}`;
  const images = [
    { Repository: RUNTIME, Tag: SHA.C, ID: STACK_IMAGE, CreatedAt: "2026-03-01 09:00:00 +0000 UTC" },
    { Repository: RUNTIME, Tag: SHA.B, ID: imageId(2), CreatedAt: "2026-02-01 09:00:00 +0000 UTC" },
    { Repository: RUNTIME, Tag: "scratch", ID: imageId(7) },
  ];

  function writeReport(lane: string, group: "health" | "gpu" | "smoke", ok: boolean, stamp: string) {
    const runs = path.join(sb.project, evidenceRunsDir({ evidenceRoot: ".verification", lane, revision: SHA.C }, group));
    fs.mkdirSync(path.join(runs, stamp), { recursive: true });
    fs.writeFileSync(
      path.join(runs, stamp, "report.json"),
      JSON.stringify({ ok, finishedAt: "2026-03-01T10:05:00Z", failureLines: ok ? [] : ["FAIL gpu: expected device_count >= 1, saw 0"] }),
    );
    fs.rmSync(path.join(runs, "latest"), { force: true });
    fs.symlinkSync(stamp, path.join(runs, "latest"));
    return path.join(runs, stamp);
  }

  it("reports both lanes as recorded, with verdicts, GPU and rollback images, in one ssh call; exit 0", async () => {
    sb = makeSurfaceSandbox({
      containers: { sir_convert_a_lot_prod: healthyContainer("prod"), sir_convert_a_lot_eval: healthyContainer("eval", { restartCount: 2 }) },
      images,
    });
    const healthDir = writeReport("prod", "health", true, "20260301T100400Z");
    writeReport("prod", "gpu", false, "20260301T100500Z");
    const cap = captureContext(sb.env);
    const now = new Date("2026-03-01T12:30:00Z");
    jest.useFakeTimers({ now, doNotFake: ["setTimeout", "setImmediate", "setInterval", "clearTimeout", "clearInterval", "nextTick", "queueMicrotask"] });
    try {
      expect(await main([], cap.ctx)).toBe(0);
    } finally {
      jest.useRealTimers();
    }
    const text = cap.text();
    expect(sb.sshCalls()).toHaveLength(1);
    expect(text).toMatch(/OK {3}prod \(sir_convert_a_lot_prod\): running, health healthy/);
    expect(text).toContain(`revision ${SHA.C} (as recorded)`);
    expect(text).toContain(`image ${RUNTIME}:${SHA.C} ${STACK_IMAGE.slice(7, 19)}`);
    expect(text).toMatch(/up 2h30m \(since 2026-03-01T10:00:00/);
    expect(text).toContain("ports 127.0.0.1:28085->8085/tcp");
    expect(text).toContain(`verify health PASS 2026-03-01T10:05:00Z  ${fs.realpathSync(healthDir)}`);
    expect(text).toMatch(/verify gpu {4}FAIL/);
    expect(text).toMatch(/verify smoke {2}NONE/);
    expect(text).toMatch(/note: last gpu verification FAILED .*device_count/);
    expect(text).toMatch(/eval .*\n(.*\n)*.*2 restart\(s\)/);
    expect(text).toMatch(/GPU: rocm-smi sees 1 GPU\(s\): Navi 31/);
    expect(text).toMatch(new RegExp(`Rollback images \\(1\\): ${SHA.B.slice(0, 12)} \\(2026-02-01`));
  });

  it("--json prints the report for scripts", async () => {
    sb = makeSurfaceSandbox({ containers: { sir_convert_a_lot_prod: healthyContainer("prod"), sir_convert_a_lot_eval: healthyContainer("eval") }, images });
    const cap = captureContext(sb.env);
    expect(await main(["--json"], cap.ctx)).toBe(0);
    const report = JSON.parse(cap.out.join("\n"));
    expect(report.ok).toBe(true);
    expect(report.lanes.map((l: { lane: string; runningRevision: string }) => [l.lane, l.runningRevision])).toEqual([
      ["prod", SHA.C],
      ["eval", SHA.C],
    ]);
    expect(report.gpu.seen).toBe(true);
    expect(report.rollbackImages.map((i: { tag: string }) => i.tag)).toEqual([SHA.B]);
  });

  it("exits 1 naming the wrong revision, the unhealthy lane and the missing container", async () => {
    sb = makeSurfaceSandbox({
      containers: {
        sir_convert_a_lot_prod: healthyContainer("prod", { labels: { "org.opencontainers.image.revision": SHA.B }, imageId: OTHER }),
      },
      images: [...images, { Repository: RUNTIME, Tag: SHA.B, ID: OTHER }],
    });
    const cap = captureContext(sb.env);
    expect(await main([], cap.ctx)).toBe(1);
    const text = cap.text();
    expect(text).toContain(`problem: wrong revision: runs ${SHA.B}, the stack recorded ${SHA.C}`);
    expect(text).toMatch(/problem: drift: runs image b{12}, the stack recorded image 0{12}$/m);
    expect(text).toMatch(/DRIFT eval .*missing/);
    expect(text).toMatch(/container sir_convert_a_lot_eval does not exist/);

    sb.setDocker({
      containers: {
        sir_convert_a_lot_prod: healthyContainer("prod", { health: "unhealthy" }),
        sir_convert_a_lot_eval: healthyContainer("eval", { running: false }),
      },
      images,
    });
    const cap2 = captureContext(sb.env);
    expect(await main(["--json"], cap2.ctx)).toBe(1);
    const report = JSON.parse(cap2.out.join("\n"));
    expect(report.lanes[0].problems).toEqual(["container health is unhealthy, not healthy"]);
    expect(report.lanes[1].problems[0]).toMatch(/container is exited \(exit code 137\), not running/);
  });

  it("says when rocm-smi sees no GPU, and refuses unknown flags with exit 2", async () => {
    sb = makeSurfaceSandbox({ containers: { sir_convert_a_lot_prod: healthyContainer("prod"), sir_convert_a_lot_eval: healthyContainer("eval") }, images });
    sb.env.FAKE_ROCM_SMI_MODE = "no-gpu";
    const cap = captureContext(sb.env);
    expect(await main([], cap.ctx)).toBe(0);
    expect(cap.text()).toContain("GPU: NOT SEEN: rocm-smi lists no GPU");
    const bad = captureContext(sb.env);
    expect(await main(["--bogus"], bad.ctx)).toBe(2);
    expect(bad.text()).toMatch(/error: unknown option '--bogus'/);
  });

  it("turns an unreachable Hemma into error/what to do", async () => {
    sb = makeSurfaceSandbox({ containers: {} });
    fs.writeFileSync(sb.env.FAKE_HEMMA_STATE!, JSON.stringify({ unreachable: true }));
    const cap = captureContext(sb.env);
    expect(await main([], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(
      /error: could not reach Hemma \(ssh hemma\)[\s\S]*what to do: check that `ssh -o ServerAliveInterval=30 -o ConnectTimeout=15 -- hemma true`/,
    );
  });
});
