// Benchmark on the box (not a test; `npm run bench:deploy`, root): three real `npm run deploy` runs
// through the canary gate and the automatic rollback, with prod's /readyz probed the whole time:
//   gpu-broken   an image broken for the GPU (a CUDA torch build): the canary (eval) fails, prod 0 s
//                down, the old revision still serving;
//   prod-broken  an image that passes eval but fails prod's verification (prod's Docling silently on
//                the CPU): prod's own verification fails and the deploy rolls back on its own;
//   good         a good new image: prod is down for one container start plus readiness.
// The box (test/box/box.sh) is real dockerd and sshd on this machine. `npm run deploy` runs as
// operators run it (compiled tools, the operator lock and the image check over real ssh); only the
// Pulumi CLI is faked (test/ops/bin/pulumi), and its `up` is the box engine (test/box/engine): the
// real index.ts under the SDK's mocks, each step done for real on the box in the order the SDK
// sends registrations (how the engine sees the gate). Each revision is a commit of a scratch
// service checkout whose Dockerfile starts from the box's runtime image; deploy builds each on the
// box. The runs go gpu-broken, prod-broken, good from one baseline, so no run needs a re-deploy of
// the baseline in between. Prints each run's timeline and one table: prod's unavailability (from
// the moment prod stops answering /readyz with ready until it answers ready again, summed), total
// deploy time, and which revision serves at the end (/healthz service_revision).
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BOX_SCRIPT, type Box, boxOrReason } from "../test/box/lib/box";
import { removeContainer } from "../test/box/lib/containerMapping";
import { EngineApi } from "../test/box/lib/engineApi";
import { isReady } from "../test/box/lib/readyz";
import { type BoxImage, ensureRuntimeImage } from "../test/box/lib/runtimeImage";
import { boxStackOptions, pulumiConfigJson, writeBoxStackFile } from "../test/box/lib/stackOnBox";
import { acquireSuiteLock } from "../test/box/lib/suiteLock";
import { committedConfig, NS, PROGRAM_DIR } from "../test/harness/stack";
import { makeSandbox } from "../test/ops/helpers";
import { benchArgs } from "./benchFlags";

const STACK = "bench";
const ENGINE = path.join(PROGRAM_DIR, "test", "box", "engine", "cli.ts");

interface Event {
  atMs: number;
  what: string;
}

interface RunResult {
  scenario: string;
  revision: string;
  exitCode: number;
  totalMs: number;
  unavailableMs: number;
  outages: number;
  servingAtEnd: string;
  timeline: Event[];
}

/** Lines of `npm run deploy` worth a timeline entry (image, the gate, prod, verification, rollback). */
const MILESTONES = [
  /\b(Container|Command) (prod|eval|canary)(-verify(-(health|gpu|smoke))?)? .*\b(creating|created|replacing|replaced|deleting original|deleted original|updating|updated|failed)\b/i,
  /RemoteImage runtime-image(-build)? (building|created|replaced)/,
  /auto-rollback: (prod goes back|pulumi up|prod runs)/,
  /rolled back automatically/,
  /^error: the deploy|^error: prod's verification/,
];

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", ["-C", dir, ...args], { encoding: "utf8" }).trim();
}

/** A scratch service checkout: one commit per revision, each Dockerfile starting from the box image. */
function serviceCheckout(image: BoxImage): { dir: string; baseline: string; gpuBroken: string; prodBroken: string; good: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-service-"));
  git(dir, "init", "--quiet", "--initial-branch", "main");
  git(dir, "config", "user.email", "bench@box.invalid");
  git(dir, "config", "user.name", "bench");
  const commit = (what: string, lines: string[]): string => {
    writeFileSync(path.join(dir, "Dockerfile"), [`FROM ${image.tag}`, ...lines, ""].join("\n"));
    writeFileSync(path.join(dir, "CHANGE"), `${what}\n`);
    git(dir, "add", "-A");
    git(dir, "commit", "--quiet", "-m", what);
    return git(dir, "rev-parse", "HEAD");
  };
  const baseline = commit("baseline", []);
  // torch without "+rocm" in its version is the CUDA wheel: torch.version.hip is None (the upstream incident)
  const gpuBroken = commit("gpu-broken: a CUDA torch wheel", [
    `RUN echo ${image.torchVersion.replace(/\+.*$/, "")} > /usr/lib/python3/dist-packages/torch/VERSION`,
  ]);
  git(dir, "checkout", "--quiet", baseline);
  git(dir, "checkout", "--quiet", "-b", "prod-broken");
  const prodBroken = commit("prod-broken: prod's Docling silently on the CPU", ["ENV BOX_EMULATOR_CPU_ROUTES_PROD=pdf->md,pdf->docx"]);
  git(dir, "checkout", "--quiet", baseline);
  git(dir, "checkout", "--quiet", "-b", "good");
  const good = commit("good: a new revision", ["RUN echo good > /app/CHANGE"]);
  return { dir, baseline, gpuBroken, prodBroken, good };
}

async function servingRevision(url: string): Promise<string> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3000) });
    const body = (await res.json()) as { service_revision?: string };
    return body.service_revision ?? "(no service_revision)";
  } catch (err) {
    return `(not answering: ${(err as Error).message})`;
  }
}

/** Probes prod until stopped; records every ready -> not ready -> ready change. */
function startProbe(url: string, pollMs: number, t0: number, events: Event[]) {
  let stop = false;
  let downSince: number | undefined;
  let unavailableMs = 0;
  let outages = 0;
  const done = (async () => {
    while (!stop) {
      const now = Date.now();
      const ok = await isReady(url);
      if (!ok && downSince === undefined) {
        downSince = now;
        outages++;
        events.push({ atMs: now - t0, what: "prod stops answering /readyz ready" });
      } else if (ok && downSince !== undefined) {
        unavailableMs += now - downSince;
        events.push({ atMs: now - t0, what: `prod ready again (down ${((now - downSince) / 1000).toFixed(1)} s)` });
        downSince = undefined;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();
  return {
    isDown: () => downSince !== undefined,
    async finish(): Promise<{ unavailableMs: number; outages: number }> {
      stop = true;
      await done;
      return { unavailableMs: unavailableMs + (downSince !== undefined ? Date.now() - downSince : 0), outages };
    },
  };
}

/** `npm run deploy` as an operator runs it (the compiled tool), output streamed and indented. */
function deploy(env: NodeJS.ProcessEnv, source: string, revision: string, maxMs: number, onLine?: (line: string) => void): Promise<number> {
  git(source, "checkout", "--quiet", "--detach", revision);
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [path.join(PROGRAM_DIR, "launch.js"), "ops/cli/deploy", "--yes", "--stack", STACK], {
      cwd: PROGRAM_DIR,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), maxMs);
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = "";
      stream.on("data", (chunk: Buffer) => {
        const lines = (rest + chunk.toString("utf8")).split("\n");
        rest = lines.pop() ?? "";
        for (const l of lines) {
          process.stdout.write(`    ${l}\n`);
          onLine?.(l);
        }
      });
    }
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

async function measured(
  env: NodeJS.ProcessEnv,
  source: string,
  url: string,
  scenario: string,
  revision: string,
  o: { pollMs: number; maxMs: number },
): Promise<RunResult> {
  console.log(`\n== ${scenario}: deploying ${revision.slice(0, 12)} (measured)`);
  const events: Event[] = [{ atMs: 0, what: `npm run deploy of ${revision.slice(0, 12)} starts` }];
  const t0 = Date.now();
  const probe = startProbe(url, o.pollMs, t0, events);
  const exitCode = await deploy(env, source, revision, o.maxMs, (line) => {
    if (MILESTONES.some((re) => re.test(line))) events.push({ atMs: Date.now() - t0, what: line.trim().slice(0, 150) });
  });
  const totalMs = Date.now() - t0;
  events.push({ atMs: totalMs, what: `npm run deploy exits ${exitCode}` });
  // Bounded wait for prod to come back after the deploy (it should already be).
  const until = Date.now() + 120_000;
  while (probe.isDown() && Date.now() < until) await new Promise((r) => setTimeout(r, o.pollMs));
  const { unavailableMs, outages } = await probe.finish();
  events.sort((a, b) => a.atMs - b.atMs);
  return { scenario, revision, exitCode, totalMs, unavailableMs, outages, servingAtEnd: await servingRevision(url), timeline: events };
}

function printTimeline(r: RunResult): void {
  console.log(`\n### ${r.scenario} (${r.revision.slice(0, 12)})\n\n| t (s) | event |\n| ---: | --- |`);
  for (const e of r.timeline) console.log(`| ${(e.atMs / 1000).toFixed(1)} | ${e.what.replace(/\|/g, "\\|")} |`);
}

function goalOf(r: RunResult, baseline: string): string {
  const serving = r.servingAtEnd.slice(0, 12);
  if (r.scenario === "gpu-broken")
    return r.unavailableMs === 0 && r.servingAtEnd === baseline && r.exitCode !== 0
      ? "met: 0 s, the old revision serving"
      : `MISSED (want 0 s and ${baseline.slice(0, 12)} serving, saw ${serving})`;
  const rolledBack = r.timeline.some((e) => /auto-rollback: prod runs/.test(e.what));
  if (r.scenario === "prod-broken")
    return r.servingAtEnd === baseline && r.exitCode !== 0 && rolledBack
      ? "old revision serving again (compare with one start + readiness in the timeline)"
      : `MISSED (want an automatic rollback and ${baseline.slice(0, 12)} serving, saw ${serving})`;
  return r.servingAtEnd === r.revision && r.exitCode === 0
    ? "new revision serving (compare with one start + readiness in the timeline)"
    : `MISSED (want ${r.revision.slice(0, 12)} serving, exit 0)`;
}

async function main(flags: Record<string, unknown>): Promise<number> {
  const pollMs = Number(flags.pollMs ?? 250);
  const maxMs = Number(flags.maxMinutes ?? 20) * 60_000;
  const upRun = spawnSync("bash", [BOX_SCRIPT, "up"], { stdio: "inherit" });
  if (upRun.status !== 0) throw new Error(`the box is not available here (box.sh up exited ${upRun.status}); run as root on Debian`);
  const box = boxOrReason();
  if (typeof box === "string") throw new Error(box);
  const image = await ensureRuntimeImage(box);
  const release = await acquireSuiteLock(box.state, 15 * 60_000);
  const sock = await EngineApi.connect({ kind: "socket", socketPath: "/var/run/docker.sock" });
  const evidence = mkdtempSync(path.join(os.tmpdir(), "bench-deploy-ev-"));
  const service = serviceCheckout(image);
  const options = boxStackOptions(box as Box, image, evidence, {
    source: { path: service.dir, dockerfile: "Dockerfile", allowDirty: false, allowRevisionMismatch: false },
  });
  const config = pulumiConfigJson(committedConfig(options));
  // a stack never deployed: no revision yet, image.build as committed (deploy decides it per revision)
  delete config[`${NS}:revision`];
  const imageConfig = { ...(config[`${NS}:image`]!.objectValue as Record<string, unknown>), build: true };
  config[`${NS}:image`] = { value: JSON.stringify(imageConfig), objectValue: imageConfig, secret: false };
  const sb = makeSandbox({ config, outputs: {}, history: [] });
  const stackFile = writeBoxStackFile(STACK, config);
  const env: NodeJS.ProcessEnv = { ...sb.env, PATH: process.env.PATH, FAKE_PULUMI_ENGINE: ENGINE };
  const url = `http://127.0.0.1:28085`;
  const lanes = ["sir_convert_a_lot_prod", "sir_convert_a_lot_eval"];
  const results: RunResult[] = [];
  // The bench's own scratch stack: a lock an interrupted bench left behind (its fake CLI is gone) is
  // removed, as the runbook's `pulumi cancel` would (the tools rightly refuse while it is there).
  rmSync(path.join(PROGRAM_DIR, ".pulumi-state", ".pulumi", "locks", "organization", NS, STACK), { recursive: true, force: true });
  try {
    for (const name of lanes) await removeContainer(sock, name);
    console.log(`== baseline ${service.baseline.slice(0, 12)}: first deploy (not measured)`);
    if ((await deploy(env, service.dir, service.baseline, maxMs)) !== 0) throw new Error("the baseline does not deploy: fix the box first (output above)");
    if (!(await isReady(url))) throw new Error("prod is not ready on the baseline");
    results.push(await measured(env, service.dir, url, "gpu-broken", service.gpuBroken, { pollMs, maxMs }));
    results.push(await measured(env, service.dir, url, "prod-broken", service.prodBroken, { pollMs, maxMs }));
    results.push(await measured(env, service.dir, url, "good", service.good, { pollMs, maxMs }));
  } finally {
    for (const name of lanes) await removeContainer(sock, name).catch(() => undefined);
    for (const rev of [service.baseline, service.gpuBroken, service.prodBroken, service.good])
      await sock.request("DELETE", `/images/${encodeURIComponent(`${image.name}:${rev}`)}`).catch(() => undefined);
    rmSync(stackFile, { force: true });
    sb.cleanup();
    rmSync(service.dir, { recursive: true, force: true });
    release();
    if (process.env.SIR_CONVERT_A_LOT_BOX_KEEP !== "1") spawnSync("bash", [BOX_SCRIPT, "down"], { stdio: "inherit" });
  }
  results.forEach(printTimeline);
  console.log(`\ndeploy benchmark on the box (dockerd ${box.dockerVersion}, API ${box.dockerApi}, ${os.cpus().length} cores)`);
  console.log(
    "\n| run | prod unavailable (s) | outages | total deploy (s) | deploy exit | serving at the end | goal |\n| --- | ---: | ---: | ---: | ---: | --- | --- |",
  );
  for (const r of results) {
    console.log(
      `| ${r.scenario} | ${(r.unavailableMs / 1000).toFixed(1)} | ${r.outages} | ${(r.totalMs / 1000).toFixed(1)} | ${r.exitCode} | ${r.servingAtEnd.slice(0, 12)} | ${goalOf(r, service.baseline)} |`,
    );
  }
  return results.some((r) => goalOf(r, service.baseline).startsWith("MISSED")) ? 1 : 0;
}

const flags = benchArgs(process.argv.slice(2), {
  name: "npm run bench:deploy --",
  summary:
    "Deploy timelines on the box (test/box/box.sh: real dockerd and sshd here; only the Pulumi CLI faked, its `up` done by the box engine): a GPU-broken image (the canary stops it), an image that fails only prod's verification (automatic rollback), a good image. Root, Debian.",
  flags: [
    { flags: "--poll-ms <n>", description: "prod /readyz probe interval in ms (default 250)" },
    { flags: "--max-minutes <n>", description: "give up on one deploy after this long (default 20)" },
  ],
});
main(flags).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  },
);
