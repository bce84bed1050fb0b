// Hostile: the GPU lock file under crashes, reboots and concurrent waiters (issue 12, Medium). Before,
// an empty or garbage file, or a live unrelated PID (reused after a reboot), was never taken over, and
// two waiters could both take over a dead holder (4 to 7 overlapping holders in 10 rounds of 8
// processes). Here real node processes race for the lock in 10 rounds of 8, each round starting from
// a hostile leftover; holders append to a shared log (O_APPEND) and the overlap count must be 0.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import ts from "typescript";
import { currentBootId, GpuLock, processStartTime } from "../../verify/gpuLock";
import { measure, newFigures, printFigures } from "./figures";

const f = newFigures("GPU lock");
let dir: string;
let lockModule: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-gpulock-"));
  // The children run the real module, transpiled once (it imports only node built-ins).
  const source = fs.readFileSync(path.join(__dirname, "..", "..", "verify", "gpuLock.ts"), "utf8");
  lockModule = path.join(dir, "gpuLock.js");
  fs.writeFileSync(lockModule, ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText);
});
afterAll(() => {
  printFigures(f);
  fs.rmSync(dir, { recursive: true, force: true });
});

// argv: module, lock file, log, hold ms, mode (normal | crash), wait ms
const CHILD = `
const fs = require("node:fs");
const [mod, file, log, holdMs, mode, waitMs] = process.argv.slice(1);
const { GpuLock } = require(mod);
const lock = new GpuLock({ file, pollMs: 5, waitMs: Number(waitMs), leaseMs: 2000 });
lock.run(async () => {
  fs.appendFileSync(log, "S " + process.pid + "\\n");
  await new Promise((r) => setTimeout(r, Number(holdMs)));
  if (mode === "crash") { fs.appendFileSync(log, "C " + process.pid + "\\n"); process.kill(process.pid, "SIGKILL"); }
  fs.appendFileSync(log, "E " + process.pid + "\\n");
}).then(() => process.exit(0), (e) => { process.stderr.write(String(e.message) + "\\n"); process.exit(3); });
`;

interface Round {
  overlaps: number;
  turns: number;
  failures: string[];
  ms: number;
}

function runChild(
  file: string,
  log: string,
  mode: "normal" | "crash",
  waitMs: number,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-e", CHILD, lockModule, file, log, "25", mode, String(waitMs)], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), waitMs + 20_000);
    child.on("exit", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stderr });
    });
  });
}

/** Holders at once, from the shared log: S starts a turn, E or C (crashed while holding) ends it. */
function countOverlaps(log: string): { overlaps: number; turns: number } {
  const holding = new Set<string>();
  let overlaps = 0;
  let turns = 0;
  for (const line of fs.readFileSync(log, "utf8").split("\n").filter(Boolean)) {
    const [event, pid] = line.split(" ") as [string, string];
    if (event === "S") {
      turns += 1;
      if (holding.size > 0) overlaps += 1;
      holding.add(pid);
    } else holding.delete(pid);
  }
  return { overlaps, turns };
}

async function round(name: string, seed: (lockFile: string) => void, crashes: number, waitMs = 15_000): Promise<Round> {
  const roundDir = fs.mkdtempSync(path.join(dir, "round-"));
  const file = path.join(roundDir, "gpu.lock");
  const log = path.join(roundDir, "holders.log");
  fs.writeFileSync(log, "");
  seed(file);
  let result!: Round;
  await measure(f, name, async () => {
    const t0 = Date.now();
    const exits = await Promise.all(Array.from({ length: 8 }, (_, i) => runChild(file, log, i < crashes ? "crash" : "normal", waitMs)));
    const failures = exits.filter((e, i) => (i < crashes ? e.signal !== "SIGKILL" : e.code !== 0)).map((e) => `${e.code ?? e.signal}: ${e.stderr.trim()}`);
    result = { ...countOverlaps(log), failures, ms: Date.now() - t0 };
    return "accepted" as const;
  });
  return result;
}

const record = (over: Partial<Record<string, unknown>>): string =>
  `${JSON.stringify({ pid: process.pid, bootId: currentBootId(), startTime: processStartTime(process.pid), token: "t", leaseMs: 2000, ...over })}\n`;

/** A pid that is certainly dead: a child that exited. */
function deadPid(): number {
  return Number(require("node:child_process").spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
}

const HOSTILE_LEFTOVERS: Array<[string, (file: string) => void, number]> = [
  ["no leftover", () => undefined, 0],
  ["empty generation file", (file) => fs.writeFileSync(`${file}.1`, ""), 0],
  [
    "garbage generation file and garbage at the configured path",
    (file) => {
      fs.writeFileSync(`${file}.7`, "\u0000\u0001garbage{");
      fs.writeFileSync(file, "zzz");
    },
    0,
  ],
  [
    "live unrelated pid recorded by an earlier boot (pid 1)",
    (file) => fs.writeFileSync(`${file}.3`, record({ pid: 1, bootId: "00000000-0000-0000-0000-000000000000", startTime: "1" })),
    0,
  ],
  ["live pid reused by another process (start time differs)", (file) => fs.writeFileSync(`${file}.4`, record({ startTime: "1" })), 0],
  ["dead holder: every waiter races the takeover", (file) => fs.writeFileSync(`${file}.5`, record({ pid: deadPid() })), 0],
  [
    "hung holder: live, same process, lease expired",
    (file) => {
      fs.writeFileSync(`${file}.6`, record({}));
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(`${file}.6`, old, old);
    },
    0,
  ],
  ["two holders crash while holding (SIGKILL)", () => undefined, 2],
  ["dead holder and three crashes", (file) => fs.writeFileSync(`${file}.9`, record({ pid: deadPid() })), 3],
  ["released record from an old run, one crash", (file) => fs.writeFileSync(`${file}.12`, "released\n"), 1],
];

describe("hostile GPU lock: 10 rounds of 8 real processes", () => {
  const rounds: Array<{ name: string } & Round> = [];
  afterAll(() => {
    const overlaps = rounds.reduce((n, r) => n + r.overlaps, 0);
    const worst = rounds.reduce((a, r) => (r.ms > a.ms ? r : a), { ms: 0, name: "" } as { ms: number; name: string });
    process.stdout.write(
      `\nhostile GPU lock: ${rounds.length} rounds x 8 processes, ${rounds.reduce((n, r) => n + r.turns, 0)} turns, ${overlaps} overlapping holders; slowest round ${worst.ms} ms (${worst.name})\n`,
    );
  });

  for (const [name, seed, crashes] of HOSTILE_LEFTOVERS) {
    test(`${name}: every process gets one turn, never two holders`, async () => {
      const r = await round(name, seed, crashes);
      rounds.push({ name, ...r });
      expect(r.failures).toEqual([]);
      expect(r.overlaps).toBe(0);
      expect(r.turns).toBe(8);
    }, 60_000);
  }
});

describe("a live holder is respected", () => {
  test("waiters fail at the wait limit naming the holder while this process holds the lock", async () => {
    const roundDir = fs.mkdtempSync(path.join(dir, "held-"));
    const file = path.join(roundDir, "gpu.lock");
    const log = path.join(roundDir, "holders.log");
    fs.writeFileSync(log, "");
    const holder = new GpuLock({ file, pollMs: 5, leaseMs: 400 });
    await measure(f, "live holder (lease renewed) for 1.5 s: 3 waiters", () =>
      holder.run(async () => {
        // longer than the lease: renewal keeps it ours
        const exits = await Promise.all([0, 1, 2].map(() => runChild(file, log, "normal", 1500)));
        for (const e of exits) {
          expect(e.code).toBe(3);
          expect(e.stderr).toContain(`held by pid ${process.pid}`);
        }
        expect(fs.readFileSync(log, "utf8")).toBe("");
        return "refused" as const;
      }),
    );
  }, 30_000);

  test("a holder whose lease was taken over fails its job instead of trusting shared samples", async () => {
    const roundDir = fs.mkdtempSync(path.join(dir, "lost-"));
    const file = path.join(roundDir, "gpu.lock");
    const lock = new GpuLock({ file, pollMs: 5, leaseMs: 200 });
    await measure(f, "holder blocked past its lease", async () => {
      await expect(
        lock.run(async () => {
          const log = path.join(roundDir, "log");
          fs.writeFileSync(log, "");
          const waiter = runChild(file, log, "normal", 10_000);
          await new Promise((r) => setTimeout(r, 1000)); // the waiter starts and polls our (renewed) lease
          const until = Date.now() + 2500;
          while (Date.now() < until) {
            /* block the event loop: no renewal while the waiter polls */
          }
          const exit = await waiter;
          expect(exit.code).toBe(0);
          expect(fs.readFileSync(log, "utf8")).toMatch(/^S \d+\nE \d+\n$/);
          return "done";
        }),
      ).rejects.toThrow(/taken over during the job/);
      return "refused" as const;
    });
  }, 30_000);
});
