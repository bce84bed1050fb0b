// Hostile: the verifier's children under kills (issue 12, Low). Before, SIGKILL of the verifier, or of
// the `sh -c` wrapper the command provider starts, left the `ssh -N` tunnel and its control dir behind,
// and every child (ssh, docker, rocm-smi) inherited the API key variable. Here a real process tree
// (sh -c -> verifier CLI -> ssh -N to the real sshd on 127.0.0.1) is killed mid-run in each way; the
// tunnel's ssh and its private dir must be gone within seconds. Children's environments are recorded
// by wrappers in front of the fake tools and must not hold the key.
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { shellJoin } from "../../lib/shellQuote";
import { runVerification } from "../../verify";
import { processGone, ROOT } from "../verify/cliRun";
import { API_KEY, BIN_DIR, makeLane, REV, type TestLane } from "../verify/harness";
import { SSHD, startSshdWithFakeTools, type TestSshd } from "../verify/sshd";
import { measure, newFigures, printFigures } from "./figures";

const skipSsh = !existsSync(SSHD) && process.env.SIR_CONVERT_A_LOT_SKIP_SSH_TESTS === "1";
const f = newFigures("verifier process tree");
afterAll(() => printFigures(f));

/** Pid of the reaper watching `verifierPid` (a node -e process whose first argument is that pid), if any. */
function reaperOf(verifierPid: number): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[1] === "-e" && argv[3] === String(verifierPid) && !processGone(Number(entry))) return Number(entry);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

async function until(what: () => boolean, ms: number): Promise<number> {
  const started = Date.now();
  while (!what()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

interface Tree {
  wrapper: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

/** `sh -c '<verifier CLI> ...; echo wrapper-done'` (the trailing command keeps sh from exec'ing the verifier). */
function startWrapped(args: string[], env: NodeJS.ProcessEnv): Tree {
  const cli = shellJoin([process.execPath, "-r", "ts-node/register/transpile-only", path.join(ROOT, "verify", "cli.ts"), ...args]);
  const wrapper = spawn("/bin/sh", ["-c", `${cli}; echo wrapper-done`], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  wrapper.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  wrapper.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  // the verifier keeps the pipes open after the wrapper dies: wait for the pipes, not for sh
  const exited = new Promise<void>((resolve) => wrapper.on("close", () => resolve()));
  return { wrapper, output: () => out, exited };
}

async function seen(tree: Tree, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  let m: RegExpMatchArray | null = null;
  await until(() => {
    m = pattern.exec(tree.output());
    return m !== null;
  }, ms).catch(() => {
    throw new Error(`pattern ${pattern} not seen: ${tree.output()}`);
  });
  return m as unknown as RegExpMatchArray;
}

(skipSsh ? describe.skip : describe)("hostile: killing the verifier's process tree (real sshd)", () => {
  let dir: string;
  let sshd: TestSshd;
  let box: Awaited<ReturnType<typeof startSshdWithFakeTools>> | undefined;
  const lanes: TestLane[] = [];
  beforeAll(async () => {
    box = await startSshdWithFakeTools("hostile-tree-", BIN_DIR);
    ({ dir, sshd } = box);
  });
  afterAll(async () => {
    for (const lane of lanes) await lane.cleanup();
    await box?.stop();
  });

  const KILLS: Array<[string, (tree: Tree, verifierPid: number) => void]> = [
    ["SIGKILL of the verifier", (_t, pid) => process.kill(pid, "SIGKILL")],
    ["SIGKILL of the sh -c wrapper", (t) => t.wrapper.kill("SIGKILL")],
    ["SIGKILL of the wrapper's whole process group", (t) => process.kill(-(t.wrapper.pid as number), "SIGKILL")],
  ];

  for (const [name, kill] of KILLS) {
    test(`${name} mid-run leaves no ssh tunnel, no control dir, no reaper`, async () => {
      const lane = await makeLane({ emulator: { jobDurationMs: 60_000, gpuStateDir: path.join(dir, "gpu") } });
      lanes.push(lane);
      await copyFile(path.join(lane.tmp, "docker.json"), path.join(dir, "docker.json"));
      const tree = startWrapped(
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
          "90",
          "--via",
          sshd.via,
          ...sshd.sshOptions.flatMap((o) => ["--ssh-opt", o]),
        ],
        { ...process.env, SIR_CONVERT_A_LOT_API_KEY: API_KEY },
      );
      try {
        const open = await seen(tree, /tunnel open: ssh pid (\d+), (\S+)\/http\.sock/, 40_000);
        const sshPid = Number(open[1]);
        const controlDir = open[2] as string;
        await seen(tree, /smoke v1 pdf->md: started/, 40_000);
        const verifierPid = Number(readFileSync(`/proc/${sshPid}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
        const reaper = reaperOf(verifierPid);
        expect(reaper).toBeDefined();
        expect([processGone(sshPid), existsSync(controlDir)]).toEqual([false, true]);
        await measure(f, name, async () => {
          kill(tree, verifierPid);
          const ms = await until(() => processGone(sshPid) && !existsSync(controlDir) && processGone(verifierPid) && processGone(reaper as number), 10_000);
          expect(ms).toBeLessThan(10_000);
          return "refused" as const;
        });
      } finally {
        if (tree.wrapper.pid) {
          try {
            process.kill(-tree.wrapper.pid, "SIGKILL");
          } catch {
            /* already gone */
          }
        }
        await Promise.race([tree.exited, new Promise((r) => setTimeout(r, 5000))]);
      }
      expect(tree.output()).not.toContain(API_KEY);
    }, 120_000);
  }
});

describe("children get no API key", () => {
  const CASES: Array<[string, (wrappers: string) => Record<string, unknown>]> = [["local docker and rocm-smi", () => ({ checks: ["readiness", "gpu"] })]];
  let wrappers: string;
  let envLog: string;
  beforeAll(() => {
    wrappers = mkdtempSync(path.join(os.tmpdir(), "hostile-env-"));
    envLog = path.join(wrappers, "env.log");
    for (const tool of ["docker", "rocm-smi"]) {
      const file = path.join(wrappers, tool);
      writeFileSync(file, `#!/bin/sh\n{ env; echo ---; } >> ${shellJoin([envLog])}\nexec ${shellJoin([path.join(BIN_DIR, tool)])} "$@"\n`);
      chmodSync(file, 0o755);
    }
  });
  afterAll(() => rmSync(wrappers, { recursive: true, force: true }));

  for (const [name, extra] of CASES) {
    test(`${name}: neither the key variable nor a copy of the key reaches a child`, async () => {
      writeFileSync(envLog, "");
      const lane = await makeLane();
      try {
        await measure(f, `environment of ${name}`, async () => {
          const env = { ...lane.env, PATH: `${wrappers}:${lane.env.PATH ?? ""}`, SIR_CONVERT_A_LOT_API_KEY: API_KEY, SOME_OTHER_NAME: `x${API_KEY}` };
          const report = await runVerification(lane.options({ env, ...extra(wrappers) }));
          expect(report.checks.find((c) => c.name === "gpu")?.status).toBe("passed");
          return "refused" as const;
        });
      } finally {
        await lane.cleanup();
      }
      const log = readFileSync(envLog, "utf8");
      const children = log.split("---\n").filter((e) => e.trim() !== "");
      expect(children.length).toBeGreaterThan(2);
      expect(log).not.toContain(API_KEY);
      expect(log).not.toMatch(/^SIR_CONVERT_A_LOT_API_KEY=/m);
      expect(log).toMatch(/^FAKE_DOCKER_CONFIG=/m); // the rest of the environment is passed on
    }, 60_000);
  }
});
