// Start-up time of every entry point: how long each npm-script tool and the verifier take from
// process start to exit when they only parse their flags (`--help`, or a usage error for the tools
// that have no --help), run as the npm scripts run them (node launch.js, the esbuild bundle) and,
// for comparison, the way they ran before (ts-node --transpile-only). Bare `node -e ""` is measured
// too: on a loaded machine everything is slower, and "above bare node" is what the tools add. Wall
// time and CPU time (user+system of the process, read at its exit) are printed: on a shared
// machine the CPU time is the steadier figure.
// Usage: npm run bench:startup [-- --runs 5] [-- --no-ts-node] (ts-node is timed once per entry: it is slow)
// `pulumi` (a pass-through to the pulumi CLI) and `policy:check` (runs the whole program under
// mocks, still on ts-node) are not start-up bound and are left out.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { benchArgs } from "./benchFlags";

const ROOT = path.resolve(__dirname, "..");

interface Entry {
  name: string;
  /** launch.js entry (dist/<entry>.js) and its TypeScript source. */
  entry: string;
  args: string[];
}

export const ENTRIES: Entry[] = [
  { name: "verifier (each deploy runs it 6x)", entry: "verify/cli", args: ["--help"] },
  { name: "verify", entry: "ops/cli/verify", args: ["--help"] },
  { name: "deploy / preview", entry: "ops/cli/deploy", args: ["--help"] },
  { name: "init", entry: "ops/cli/init", args: ["--help"] },
  { name: "rollback", entry: "ops/cli/rollback", args: ["--help"] },
  { name: "prune", entry: "ops/cli/prune", args: ["--help"] },
  { name: "tunnel", entry: "ops/cli/tunnel", args: ["--help"] },
  { name: "status", entry: "ops/cli/status", args: ["--help"] },
  { name: "logs", entry: "ops/cli/logs", args: ["--help"] },
  { name: "doctor", entry: "ops/cli/doctor", args: ["--help"] },
];

const PROBE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "bench-startup-"));
const CPU_PROBE = path.join(PROBE_DIR, "cpu.js");
const CPU_FILE = path.join(PROBE_DIR, "cpu.txt");
fs.writeFileSync(
  CPU_PROBE,
  `process.on("exit", () => { const u = process.cpuUsage(); require("fs").appendFileSync(${JSON.stringify(CPU_FILE)}, (u.user + u.system) / 1e6 + "\\n"); });\n`,
);

interface Sample {
  wall: number;
  cpu: number;
}

function timeOnce(argv: string[]): Sample {
  fs.rmSync(CPU_FILE, { force: true });
  const start = process.hrtime.bigint();
  const res = spawnSync(argv[0], argv.slice(1), {
    cwd: ROOT,
    stdio: "ignore",
    env: { ...process.env, NODE_OPTIONS: `--require ${CPU_PROBE}` },
    timeout: 60000,
  });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (res.error) throw res.error;
  // The last line is the entry's own process (ts-node's launcher may be another node before it).
  const cpu = fs.existsSync(CPU_FILE)
    ? fs
        .readFileSync(CPU_FILE, "utf8")
        .trim()
        .split("\n")
        .map(Number)
        .reduce((a, b) => a + b, 0)
    : NaN;
  return { wall, cpu };
}

function median(argv: string[], runs: number): Sample {
  const samples = Array.from({ length: runs }, () => timeOnce(argv));
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { wall: mid(samples.map((s) => s.wall)), cpu: mid(samples.map((s) => s.cpu)) };
}

function main(): void {
  const flags = benchArgs(process.argv.slice(2), {
    name: "npm run bench:startup --",
    summary: "Benchmark: start-up time (wall and CPU, median) of every tool's entry point and the verifier, against bare node and the old ts-node start.",
    flags: [
      { flags: "--runs <n>", description: "runs per entry point, 1-50 (default 5)" },
      { flags: "--no-ts-node", description: "skip timing the old ts-node start of each entry point" },
    ],
  });
  const runs = flags.runs === undefined ? 5 : Math.max(1, Math.min(50, Number(flags.runs) || 5));
  const withTsNode = flags.tsNode !== false;
  // One run first so a stale dist/ is rebuilt before anything is timed.
  timeOnce([process.execPath, "launch.js", "verify/cli", "--help"]);
  const bare = median([process.execPath, "-e", ""], runs);
  const f = (n: number) => n.toFixed(3).padStart(8);
  console.log(`start-up, median of ${runs} run(s), seconds; bare node: wall ${bare.wall.toFixed(3)}, cpu ${bare.cpu.toFixed(3)}`);
  console.log(
    `${"entry point".padEnd(34)} ${"wall".padStart(8)} ${"+bare".padStart(8)} ${"cpu".padStart(8)} ${"+bare".padStart(8)}${withTsNode ? ` ${"ts-node".padStart(8)} ${"cpu".padStart(8)}` : ""}`,
  );
  const tsNode = path.join(ROOT, "node_modules", ".bin", "ts-node");
  let worstWall = 0;
  let worstCpu = 0;
  for (const e of ENTRIES) {
    const c = median([process.execPath, "launch.js", e.entry, ...e.args], runs);
    worstWall = Math.max(worstWall, c.wall - bare.wall);
    worstCpu = Math.max(worstCpu, c.cpu - bare.cpu);
    const old = withTsNode ? median([tsNode, "--transpile-only", `${e.entry}.ts`, ...e.args], 1) : undefined;
    console.log(`${e.name.padEnd(34)} ${f(c.wall)} ${f(c.wall - bare.wall)} ${f(c.cpu)} ${f(c.cpu - bare.cpu)}${old ? ` ${f(old.wall)} ${f(old.cpu)}` : ""}`);
  }
  console.log(`largest start-up above bare node: wall ${worstWall.toFixed(3)} s, cpu ${worstCpu.toFixed(3)} s (goal: under 0.3 s)`);
  fs.rmSync(PROBE_DIR, { recursive: true, force: true });
}

if (require.main === module) main();
