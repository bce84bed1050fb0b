// The operator tools against the box, with only the Pulumi CLI's JSON faked (test/ops/bin/pulumi,
// installed where the pinned launcher looks; real ssh, real docker on the box): `npm run verify` over
// both lanes, `npm run tunnel` (then /readyz through it shows the deployed revision), and
// `npm run prune` (a dry run removes nothing; a real run keeps the last N deployed revisions and
// every image a container uses, and removes the rest), and rollback's image-presence check.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../verify/ssh/tunnel";
import { runToolSource } from "../harness/runCaptured";
import { committedConfig, NS, PROGRAM_DIR, runStack, type StackRun } from "../harness/stack";
import { loadHistory, makeSandbox, type Sandbox } from "../ops/helpers";
import { describeOnBox } from "./lib/box";
import { EngineApi } from "./lib/engineApi";
import { buildImage, imageIdOf } from "./lib/imageBuild";
import { type BoxImage, boxImage } from "./lib/runtimeImage";
import {
  BOX_API_KEY,
  boxStackOptions,
  deployLanes,
  ensureVolumes,
  laneContainers,
  pulumiConfigJson,
  removeLanes,
  withoutStartIntervalBelow144,
  writeBoxStackFile,
} from "./lib/stackOnBox";
import { acquireSuiteLock } from "./lib/suiteLock";

interface ToolRun {
  code: number | null;
  output: string;
  ms: number;
}

function runTool(tool: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ToolRun> {
  return runToolSource(PROGRAM_DIR, tool, args, env, timeoutMs);
}

function getJson(port: number): Promise<any> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/readyz", timeout: 5000 }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve(JSON.parse(body)));
      })
      .on("error", reject);
  });
}

/** A succeeded update of `revision` in `pulumi stack history --json` form (the fixture's shape). */
function deployed(revision: string, config: Record<string, unknown>, at: number): Record<string, unknown> {
  const template = loadHistory()[0] as Record<string, unknown>;
  const iso = new Date(Date.UTC(2026, 0, 1) + at * 3600_000).toISOString();
  return {
    ...template,
    version: at,
    message: `deploy ${revision.slice(0, 7)}`,
    result: "succeeded",
    startTime: iso,
    endTime: iso,
    config: { ...config, "sir-convert-a-lot:revision": { value: revision, secret: false } },
  };
}

describeOnBox("operator tools on the box (only the Pulumi CLI faked)", (getBox) => {
  let release: () => void = () => undefined;
  let ssh: EngineApi;
  let sock: EngineApi;
  let run: StackRun;
  let image: BoxImage;
  let sb: Sandbox;
  let stackFile: string | undefined;
  let env: NodeJS.ProcessEnv;
  let volumes: string[] = [];
  let names: string[] = [];
  const older = ["1", "2", "3"].map((d) => d.repeat(40));

  beforeAll(async () => {
    const box = getBox();
    release = await acquireSuiteLock(box.state, 15 * 60_000);
    image = boxImage(box);
    ssh = await EngineApi.connect({ kind: "ssh", dockerHost: box.dockerHost, sshOptions: box.sshOptions });
    sock = await EngineApi.connect({ kind: "socket", socketPath: "/var/run/docker.sock" });
    const options = boxStackOptions(box, image, mkdtempSync(path.join(os.tmpdir(), "box-ev-")));
    run = await runStack(options);
    volumes = await ensureVolumes(ssh, run);
    const lanes = laneContainers(run, image).map(({ inputs }) => withoutStartIntervalBelow144(inputs, ssh));
    names = lanes.map((l) => l.name);
    // older revisions' images (the runtime image relabelled), as earlier deploys left them
    const ctx = mkdtempSync(path.join(os.tmpdir(), "box-old-"));
    for (const rev of older) {
      mkdirSync(path.join(ctx, rev));
      writeFileSync(path.join(ctx, rev, "Dockerfile"), `FROM ${image.tag}\nLABEL org.opencontainers.image.revision=${rev}\n`);
      if (!(await imageIdOf(sock, `${image.name}:${rev}`)))
        await buildImage(ssh, path.join(ctx, rev), { tag: `${image.name}:${rev}`, dockerfile: "Dockerfile", buildArgs: {}, labels: {} });
    }
    await deployLanes(ssh, sock, lanes);
    const config = pulumiConfigJson(committedConfig(options));
    const outputs = run.plain({ inputs: run.result.outputs } as never);
    // what `pulumi up` records: the image the lanes run (the mocks' id stands in for it)
    outputs.image = { ...outputs.image, id: image.id };
    // newest first, as `pulumi stack history` lists them
    const history = [
      deployed(image.revision, config, 4),
      ...older
        .slice()
        .reverse()
        .map((rev, i) => deployed(rev, config, 3 - i)),
    ];
    sb = makeSandbox({ config, outputs, history });
    // the mutating tools run on stack "box", whose stack file names the box (removed in afterAll)
    stackFile = writeBoxStackFile("box", config);
    // real ssh (not test/ops/bin's fake): only pulumi is faked, through PULUMI_HOME
    env = { ...sb.env, PATH: process.env.PATH };
  }, 16 * 60_000);

  afterAll(async () => {
    try {
      if (stackFile) rmSync(stackFile, { force: true });
      sb?.cleanup();
      if (sock) {
        await removeLanes(sock, names, volumes);
        for (const rev of older) await sock.request("DELETE", `/images/${encodeURIComponent(`${image.name}:${rev}`)}`);
      }
    } finally {
      release();
    }
  }, 120_000);

  it(
    "npm run verify re-verifies both deployed lanes from the stack outputs",
    async () => {
      const res = await runTool("verify", ["--checks", "readiness,liveness,metrics,gpu", "--evidence-dir", path.join(sb.dir, "evidence")], env, 240_000);
      expect([res.code, res.output]).toEqual([0, expect.stringMatching(/prod[\s\S]*eval|eval[\s\S]*prod/)]);
      expect(res.output).not.toContain(BOX_API_KEY);
    },
    5 * 60_000,
  );

  it(
    "npm run status compares what runs on the box with the stack, in one ssh round trip (issue 13)",
    async () => {
      const res = await runTool("status", ["--json"], env, 120_000);
      expect([res.code, res.output]).toEqual([0, res.output]);
      const report = JSON.parse(res.output.slice(res.output.indexOf("{"))) as {
        ok: boolean;
        lanes: Array<{ lane: string; state: string; health: string; runningRevision?: string; ports: string[]; problems: string[] }>;
        gpu: { seen: boolean; detail: string };
        rollbackImages: Array<{ tag: string }>;
      };
      expect(report.ok).toBe(true);
      expect([report.gpu.seen, report.gpu.detail]).toEqual([true, expect.any(String)]);
      expect(report.lanes.map((l) => [l.lane, l.state, l.health, l.runningRevision, l.problems]).sort()).toEqual([
        ["eval", "running", "healthy", image.revision, []],
        ["prod", "running", "healthy", image.revision, []],
      ]);
      expect(report.lanes.find((l) => l.lane === "prod")!.ports).toEqual(["127.0.0.1:28085->8085/tcp"]);
      expect(report.rollbackImages.map((i) => i.tag)).toEqual(expect.arrayContaining(older));
      // a stopped lane is drift: exit 1, naming the lane
      await sock.json("POST", `/containers/${names.find((n) => n.endsWith("_eval"))}/stop`, { query: { t: 2 } });
      try {
        const drift = await runTool("status", [], env, 120_000);
        expect(drift.code).toBe(1);
        expect(drift.output).toMatch(/eval[\s\S]*problem:.*(exited|not running)/i);
      } finally {
        await sock.json("POST", `/containers/${names.find((n) => n.endsWith("_eval"))}/start`);
      }
    },
    4 * 60_000,
  );

  it(
    "npm run logs shows the lane's container log over ssh (issue 13)",
    async () => {
      const res = await runTool("logs", ["--lane", "prod", "--tail", "20"], env, 60_000);
      expect([res.code, res.output]).toEqual([0, expect.stringContaining("Uvicorn running on http://0.0.0.0:8085")]);
      expect(res.output).not.toContain("8086");
    },
    2 * 60_000,
  );

  it(
    "npm run doctor checks the box: ssh, devices, rocm-smi, disk, ports pass; dockerd 20.10 fails for the start interval, gpu.groups by name for the host's GID (issue 13)",
    async () => {
      const res = await runTool("doctor", ["--json", "--stack", "box"], env, 120_000);
      expect(res.output).toContain('"items"');
      const { items } = JSON.parse(res.output.slice(res.output.indexOf("{"))) as { items: Array<{ name: string; ok: boolean; detail: string; fix?: string }> };
      const item = (name: string) => items.find((i) => i.name === name) ?? { name, ok: undefined, detail: "(missing)" };
      for (const name of [
        "ssh reaches Hemma without a prompt, host key known",
        "GPU device nodes",
        "rocm-smi lists a GPU",
        "free disk for an image build",
        "prod host port 28085",
        "eval host port 28086",
      ]) {
        expect([name, item(name).ok, item(name).detail, res.output]).toEqual([name, true, expect.any(String), res.output]);
      }
      // the box's render node is GID 995: group names resolve inside the image, so the doctor asks for the numbers
      const groups = item("gpu.groups grants the device nodes");
      expect([groups.ok, groups.detail]).toEqual([false, expect.stringContaining("995")]);
      const engine = item("docker engine version");
      expect([engine.ok, engine.detail]).toEqual([
        false,
        expect.stringMatching(/1\.41[\s\S]*start interval[\s\S]*1\.44|start interval[\s\S]*1\.44[\s\S]*1\.41/),
      ]);
      expect(res.code).toBe(1);
    },
    3 * 60_000,
  );

  it(
    "npm run tunnel forwards each lane; /readyz through it shows the deployed revision",
    async () => {
      const [prodPort, evalPort] = [await freePort(), await freePort()];
      const child: ChildProcess = spawn(
        path.join(PROGRAM_DIR, "node_modules", ".bin", "ts-node"),
        ["--transpile-only", path.join(PROGRAM_DIR, "ops", "cli", "tunnel.ts"), "--prod-port", String(prodPort), "--eval-port", String(evalPort)],
        { cwd: PROGRAM_DIR, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
      );
      let output = "";
      child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
      try {
        const until = Date.now() + 60_000;
        let ready: any;
        while (Date.now() < until && child.exitCode === null) {
          ready = await getJson(prodPort).catch(() => undefined);
          if (ready) break;
          await new Promise((r) => setTimeout(r, 500));
        }
        expect([ready?.service_revision, output]).toEqual([image.revision, output]);
        expect((await getJson(evalPort)).service_profile).toBe("eval");
      } finally {
        // an operator's Ctrl-C reaches the tool's whole process group, its ssh included (a SIGTERM to
        // the tool alone leaves that ssh running)
        process.kill(-child.pid!, "SIGINT");
        await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
      }
    },
    2 * 60_000,
  );

  it(
    "npm run prune: a dry run removes nothing; a real run keeps the last N deployed and in-use images, removes the rest",
    async () => {
      const present = async () =>
        Object.fromEntries(await Promise.all([image.revision, ...older].map(async (r) => [r, (await imageIdOf(sock, `${image.name}:${r}`)) !== undefined])));
      const dry = await runTool("prune", ["--dry-run", "--keep", "2", "--stack", "box"], env, 120_000);
      expect([dry.code, dry.output]).toEqual([0, dry.output]);
      expect(await present()).toEqual({ [image.revision]: true, [older[0]!]: true, [older[1]!]: true, [older[2]!]: true });
      const real = await runTool("prune", ["--yes", "--keep", "2", "--stack", "box"], env, 120_000);
      expect([real.code, real.output]).toEqual([0, real.output]);
      // kept: the current revision (deployed, and both lanes use it) and the newest older deploy
      expect(await present()).toEqual({ [image.revision]: true, [older[0]!]: false, [older[1]!]: false, [older[2]!]: true });
    },
    5 * 60_000,
  );

  it(
    "npm run rollback checks the target's image on the box: present is reused (no rebuild), a pruned one is rebuilt",
    async () => {
      // after the prune above: older[2] is still there, older[0] was removed
      const present = await runTool("rollback", ["--dry-run", "--to", older[2]!, "--stack", "box"], env, 120_000);
      const id = await imageIdOf(sock, `${image.name}:${older[2]}`);
      expect(present.output).toContain(`image status   still on Hemma (${id}, labelled ${older[2]!.slice(0, 12)}); no rebuild`);
      const pruned = await runTool("rollback", ["--dry-run", "--to", older[0]!, "--stack", "box"], env, 120_000);
      expect(pruned.output).toContain("image status   NOT on Hemma any more; it will be REBUILT");
    },
    4 * 60_000,
  );

  it(
    "npm run deploy checks the revision's image on the box before anything: missing is built, a tag without that build is refused, a present build is reused (issue 9)",
    async () => {
      const source = (sb.pulumiState().config[`${NS}:source`] as { objectValue: { path: string } }).objectValue.path;
      const head = execFileSync("git", ["-C", source, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
      const tag = `${image.name}:${head}`;
      try {
        const missing = await runTool("deploy", ["--preview", "--stack", "box"], env, 120_000);
        expect([missing.code, missing.output]).toEqual([0, expect.stringContaining(`${tag} is not on Hemma yet: it will be built`)]);
        // the box image re-tagged with this commit: its revision label names another build
        await sock.json("POST", `/images/${encodeURIComponent(image.tag)}/tag`, { query: { repo: image.name, tag: head } });
        const wrong = await runTool("deploy", ["--preview", "--stack", "box"], env, 120_000);
        expect(wrong.code).not.toBe(0);
        expect(wrong.output).toContain(`${tag} is on Hemma but does not hold that commit's build`);
        await sock.request("DELETE", `/images/${encodeURIComponent(tag)}`);
        const ctx = mkdtempSync(path.join(os.tmpdir(), "box-head-"));
        writeFileSync(path.join(ctx, "Dockerfile"), `FROM ${image.tag}\nLABEL org.opencontainers.image.revision=${head}\n`);
        const built = await buildImage(ssh, ctx, { tag, dockerfile: "Dockerfile", buildArgs: {}, labels: {} });
        const present = await runTool("deploy", ["--preview", "--stack", "box"], env, 120_000);
        expect([present.code, present.output]).toEqual([
          0,
          expect.stringContaining(`${tag} is already on Hemma (${built.id.replace(/^sha256:/, "").slice(0, 12)}, labelled ${head.slice(0, 12)}): no rebuild`),
        ]);
      } finally {
        await sock.request("DELETE", `/images/${encodeURIComponent(tag)}`);
      }
    },
    5 * 60_000,
  );
});
