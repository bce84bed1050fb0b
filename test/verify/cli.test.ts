// The CLI end to end: exit codes, one FAIL line per failed check on stderr, progress on stdout, and the
// API key taken only from the environment and never printed.

import { startCli } from "./cliRun";
import { API_KEY, makeLane, OTHER_REV, REV, type TestLane } from "./harness";

describe("verify CLI", () => {
  const lanes: TestLane[] = [];
  afterEach(async () => {
    await Promise.all(lanes.splice(0).map((l) => l.cleanup()));
  });

  function args(lane: TestLane, extra: string[] = []): string[] {
    return [
      "--service-url",
      lane.emulator.url,
      "--profile",
      "prod",
      "--expected-revision",
      REV,
      "--api-key-env",
      "TEST_SCAL_KEY",
      "--evidence-dir",
      lane.evidenceDir,
      "--timeout-seconds",
      "20",
      "--poll-interval-ms",
      "40",
      "--torch-version",
      "2.10.0+rocm7.1",
      ...extra,
    ];
  }

  test("a healthy lane exits 0 with progress and no secret in the output", async () => {
    const lane = await makeLane();
    lanes.push(lane);
    const run = startCli(args(lane), { ...lane.env, TEST_SCAL_KEY: API_KEY });
    const { code } = await run.done;
    expect({ code, stderr: run.stderr() }).toEqual({ code: 0, stderr: "" });
    expect(run.stdout()).toMatch(/\[prod\] START readiness/);
    expect(run.stdout()).toMatch(/\[prod\] PASS smoke \(\d+\.\d\ds\)/);
    expect(run.stdout()).toContain(`report: ${lane.evidenceDir}/report.md`);
    expect(run.stdout() + run.stderr()).not.toContain(API_KEY);
  });

  test("a stale deploy exits 1 with one line per failed check", async () => {
    const lane = await makeLane({ emulator: { revision: OTHER_REV, expectedRevision: REV } });
    lanes.push(lane);
    const run = startCli(args(lane, ["--checks", "readiness,liveness"]), { ...lane.env, TEST_SCAL_KEY: API_KEY });
    const { code } = await run.done;
    expect(code).toBe(1);
    const lines = run.stderr().trim().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^FAIL readiness: expected service_revision ${REV}, saw ${OTHER_REV} \\(reason stale_revision: `));
    expect(lines[1]).toBe("SKIP liveness: not run because readiness failed");
    expect(lines).toHaveLength(2);
  });

  test("usage errors exit 2; the key is never accepted on argv", async () => {
    const lane = await makeLane();
    lanes.push(lane);
    const missing = startCli(args(lane), { ...lane.env, TEST_SCAL_KEY: "" });
    expect((await missing.done).code).toBe(2);
    expect(missing.stderr()).toContain("error: environment variable TEST_SCAL_KEY (the API key) is not set");
    const onArgv = startCli([...args(lane), "--api-key", "abc"], { ...lane.env, TEST_SCAL_KEY: API_KEY });
    expect((await onArgv.done).code).toBe(2);
    expect(onArgv.stderr()).toContain("--api-key is not accepted");
  });
});
