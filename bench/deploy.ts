// Benchmark on a box (not a test): three real `npm run deploy` runs through the canary gate and the
// automatic rollback, each from the same good baseline, with prod's /readyz probed the whole time:
//   good         a good new image: prod is down for one container start plus readiness;
//   gpu-broken   an image broken for the GPU (devices or torch): the canary fails, prod 0 s down,
//                the baseline still serving;
//   prod-broken  an image that passes eval but fails prod's verification: prod down for its
//                verification plus one container start and readiness (the automatic rollback).
// Each revision is a commit of the service checkout (--source); deploy builds it on the box when
// its image is missing. Prints each run's timeline and one table: prod's unavailability (from the
// moment prod stops answering /readyz with ready until it answers ready again, summed), total
// deploy time, and which revision serves at the end (/healthz service_revision).
//
//   npm run bench:deploy -- --docker-host ssh://box --ssh-opt Port=2222 --source ../sir-convert-a-lot \
//     --baseline <sha> --good <sha> --gpu-broken <sha> --prod-broken <sha> [--stack bench]
//
// The stack must exist (`npm run init -- --stack bench`); the bench sets its dockerHost, sshOpts and
// source.path, and puts the checkout back on the branch it was on.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { Command } from "commander";
import { sshArgs, sshOptionArgs } from "../lib/commands/ssh";
import { isSshUrl, parseSshUrl, sshOptionValues } from "../lib/sshTarget";

const PROJECT = path.resolve(__dirname, "..");

interface BenchOptions {
  stack: string;
  dockerHost: string;
  sshOpt: string[];
  source: string;
  baseline: string;
  good: string;
  gpuBroken: string;
  prodBroken: string;
  prodPort: number;
  pollMs: number;
  maxMinutes: number;
}

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

/** Lines of `npm run deploy` worth a timeline entry (the gate, prod, verification, rollback). */
const MILESTONES = [
  // pulumi's progress lines: `<type> <name> creating replacement (0s)`, `… created replacement (12s)`.
  /\b(Container|Command) (prod|eval|canary)(-verify(-(health|gpu|smoke))?)? .*\b(creating|created|replacing|replaced|deleting|deleted|deleting original|updating|updated|failed)\b/i,
  /\b(canary|prod|eval)-verify(-(health|gpu|smoke))?\b.*\b(FAIL|passed|failed)\b/,
  /auto-rollback:/,
  /^error: /,
  /canary: (starting|verifying|verification failed|removed)/,
];

function parseArgs(argv: string[]): BenchOptions {
  const program = new Command("npm run bench:deploy --")
    .description("deploy timelines through the canary gate and the automatic rollback, on a box")
    .requiredOption("--docker-host <url>", "the box's docker host (ssh://… or unix://…)")
    .option("--ssh-opt <option>", "an ssh -o option for the box (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .requiredOption("--source <dir>", "service checkout holding the four revisions")
    .requiredOption("--baseline <sha>", "good revision deployed before every run")
    .requiredOption("--good <sha>", "a good new revision")
    .requiredOption("--gpu-broken <sha>", "a revision whose image is broken for the GPU")
    .requiredOption("--prod-broken <sha>", "a revision that passes eval but fails prod's verification")
    .option("--stack <name>", "stack to deploy (must exist)", "bench")
    .option("--prod-port <n>", "prod's host port on the box", (v: string) => Number(v), 28085)
    .option("--poll-ms <n>", "/readyz probe interval", (v: string) => Number(v), 250)
    .option("--max-minutes <n>", "give up on one run after this long", (v: string) => Number(v), 60);
  // --help exits 0; a usage error exits 2, as every tool does (commander's own default is 1).
  program.exitOverride((err) => process.exit(err.code === "commander.helpDisplayed" || err.code === "commander.help" ? 0 : 2));
  program.parse(argv, { from: "user" });
  return program.opts<BenchOptions>();
}

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", ["-C", dir, ...args], { encoding: "utf8" }).trim();
}

function npm(args: string[], onLine?: (line: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", args, { cwd: PROJECT, stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [child.stdout, child.stderr]) {
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
    child.on("close", (code) => resolve(code ?? 1));
  });
}

async function configureStack(o: BenchOptions): Promise<void> {
  const set = async (...args: string[]) => {
    if ((await npm(["run", "--silent", "pulumi", "--", "config", "set", ...args, "--stack", o.stack])) !== 0) throw new Error(`config set ${args.join(" ")} failed`);
  };
  await set("dockerHost", o.dockerHost);
  const opts = o.sshOpt.flatMap((x) => (x.startsWith("-o") ? [x] : ["-o", x]));
  for (let i = 0; i < opts.length; i++) await set("--path", `sshOpts[${i}]`, opts[i]);
  await set("--path", "source.path", path.resolve(o.source));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Where prod answers from here: a tunnel for an ssh:// host, the loopback port otherwise. */
async function prodUrl(o: BenchOptions): Promise<{ url: string; tunnel?: ChildProcess }> {
  if (!isSshUrl(o.dockerHost)) return { url: `http://127.0.0.1:${o.prodPort}` };
  const local = await freePort();
  const opts = sshOptionValues(o.sshOpt.flatMap((x) => (x.startsWith("-o") ? [x] : ["-o", x])));
  const tunnel = spawn("ssh", ["-N", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-L", `${local}:127.0.0.1:${o.prodPort}`, ...sshArgs(parseSshUrl(o.dockerHost), sshOptionArgs(opts))], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 1500));
  if (tunnel.exitCode !== null) throw new Error(`ssh tunnel to ${o.dockerHost} ended (exit ${tunnel.exitCode})`);
  return { url: `http://127.0.0.1:${local}`, tunnel };
}

async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
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
      const ok = await ready(url);
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

async function deployRevision(o: BenchOptions, revision: string, onLine?: (l: string) => void): Promise<number> {
  git(o.source, "checkout", "--quiet", "--detach", revision);
  return npm(["run", "--silent", "deploy", "--", "--yes", "--stack", o.stack], onLine);
}

async function runScenario(o: BenchOptions, url: string, scenario: string, revision: string): Promise<RunResult> {
  console.log(`\n== ${scenario}: baseline ${o.baseline.slice(0, 12)} first (not measured)`);
  if ((await deployRevision(o, o.baseline)) !== 0 && !(await ready(url))) throw new Error(`the baseline ${o.baseline} does not deploy: fix the box first`);
  if (!(await ready(url))) throw new Error("prod is not ready on the baseline");
  console.log(`== ${scenario}: deploying ${revision.slice(0, 12)} (measured)`);
  const events: Event[] = [];
  const t0 = Date.now();
  events.push({ atMs: 0, what: `npm run deploy of ${revision.slice(0, 12)} starts` });
  const probe = startProbe(url, o.pollMs, t0, events);
  const deadline = setTimeout(() => console.error(`bench: ${scenario} exceeds ${o.maxMinutes} min`), o.maxMinutes * 60_000);
  const exitCode = await deployRevision(o, revision, (line) => {
    if (MILESTONES.some((re) => re.test(line))) events.push({ atMs: Date.now() - t0, what: line.trim().slice(0, 140) });
  });
  const totalMs = Date.now() - t0;
  events.push({ atMs: totalMs, what: `npm run deploy exits ${exitCode}` });
  // Bounded wait for prod to come back after the deploy (it should already be).
  const until = Date.now() + 120_000;
  while (probe.isDown() && Date.now() < until) await new Promise((r) => setTimeout(r, o.pollMs));
  clearTimeout(deadline);
  const { unavailableMs, outages } = await probe.finish();
  events.sort((a, b) => a.atMs - b.atMs);
  return { scenario, revision, exitCode, totalMs, unavailableMs, outages, servingAtEnd: await servingRevision(url), timeline: events };
}

function printTimeline(r: RunResult): void {
  console.log(`\n### ${r.scenario} (${r.revision.slice(0, 12)})\n\n| t (s) | event |\n| ---: | --- |`);
  for (const e of r.timeline) console.log(`| ${(e.atMs / 1000).toFixed(1)} | ${e.what.replace(/\|/g, "\\|")} |`);
}

function goalOf(r: RunResult, o: BenchOptions): string {
  const serving = r.servingAtEnd.slice(0, 12);
  if (r.scenario === "gpu-broken") return r.unavailableMs === 0 && r.servingAtEnd === o.baseline ? "met (0 s, baseline serving)" : `MISSED (want 0 s and ${o.baseline.slice(0, 12)} serving, saw ${serving})`;
  if (r.scenario === "prod-broken") return r.servingAtEnd === o.baseline ? "baseline serving (compare the downtime with prod's start + readiness + verification in the timeline)" : `MISSED (want ${o.baseline.slice(0, 12)} serving, saw ${serving})`;
  return r.servingAtEnd === r.revision && r.exitCode === 0 ? "new revision serving (compare the downtime with prod's start + readiness in the timeline)" : `MISSED (want ${r.revision.slice(0, 12)} serving, exit 0)`;
}

async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  const branch = git(o.source, "rev-parse", "--abbrev-ref", "HEAD");
  const head = git(o.source, "rev-parse", "HEAD");
  await configureStack(o);
  const { url, tunnel } = await prodUrl(o);
  const results: RunResult[] = [];
  try {
    for (const [scenario, rev] of [["good", o.good], ["gpu-broken", o.gpuBroken], ["prod-broken", o.prodBroken]] as const) {
      results.push(await runScenario(o, url, scenario, rev));
    }
  } finally {
    git(o.source, "checkout", "--quiet", branch === "HEAD" ? head : branch);
    if (tunnel && tunnel.exitCode === null && tunnel.pid !== undefined) process.kill(tunnel.pid, "SIGTERM");
  }
  results.forEach(printTimeline);
  console.log("\n| run | prod unavailable (s) | outages | total deploy (s) | deploy exit | serving at the end | goal |\n| --- | ---: | ---: | ---: | ---: | --- | --- |");
  for (const r of results) {
    console.log(`| ${r.scenario} | ${(r.unavailableMs / 1000).toFixed(1)} | ${r.outages} | ${(r.totalMs / 1000).toFixed(1)} | ${r.exitCode} | ${r.servingAtEnd.slice(0, 12)} | ${goalOf(r, o)} |`);
  }
  return results.some((r) => goalOf(r, o).startsWith("MISSED")) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`error: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
