// Benchmark (not a test): full verification of both lanes against the emulator with 50 ms added latency
// per request and 2 s jobs. Prints wall time next to the sequential cost (sum of the individual check
// times, counting each smoke conversion separately) and requires wall <= 0.6 x that sum. Also prints the
// time-to-fail of a stale-revision deploy after the service starts listening (target < 1 s).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../lib/projectRoot";
import { type Emulator, startEmulator } from "../test/emulator/server";
import { GpuLock, runVerification, type VerificationReport } from "../verify";
import { benchArgs } from "./benchFlags";

const REV = "0123456789abcdef0123456789abcdef01234567";
const STALE = "fedcba9876543210fedcba9876543210fedcba98";
const KEY = "bench-api-key-not-a-secret";
const BIN = path.join(projectRoot(__dirname), "test", "bin");

/** What the run would cost one step at a time: each check's steps (its own work, no lock waits), or the check. */
function sequentialCost(report: VerificationReport): number {
  return report.checks.reduce((sum, c) => sum + (c.steps.length > 0 ? c.steps.reduce((s, x) => s + x.durationMs, 0) : c.durationMs), 0);
}

async function main(): Promise<number> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "bench-verify-"));
  const emulators: Emulator[] = [];
  try {
    const gpuDir = path.join(tmp, "gpu");
    await mkdir(gpuDir, { recursive: true });
    const containers: Record<string, unknown> = {};
    // Each lane's service process has its own (fake) host PID: GPU use is attributed by it.
    const pids = { prod: 61_001, eval: 61_002 } as const;
    for (const profile of ["prod", "eval"] as const) {
      containers[`sir_convert_a_lot_${profile}`] = { pids: [pids[profile]], mounts: { [`/var/lib/sir-convert-a-lot/${profile}`]: path.join(tmp, profile) } };
    }
    await writeFile(path.join(tmp, "docker.json"), JSON.stringify({ containers }));
    const env = { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ""}`, FAKE_DOCKER_CONFIG: path.join(tmp, "docker.json"), FAKE_GPU_STATE_DIR: gpuDir };
    const lanes = await Promise.all(
      (["prod", "eval"] as const).map(async (profile) => {
        const emulator = await startEmulator({
          profile,
          revision: REV,
          diskRoot: path.join(tmp, profile),
          apiKey: KEY,
          jobDurationMs: 2000,
          latencyMs: 50,
          gpuStateDir: gpuDir,
          gpuPid: pids[profile],
        });
        emulators.push(emulator);
        return { profile, emulator };
      }),
    );

    const gpuLock = new GpuLock();
    const started = Date.now();
    const reports = await Promise.all(
      lanes.map(({ profile, emulator }) =>
        runVerification({
          serviceUrl: emulator.url,
          profile,
          expectedRevision: REV,
          apiKey: KEY,
          evidenceDir: path.join(tmp, "evidence", profile),
          timeoutSeconds: 120,
          pollIntervalMs: 200,
          torchVersion: "2.10.0+rocm7.1",
          gpuLock,
          env,
          log: (line) => process.stdout.write(`${line}\n`),
        }),
      ),
    );
    const wall = Date.now() - started;
    const sum = reports.reduce((s, r) => s + sequentialCost(r), 0);
    const ratio = wall / sum;
    const allPassed = reports.every((r) => r.ok);
    process.stdout.write("\n== both lanes, 50 ms latency, 2 s jobs ==\n");
    for (const r of reports) {
      process.stdout.write(`${r.lane}: ${r.ok ? "all checks passed" : r.failureLines.join(" | ")}\n`);
      for (const c of r.checks)
        process.stdout.write(
          `  ${c.name.padEnd(10)} ${(c.durationMs / 1000).toFixed(2)}s${c.steps.length ? `  [${c.steps.map((s) => `${s.name} ${(s.durationMs / 1000).toFixed(2)}s`).join(", ")}]` : ""}\n`,
        );
    }
    const concurrencyOk = allPassed && ratio <= 0.6;
    process.stdout.write(
      `wall ${(wall / 1000).toFixed(2)}s vs sequential sum ${(sum / 1000).toFixed(2)}s -> ratio ${ratio.toFixed(2)} (limit 0.60): ${concurrencyOk ? "PASS" : "FAIL"}\n`,
    );

    // Time-to-fail of a stale-revision deploy, measured from when the service starts listening.
    const stale = await startEmulator({
      profile: "prod",
      revision: STALE,
      expectedRevision: REV,
      diskRoot: path.join(tmp, "stale"),
      apiKey: KEY,
      latencyMs: 50,
      startDelayMs: 700,
    });
    emulators.push(stale);
    const staleReport = await runVerification({
      serviceUrl: stale.url,
      profile: "prod",
      expectedRevision: REV,
      apiKey: KEY,
      evidenceDir: path.join(tmp, "evidence", "stale"),
      timeoutSeconds: 120,
      torchVersion: "2.10.0+rocm7.1",
      env,
      log: () => undefined,
    });
    const failedAt = Date.parse(staleReport.finishedAt);
    const ttf = failedAt - (stale.listeningAt() ?? failedAt);
    const staleOk = !staleReport.ok && staleReport.failureLines[0]?.startsWith("FAIL readiness: expected service_revision") === true && ttf < 1000;
    process.stdout.write(`\n== stale-revision deploy ==\n${staleReport.failureLines[0] ?? "(no failure!)"}\n`);
    process.stdout.write(`time-to-fail after the service listens: ${ttf} ms (target < 1000 ms): ${staleOk ? "PASS" : "FAIL"}\n`);
    return concurrencyOk && staleOk ? 0 : 1;
  } finally {
    await Promise.all(emulators.map((e) => e.close()));
    await rm(tmp, { recursive: true, force: true });
  }
}

benchArgs(process.argv.slice(2), {
  name: "npm run bench:verify --",
  summary:
    "Benchmark: full verification of both lanes against the emulator (50 ms latency, 2 s jobs); prints wall time vs the sequential cost and a stale deploy's time-to-fail.",
  flags: [],
});
main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
