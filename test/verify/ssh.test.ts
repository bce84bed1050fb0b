// SSH mode against a real OpenSSH server on 127.0.0.1: HTTP goes through the verifier's own port-forward,
// host probes run over the same target, and the tunnel is closed on success, on failure and on SIGINT.
import { existsSync } from "node:fs";
import { copyFile, readFile } from "node:fs/promises";
import path from "node:path";
import { runVerification } from "../../verify";
import { processGone, startCli, waitForOutput } from "./cliRun";
import { API_KEY, BIN_DIR, type LaneSpec, makeLane, OTHER_REV, REV, type TestLane } from "./harness";
import { SSHD, startSshdWithFakeTools, type TestSshd } from "./sshd";

// Without sshd these tests fail (a green run must have exercised SSH mode) unless skipping is asked for.
const skipSsh = !existsSync(SSHD) && process.env.SIR_CONVERT_A_LOT_SKIP_SSH_TESTS === "1";
if (skipSsh) {
  console.warn(
    `\n!!!!!!!!\n!!! SKIPPING SSH TESTS (SIR_CONVERT_A_LOT_SKIP_SSH_TESTS=1): ${SSHD} is absent. Install it: apt-get update && apt-get install -y openssh-server\n!!!!!!!!\n`,
  );
}

(skipSsh ? describe.skip : describe)("ssh mode (real sshd)", () => {
  let dir: string;
  let sshd: TestSshd;
  const lanes: TestLane[] = [];

  let box: Awaited<ReturnType<typeof startSshdWithFakeTools>> | undefined;
  beforeAll(async () => {
    box = await startSshdWithFakeTools("verify-sshd-", BIN_DIR);
    ({ dir, sshd } = box);
  });
  afterAll(async () => {
    await box?.stop();
  });
  afterEach(async () => {
    await Promise.all(lanes.splice(0).map((l) => l.cleanup()));
  });

  /** A lane whose fake docker config and GPU state are the ones the sshd sessions see. */
  async function sshLane(spec: LaneSpec = {}): Promise<TestLane> {
    const lane = await makeLane({ ...spec, emulator: { gpuStateDir: path.join(dir, "gpu"), ...spec.emulator } });
    lanes.push(lane);
    await copyFile(path.join(lane.tmp, "docker.json"), path.join(dir, "docker.json"));
    return lane;
  }

  const tunnelPid = (logs: string): number => Number(/tunnel open: ssh pid (\d+)/.exec(logs)?.[1]);

  test("full verification through the tunnel passes and closes the tunnel", async () => {
    const lane = await sshLane({ emulator: { jobDurationMs: 1200 } });
    // Local PATH has no rocm-smi/docker: probes can only succeed on the SSH side.
    const env = { ...process.env, PATH: process.env.PATH ?? "" };
    const report = await runVerification(lane.options({ via: sshd.via, sshOptions: sshd.sshOptions, env }));
    expect(report.failureLines).toEqual([]);
    expect(report.via).toBe(sshd.via);
    const logs = lane.logs.join("\n");
    const pid = tunnelPid(logs);
    expect(pid).toBeGreaterThan(0);
    // HTTP goes through the tunnel's private Unix socket, never a local TCP port
    const socket = /tunnel open: ssh pid \d+, (\S+) -> /.exec(logs)?.[1] ?? "";
    expect(socket).toMatch(/\/scal-ssh-[^/]+\/http\.sock$/);
    expect(existsSync(path.dirname(socket))).toBe(false);
    expect(processGone(pid)).toBe(true);
    expect(logs).toContain(`tunnel closed (ssh pid ${pid})`);
    const rocm = await readFile(path.join(lane.evidenceDir, "host", "rocm_smi.txt"), "utf8");
    expect(rocm.startsWith(`$ ssh ${sshd.via} -- rocm-smi --showproductname --showuse --showmemuse\n# exit 0`)).toBe(true);
  });

  test("a failing run closes the tunnel too", async () => {
    const lane = await sshLane({ emulator: { revision: OTHER_REV, expectedRevision: REV } });
    const started = Date.now();
    const report = await runVerification(lane.options({ via: sshd.via, sshOptions: sshd.sshOptions, checks: ["readiness", "smoke"] }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(report.failureLines[0]).toMatch(/^FAIL readiness: expected service_revision /);
    expect(processGone(tunnelPid(lane.logs.join("\n")))).toBe(true);
  });

  test("an unreachable SSH target fails setup clearly", async () => {
    const lane = await sshLane();
    const report = await runVerification(lane.options({ via: "ssh://127.0.0.1:1", sshOptions: sshd.sshOptions, checks: ["readiness"] }));
    expect(report.ok).toBe(false);
    expect(report.failureLines[0]).toMatch(
      /^FAIL readiness: expected no internal error, saw setup: ssh tunnel to ssh:\/\/127\.0\.0\.1:1 \(127\.0\.0\.1:\d+\) failed: ssh exited 255/,
    );
  });

  test("SIGINT during a run closes the tunnel and exits 130", async () => {
    const lane = await sshLane({ emulator: { jobDurationMs: 30_000 } });
    const run = startCli(
      [
        "--service-url",
        lane.emulator.url,
        "--profile",
        "prod",
        "--expected-revision",
        REV,
        "--evidence-dir",
        lane.evidenceDir,
        "--timeout-seconds",
        "60",
        "--via",
        sshd.via,
        ...sshd.sshOptions.flatMap((o) => ["--ssh-opt", o]),
      ],
      { ...process.env, SIR_CONVERT_A_LOT_API_KEY: API_KEY },
    );
    const pid = Number((await waitForOutput(run, /tunnel open: ssh pid (\d+)/, 20_000))[1]);
    await waitForOutput(run, /smoke v1 pdf->md: started/, 20_000);
    expect(processGone(pid)).toBe(false);
    const signalled = Date.now();
    run.child.kill("SIGINT");
    const { code } = await run.done;
    expect(code).toBe(130);
    expect(Date.now() - signalled).toBeLessThan(4000);
    expect(processGone(pid)).toBe(true);
    expect(run.stdout() + run.stderr()).not.toContain(API_KEY);
  });
});
