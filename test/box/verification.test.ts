// The stack's own verification commands against lanes on the box: each command resource's `create`
// with its `environment`, run as the command provider runs it (lib/commands.ts). They pass on healthy
// lanes, and fail naming the fact, within an asserted bound, for a lane created without its devices
// (the upstream incident), a stale expected revision, the GPU declared unavailable, a stopped
// container and a wrong API key; plus issue 10's cheap scenarios on the box: foreign GPU work
// refuses judgement, a lane that dies at import is reported at once.
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { API_KEY_ENV } from "../../lib/serviceContract";
import { runStack, type StackRun } from "../harness/stack";
import { describeOnBox } from "./lib/box";
import { type LaneCommand, runCreate, runVerification, verificationCommands } from "./lib/commands";
import { createContainer, type RecordedContainer, removeContainer } from "./lib/containerMapping";
import { EngineApi } from "./lib/engineApi";
import { buildImage } from "./lib/imageBuild";
import { waitReady } from "./lib/readyz";
import { boxImage } from "./lib/runtimeImage";
import { boxStackOptions, deployLanes, ensureVolumes, execIn, laneContainers, removeLanes, withoutStartIntervalBelow144 } from "./lib/stackOnBox";
import { acquireSuiteLock } from "./lib/suiteLock";

const RUN_TIMEOUT_MS = 240_000;
/** Every failure below must be reported within this (the commands' own deadline is 600 s). */
const FAILURE_BOUND_MS = 60_000;

describeOnBox("the stack's verification commands on the box", (getBox) => {
  let release: () => void = () => undefined;
  let ssh: EngineApi;
  let sock: EngineApi;
  let run: StackRun;
  let commands: LaneCommand[];
  let declared: RecordedContainer[];
  let volumes: string[] = [];

  const command = (lane: string, group: LaneCommand["group"]) => commands.find((c) => c.lane === lane && c.group === group)!;
  const prod = () => declared.find((c) => c.name === "sir_convert_a_lot_prod")!;
  /** Replaces the prod lane with a changed copy, started without waiting for health. */
  const replaceProd = async (change: (c: RecordedContainer) => RecordedContainer) => {
    await removeContainer(sock, prod().name);
    await createContainer(ssh, sock, { ...change(prod()), wait: false });
  };
  const expectFailure = async (lane: string, group: LaneCommand["group"], pattern: RegExp, env?: Record<string, string>) => {
    const result = await runCreate(command(lane, group), RUN_TIMEOUT_MS, env);
    expect(result.exitCode).not.toBe(0);
    expect(result.output).toMatch(pattern);
    expect(result.ms).toBeLessThan(FAILURE_BOUND_MS);
    return result;
  };

  /** Waits (bounded) until prod answers /readyz 200 on its loopback port, as an operator's probe would. */
  const laneReady = (port: number) => waitReady(`http://127.0.0.1:${port}`);
  const prodReady = () => laneReady(28085);
  const withEnv = (c: RecordedContainer, extra: string[]) => ({ ...c, envs: [...c.envs!, ...extra] });

  beforeAll(async () => {
    const box = getBox();
    release = await acquireSuiteLock(box.state, 15 * 60_000);
    const image = boxImage(box);
    ssh = await EngineApi.connect({ kind: "ssh", dockerHost: box.dockerHost, sshOptions: box.sshOptions });
    sock = await EngineApi.connect({ kind: "socket", socketPath: "/var/run/docker.sock" });
    run = await runStack(boxStackOptions(box, image, mkdtempSync(path.join(os.tmpdir(), "box-ev-"))));
    commands = verificationCommands(run);
    declared = laneContainers(run, image).map(({ inputs }) => withoutStartIntervalBelow144(inputs, ssh));
    volumes = await ensureVolumes(ssh, run);
    await deployLanes(ssh, sock, declared);
  }, 16 * 60_000);

  afterAll(async () => {
    try {
      if (sock)
        await removeLanes(
          sock,
          declared.map((c) => c.name),
          volumes,
        );
    } finally {
      release();
    }
  }, 120_000);

  it(
    "passes on healthy lanes (lanes in parallel, health before gpu and smoke)",
    async () => {
      expect(commands.map((c) => c.name).sort()).toEqual([
        "eval-verify-gpu",
        "eval-verify-health",
        "eval-verify-smoke",
        "prod-verify-gpu",
        "prod-verify-health",
        "prod-verify-smoke",
      ]);
      for (const c of commands) expect(c.create).not.toContain(c.environment[API_KEY_ENV]);
      const { runs } = await runVerification(commands, RUN_TIMEOUT_MS);
      for (const r of runs) expect([r.name, r.exitCode, r.exitCode === 0 ? "" : r.output]).toEqual([r.name, 0, ""]);
      expect(runs).toHaveLength(6);
    },
    8 * 60_000,
  );

  it(
    "fails the smoke check on a wrong API key",
    async () => {
      await expectFailure("prod", "smoke", /401|auth_invalid_api_key|API key/i, { [API_KEY_ENV]: "not-the-lane-key-0000000000000000" });
    },
    2 * 60_000,
  );

  it(
    "fails the gpu check on a lane created without its devices (the upstream incident)",
    async () => {
      await replaceProd((c) => ({ ...c, devices: [] }));
      await expectFailure("prod", "gpu", /\/dev\/kfd/);
    },
    2 * 60_000,
  );

  it(
    "fails the gpu check when the lane declares the GPU unavailable",
    async () => {
      await replaceProd((c) => ({
        ...c,
        envs: c.envs!.map((e) => (e.startsWith("SIR_CONVERT_A_LOT_GPU_AVAILABLE=") ? "SIR_CONVERT_A_LOT_GPU_AVAILABLE=0" : e)),
      }));
      await expectFailure("prod", "gpu", /SIR_CONVERT_A_LOT_GPU_AVAILABLE/);
    },
    2 * 60_000,
  );

  it(
    "fails health on a stale expected revision",
    async () => {
      await replaceProd((c) => ({
        ...c,
        envs: c.envs!.map((e) => (e.startsWith("SIR_CONVERT_A_LOT_EXPECTED_REVISION=") ? `SIR_CONVERT_A_LOT_EXPECTED_REVISION=${"0".repeat(40)}` : e)),
      }));
      await expectFailure("prod", "health", /stale_revision/);
    },
    2 * 60_000,
  );

  it(
    "fails health on a stopped container",
    async () => {
      await replaceProd((c) => c);
      await sock.json("POST", `/containers/${prod().name}/stop`, { query: { t: 5 } });
      await expectFailure("prod", "health", /exited|not running|stopped/i);
    },
    2 * 60_000,
  );

  it(
    "refuses to judge GPU use while a foreign process holds the GPU, naming it (issue 10)",
    async () => {
      await replaceProd((c) => c);
      // a host process (no lane's) holding the device, as another user's GPU job would
      const fd = openSync("/dev/kfd", "r");
      const foreign = spawn("sleep", ["120"], { stdio: [fd, "ignore", "ignore"] });
      closeSync(fd);
      try {
        // the stack's smoke command, with a short wait for the GPU to be free (the default is 120 s)
        const smoke = command("prod", "smoke");
        const shortWait = { ...smoke, create: smoke.create.replace("verify/cli ", "verify/cli --gpu-idle-wait-seconds 5 ") };
        expect(shortWait.create).not.toBe(smoke.create);
        const result = await runCreate(shortWait, RUN_TIMEOUT_MS);
        expect(result.exitCode).not.toBe(0);
        expect(result.output).toMatch(new RegExp(`${foreign.pid}|sleep`));
        expect(result.ms).toBeLessThan(FAILURE_BOUND_MS);
      } finally {
        foreign.kill("SIGKILL");
      }
    },
    2 * 60_000,
  );

  it(
    "reports a lane that dies at import at once, with its log (issue 10)",
    async () => {
      // eval raises at import when its data root is prod's (contract §1.3); unless-stopped restarts it
      const evalLane = declared.find((c) => c.name === "sir_convert_a_lot_eval")!;
      await removeContainer(sock, evalLane.name);
      await createContainer(ssh, sock, {
        ...evalLane,
        wait: false,
        envs: evalLane.envs!.map((e) =>
          e.startsWith("SIR_CONVERT_A_LOT_EVAL_DATA_DIR=") ? "SIR_CONVERT_A_LOT_EVAL_DATA_DIR=/var/lib/sir-convert-a-lot/prod" : e,
        ),
      });
      await expectFailure("eval", "health", /RuntimeError/);
    },
    2 * 60_000,
  );

  it(
    "fails the smoke check when prod's pdf -> docx silently runs on the CPU, naming the route (issue 10)",
    async () => {
      // the real service reports acceleration "cuda" all the same: only the GPU-use reading can tell
      await replaceProd((c) => withEnv(c, ["BOX_EMULATOR_CPU_ROUTES_PROD=pdf->docx"]));
      await prodReady();
      const result = await expectFailure("prod", "smoke", /pdf -?> ?docx|pdf->docx/);
      expect(result.output).not.toMatch(/FAIL[^\n]*pdf -?> ?md\b/);
    },
    2 * 60_000,
  );

  it(
    "passes readiness when the data dir is reached through a symlink (the service reports the resolved path; issue 10)",
    async () => {
      // the lane's image with /var/lib/sir-convert-a-lot a symlink: docker mounts the data volume
      // through it, and the service reports /srv/sir-convert-a-lot/prod
      const ctx = mkdtempSync(path.join(os.tmpdir(), "box-symlink-"));
      const tag = `${boxImage(getBox()).name}:symlinked-data-root`;
      writeFileSync(
        path.join(ctx, "Dockerfile"),
        `FROM ${boxImage(getBox()).tag}\nRUN mv /var/lib/sir-convert-a-lot /srv/sir-convert-a-lot && ln -s /srv/sir-convert-a-lot /var/lib/sir-convert-a-lot\n`,
      );
      try {
        const built = await buildImage(ssh, ctx, { tag, dockerfile: "Dockerfile", buildArgs: {}, labels: {} });
        await replaceProd((c) => ({ ...c, image: built.id }));
        await prodReady();
        const seen = await execIn(sock, prod().name, ["realpath", "/var/lib/sir-convert-a-lot/prod"]);
        expect(seen.output.trim()).toBe("/srv/sir-convert-a-lot/prod");
        const health = await runCreate(command("prod", "health"), RUN_TIMEOUT_MS);
        expect([health.exitCode, health.output]).toEqual([0, health.output]);
      } finally {
        rmSync(ctx, { recursive: true, force: true });
        await removeContainer(sock, prod().name);
        await sock.request("DELETE", `/images/${encodeURIComponent(tag)}`);
      }
    },
    3 * 60_000,
  );

  it(
    "cancels a GPU job that cannot finish by the deadline and records it; the next lane's GPU job is not judged on its leftover use (issue 10)",
    async () => {
      // eval as declared (an earlier case left it crashing at import)
      const evalLane = declared.find((c) => c.name === "sir_convert_a_lot_eval")!;
      await removeContainer(sock, evalLane.name);
      await createContainer(ssh, sock, { ...evalLane, wait: false });
      await laneReady(28086);
      // jobs take 60 s here; the smoke run's deadline is 15 s
      await replaceProd((c) => withEnv(c, ["BOX_EMULATOR_JOB_MS=60000"]));
      await prodReady();
      const smoke = command("prod", "smoke");
      // the command's own --timeout-seconds (verification.timeoutSeconds) is replaced, not shadowed
      const short = { ...smoke, create: smoke.create.replace(/--timeout-seconds \d+/, "--timeout-seconds 15 --min-job-seconds 2") };
      expect(short.create).not.toBe(smoke.create);
      const result = await runCreate(short, RUN_TIMEOUT_MS);
      expect(result.exitCode).not.toBe(0);
      expect(result.output).toMatch(/canceled .* at the deadline: POST \/v[12]\/convert\/jobs\/[^/]+\/cancel/);
      // The service keeps converting after a cancel (as the real one does): eval's GPU check refuses to
      // judge while prod's leftover job holds the GPU, and names prod's container, instead of reading
      // that use as its own.
      const evalSmoke = command("eval", "smoke");
      const waitShort = { ...evalSmoke, create: evalSmoke.create.replace("verify/cli ", "verify/cli --gpu-idle-wait-seconds 5 ") };
      const evalRun = await runCreate(waitShort, RUN_TIMEOUT_MS);
      expect(evalRun.exitCode).not.toBe(0);
      expect(evalRun.output).toMatch(/sir_convert_a_lot_prod/);
      expect(evalRun.ms).toBeLessThan(FAILURE_BOUND_MS);
    },
    3 * 60_000,
  );
});
