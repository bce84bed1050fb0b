// Start-up time of every entry point: how long each npm-script tool and the verifier take from
// process start to exit when they only parse their flags (`--help`, or a usage error for the tools
// that have no --help), run as the npm scripts run them (node launch.js, compiled JavaScript) and,
// for comparison, the way they ran before (ts-node --transpile-only). Bare `node -e ""` is measured
// too: on a loaded machine everything is slower, and "above bare node" is what the tools add.
// Usage: npm run bench:startup [-- --runs 5] [-- --no-ts-node] (ts-node is timed once per entry: it is slow)
// `pulumi` (a pass-through to the pulumi CLI) and `policy:check` (runs the whole program under
// mocks, still on ts-node) are not start-up bound and are left out.
import { spawnSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

interface Entry {
  name: string;
  /** launch.js entry (dist/<entry>.js) and its TypeScript source. */
  entry: string;
  args: string[];
}

export const ENTRIES: Entry[] = [
  { name: "verifier (each deploy runs it 6x)", entry: "verify/cli", args: ["--help"] },
  { name: "verify", entry: "ops/verifyEntry", args: ["--help"] },
  { name: "deploy / preview", entry: "ops/deploy", args: ["--help"] },
  { name: "init", entry: "ops/init", args: ["--help"] },
  { name: "rollback", entry: "ops/rollback", args: ["--help"] },
  { name: "prune", entry: "ops/prune", args: ["--help"] },
  { name: "tunnel", entry: "ops/tunnel", args: ["--help"] },
  { name: "status", entry: "ops/status/main", args: ["--help"] },
  { name: "logs", entry: "ops/logs/main", args: ["--help"] },
  { name: "doctor", entry: "ops/doctor/main", args: ["--help"] },
];

function timeOnce(argv: string[]): number {
  const start = process.hrtime.bigint();
  const res = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, stdio: "ignore", env: { ...process.env, PATH: process.env.PATH }, timeout: 60000 });
  if (res.error) throw res.error;
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(argv: string[], runs: number): number {
  const times = Array.from({ length: runs }, () => timeOnce(argv)).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function main(): void {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf("--runs");
  const runs = runsAt >= 0 ? Math.max(1, Math.min(50, Number(args[runsAt + 1]) || 5)) : 5;
  const withTsNode = !args.includes("--no-ts-node");
  // One run first so a stale dist/ is rebuilt before anything is timed.
  timeOnce([process.execPath, "launch.js", "verify/cli", "--help"]);
  const bare = median([process.execPath, "-e", ""], runs);
  console.log(`start-up, median of ${runs} run(s) (seconds); bare node: ${bare.toFixed(3)}`);
  console.log(`${"entry point".padEnd(36)} ${"compiled".padStart(9)} ${"+bare".padStart(7)}${withTsNode ? ` ${"ts-node".padStart(9)}` : ""}`);
  const tsNode = path.join(ROOT, "node_modules", ".bin", "ts-node");
  let worst = 0;
  for (const e of ENTRIES) {
    const compiled = median([process.execPath, "launch.js", e.entry, ...e.args], runs);
    worst = Math.max(worst, compiled - bare);
    const old = withTsNode ? median([tsNode, "--transpile-only", `${e.entry}.ts`, ...e.args], 1) : undefined;
    console.log(`${e.name.padEnd(36)} ${compiled.toFixed(3).padStart(9)} ${(compiled - bare).toFixed(3).padStart(7)}${old === undefined ? "" : ` ${old.toFixed(3).padStart(9)}`}`);
  }
  console.log(`largest start-up above bare node: ${worst.toFixed(3)} s (goal: under 0.3 s)`);
}

if (require.main === module) main();
