// Readiness behaviour against the emulator: slow start and a healing 503 pass; deploy faults that
// cannot heal (stale revision, profile mismatch, data-root collision) fail fast; malformed and
// never-ready answers fail clearly.
import { runVerification, type VerificationReport } from "../../verify";
import { laneRunner, OTHER_REV, REV } from "./harness";

describe("readiness", () => {
  const verify = laneRunner({ checks: ["readiness", "liveness"] });

  const readiness = (r: VerificationReport) => r.checks.find((c) => c.name === "readiness");

  test("slow start (connections refused for 1.5 s) is retried and passes", async () => {
    const { report, ms } = await verify({ emulator: { startDelayMs: 1500 } });
    expect(report.failureLines).toEqual([]);
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(readiness(report)?.detail).toMatch(/ready after ([3-9]|\d\d+) attempt\(s\)/);
  });

  test("a /readyz 503 that heals passes", async () => {
    const { report, ms } = await verify({ emulator: { scenario: { readyz503ForMs: 1000 } } });
    expect(report.ok).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(900);
  });

  test("stale revision fails at once with the service's reason", async () => {
    const { report, ms } = await verify({ emulator: { revision: OTHER_REV, expectedRevision: REV } });
    expect(report.ok).toBe(false);
    expect(ms).toBeLessThan(1500);
    expect(report.failureLines[0]).toBe(
      `FAIL readiness: expected service_revision ${REV}, saw ${OTHER_REV} (reason stale_revision: Service revision does not match expected revision. {"service_revision":"${OTHER_REV}","expected_revision":"${REV}"})`,
    );
    expect(report.failureLines).toContain("SKIP liveness: not run because readiness failed");
  });

  test("a ready service on another revision fails at once", async () => {
    const { report, ms } = await verify({ emulator: { revision: OTHER_REV } });
    expect(ms).toBeLessThan(1500);
    expect(report.failureLines[0]).toBe(`FAIL readiness: expected service_revision ${REV}, saw ${OTHER_REV}`);
  });

  test("profile mismatch reason fails fast", async () => {
    const { report, ms } = await verify({ profile: "eval", emulator: { expectedProfile: "prod" } }, { dataDir: "/var/lib/sir-convert-a-lot/eval" });
    expect(ms).toBeLessThan(1500);
    expect(report.failureLines[0]).toMatch(/^FAIL readiness: expected expected_service_profile eval, saw prod \(reason profile_mismatch: /);
  });

  test("the wrong lane (eval answering where prod is expected) fails fast", async () => {
    const { report, ms } = await verify({ profile: "eval" }, { profile: "prod", checks: ["readiness"] });
    expect(ms).toBeLessThan(1500);
    expect(report.failureLines[0]).toBe(
      "FAIL readiness: expected service_profile prod, saw eval; expected data_root /var/lib/sir-convert-a-lot/prod, saw /var/lib/sir-convert-a-lot/eval",
    );
  });

  test("data-root collision fails fast", async () => {
    const { report, ms } = await verify({ emulator: { scenario: { dataRootCollision: true } } });
    expect(ms).toBeLessThan(1500);
    expect(report.failureLines[0]).toMatch(
      /^FAIL readiness: expected distinct prod and eval data roots, saw collision at \/var\/lib\/sir-convert-a-lot\/prod \(reason data_root_configuration_collision: /,
    );
  });

  test("data root must be the lane's data dir; --data-dir overrides it", async () => {
    const { report, lane } = await verify({ emulator: { dataRoot: "/srv/scal/prod" } });
    expect(report.failureLines[0]).toBe("FAIL readiness: expected data_root /var/lib/sir-convert-a-lot/prod, saw /srv/scal/prod");
    const again = await runVerification(lane.options({ checks: ["readiness"], dataDir: "/srv/scal/prod" }));
    expect(again.ok).toBe(true);
  });

  test("malformed /readyz JSON fails with a clear message", async () => {
    const { report, ms } = await verify({ emulator: { scenario: { malformedJsonPaths: ["/readyz"] } } });
    expect(ms).toBeLessThan(1500);
    expect(report.failureLines[0]).toMatch(
      /^FAIL readiness: expected a response body matching the contract, saw GET \/readyz \(200\): body is not valid JSON \(/,
    );
  });

  test("never ready fails at the deadline, naming what it saw", async () => {
    const { report, ms } = await verify({ emulator: { scenario: { readyz503ForMs: 60_000 } } }, { timeoutSeconds: 1.5 });
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(ms).toBeLessThan(2500);
    expect(report.failureLines[0]).toMatch(
      /^FAIL readiness: expected \/readyz ready within the 1\.50s deadline, saw HTTP 503: Service Unavailable \(\d+ attempt\(s\)\)$/,
    );
  });
});
