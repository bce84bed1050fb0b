// Hemma's operator lock (ops/hemma/lock.ts) with real concurrent processes: the tools exclude each
// other, a waiter names the holder, the lock is released on exit and on SIGTERM, and it is taken
// over only when provably stale (same host + dead pid, or an expired lease). "Hemma" is the fake
// ssh running the lock script here (test/ops/bin/ssh), and a real sshd on 127.0.0.1 for the race.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main as deployMain } from "../../ops/cli/deploy";
import { main as initMain } from "../../ops/cli/init";
import { main as pruneMain } from "../../ops/cli/prune";
import { main as rollbackMain } from "../../ops/cli/rollback";
import { startSshdWithFakeTools } from "../verify/sshd";
import { captureContext, commandsOf, loadHistory, makeSandbox, REPO_ROOT, type Sandbox, SHA, stackConfig } from "./helpers";

const TS_NODE = path.join(REPO_ROOT, "node_modules", ".bin", "ts-node");
// Left out only on purpose (as the other real-sshd suites): without sshd and without the opt-out it runs and fails.
const HAVE_SSHD = fs.existsSync("/usr/sbin/sshd") || process.env.SIR_CONVERT_A_LOT_SKIP_SSH_TESTS !== "1";

let sb: Sandbox;
const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  sb?.cleanup();
});

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Run {
  let output = "";
  const child = spawn(TS_NODE, ["--transpile-only", file, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { child, output: () => output, exited };
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const lockDir = () => sb.env.SIR_CONVERT_A_LOT_HEMMA_LOCK_DIR as string;
const owner = () => JSON.parse(fs.readFileSync(path.join(lockDir(), "owner"), "utf8"));
const holder = (extra: NodeJS.ProcessEnv = {}) => run("test/ops/lockHolder.ts", [], { ...sb.env, ...extra });

function pruneSandbox(): Sandbox {
  return makeSandbox({ config: stackConfig(SHA.C), history: loadHistory() }, { images: [], containers: [] });
}

describe("Hemma's operator lock (real processes)", () => {
  it("a prune started during a deploy says who holds the lock and gives up after --lock-wait", async () => {
    sb = pruneSandbox();
    const a = holder({ HOLDER_TOOL: "deploy" });
    await waitFor(() => a.output().includes("HOLDING"), 30_000);
    expect(owner()).toMatchObject({ pid: a.child.pid, tool: "deploy", user: os.userInfo().username, host: os.hostname() });
    const b = run("ops/cli/prune.ts", ["--dry-run", "--lock-wait", "1"], sb.env);
    expect(await b.exited).toBe(1);
    expect(b.output()).toContain(
      `waiting for Hemma's operator lock, held by ${os.userInfo().username}@${os.hostname()} (pid ${a.child.pid}, npm run deploy) since`,
    );
    expect(b.output()).toMatch(/error: Hemma's operator lock is held by .*pid \d+, npm run deploy/);
    expect(b.output()).toContain("what to do:");
    // prune did no docker work on Hemma while the deploy held the lock
    expect(sb.sshCalls()).toHaveLength(0);
  }, 120_000);

  it("a waiting prune runs once the holder is done, and the lock is gone after both", async () => {
    sb = pruneSandbox();
    const a = holder();
    await waitFor(() => a.output().includes("HOLDING"), 30_000);
    const b = run("ops/cli/prune.ts", ["--dry-run", "--lock-wait", "60"], sb.env);
    await waitFor(() => b.output().includes("waiting for Hemma's operator lock"), 30_000);
    expect(b.output()).not.toContain("Dry run:");
    a.child.kill("SIGTERM");
    expect(await a.exited).toBe(143);
    expect(await b.exited).toBe(0);
    expect(b.output()).toContain(`held by ${os.userInfo().username}@${os.hostname()} (pid ${a.child.pid}`);
    expect(b.output()).toContain("Dry run:");
    expect(fs.existsSync(lockDir())).toBe(false);
  }, 120_000);

  it("SIGTERM releases the lock before the tool exits", async () => {
    sb = pruneSandbox();
    const a = holder();
    await waitFor(() => a.output().includes("HOLDING"), 30_000);
    expect(fs.existsSync(lockDir())).toBe(true);
    a.child.kill("SIGTERM");
    expect(await a.exited).toBe(143);
    expect(a.output()).toContain("received SIGTERM: releasing Hemma's operator lock");
    expect(fs.existsSync(lockDir())).toBe(false);
  }, 120_000);

  it("takes over a lock whose holder ran on this machine and is dead (SIGKILL leaves it behind)", async () => {
    sb = pruneSandbox();
    const a = holder();
    await waitFor(() => a.output().includes("HOLDING"), 30_000);
    a.child.kill("SIGKILL");
    await a.exited;
    expect(owner().pid).toBe(a.child.pid);
    const b = holder({ HOLDER_TOOL: "prune", HOLD_MS: "10" });
    expect(await b.exited).toBe(0);
    expect(b.output()).toContain(`took over the Hemma operator lock from ${os.userInfo().username}@${os.hostname()} (pid ${a.child.pid}, npm run deploy)`);
    expect(b.output()).toContain("its process is gone from this machine");
  }, 120_000);

  it("another machine's lock: refused while its lease runs, taken over once it expired", async () => {
    sb = pruneSandbox();
    const now = Math.floor(Date.now() / 1000);
    const plant = (expires: number) => {
      fs.rmSync(lockDir(), { recursive: true, force: true });
      fs.mkdirSync(lockDir(), { recursive: true });
      fs.writeFileSync(path.join(lockDir(), "token"), "someone-elses\n");
      // pid 1 is alive here, but on another host it proves nothing: only the lease counts.
      fs.writeFileSync(
        path.join(lockDir(), "owner"),
        `${JSON.stringify({ user: "ada", host: "other-laptop", pid: 999999, tool: "rollback", since: "2026-01-01T00:00:00.000Z" })}\n`,
      );
      fs.writeFileSync(path.join(lockDir(), "expires"), `${expires}\n`);
    };
    plant(now + 600);
    const refused = holder({ HOLD_MS: "10" });
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toMatch(/held by ada@other-laptop \(pid 999999, npm run rollback\) since 2026-01-01T00:00:00.000Z; its lease runs \d+s more/);
    expect(owner().host).toBe("other-laptop");

    plant(now - 5);
    const taker = holder({ HOLD_MS: "10" });
    expect(await taker.exited).toBe(0);
    expect(taker.output()).toMatch(/took over the Hemma operator lock from ada@other-laptop .*its lease expired \d+s ago/);
  }, 120_000);

  it("the holder renews its lease: a short lease does not expire while the holder runs", async () => {
    sb = pruneSandbox();
    const a = holder({ SIR_CONVERT_A_LOT_HEMMA_LOCK_LEASE_SECONDS: "3" });
    await waitFor(() => a.output().includes("HOLDING"), 30_000);
    await new Promise((r) => setTimeout(r, 6000)); // twice the lease
    // Pretend to be another machine so only the lease could free it.
    fs.writeFileSync(path.join(lockDir(), "owner"), fs.readFileSync(path.join(lockDir(), "owner"), "utf8").replace(os.hostname(), "elsewhere"));
    const b = holder({ HOLD_MS: "10" });
    const code = await b.exited;
    if (code !== 1) throw new Error(`a: ${a.output()}\nb: ${b.output()}`);
    expect(b.output()).toContain("held by");
    a.child.kill("SIGTERM");
    expect(await a.exited).toBe(143);
  }, 120_000);
});

(HAVE_SSHD ? describe : describe.skip)("Hemma's operator lock over a real sshd", () => {
  it("four processes racing for the lock hold it one at a time", async () => {
    const server = await startSshdWithFakeTools("ops-lock-sshd-", path.join(REPO_ROOT, "test", "bin"));
    try {
      const project = path.join(server.dir, "project");
      fs.mkdirSync(project);
      const opts = server.sshd.sshOptions.flatMap((o) => ["-o", o]);
      fs.writeFileSync(
        path.join(project, "Pulumi.race.yaml"),
        `config:\n  sir-convert-a-lot:dockerHost: ${server.sshd.via}\n  sir-convert-a-lot:sshOpts:\n${opts.map((o) => `    - "${o}"`).join("\n")}\n`,
      );
      const log = path.join(server.dir, "holders.log");
      const env = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOLDER_PROJECT_DIR: project,
        HOLDER_STACK: "race",
        HOLDER_WAIT_SECONDS: "60",
        HOLD_MS: "400",
        HOLDER_LOG: log,
        SIR_CONVERT_A_LOT_HEMMA_LOCK_DIR: path.join(server.dir, "hemma-var-tmp", "ops.lock"),
      };
      const runs = [0, 1, 2, 3].map(() => run("test/ops/lockHolder.ts", [], env));
      const codes = await Promise.all(runs.map((r) => r.exited));
      expect([codes, runs.map((r) => (codes[runs.indexOf(r)] === 0 ? "" : r.output()))]).toEqual([
        [0, 0, 0, 0],
        ["", "", "", ""],
      ]);
      const events = fs
        .readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split(" "));
      expect(events).toHaveLength(8);
      // Strictly alternating enter/leave of the same process: never two holders at once.
      for (let i = 0; i < events.length; i += 2) {
        expect(events[i][0]).toBe("enter");
        expect(events[i + 1][0]).toBe("leave");
        expect(events[i + 1][1]).toBe(events[i][1]);
      }
      expect(runs.some((r) => r.output().includes("waiting for Hemma's operator lock"))).toBe(true);
      expect(fs.existsSync(env.SIR_CONVERT_A_LOT_HEMMA_LOCK_DIR)).toBe(false);
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe("every mutating tool takes the lock before it touches the stack", () => {
  const plantForeign = () => {
    const dir = sb.env.SIR_CONVERT_A_LOT_HEMMA_LOCK_DIR as string;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "token"), "t\n");
    fs.writeFileSync(
      path.join(dir, "owner"),
      `${JSON.stringify({ user: "ada", host: "other-laptop", pid: 7, tool: "deploy", since: "2026-01-01T00:00:00.000Z" })}\n`,
    );
    fs.writeFileSync(path.join(dir, "expires"), `${Math.floor(Date.now() / 1000) + 600}\n`);
  };
  it.each([
    ["deploy", deployMain, ["--yes"]],
    ["preview", deployMain, ["--preview"]],
    ["rollback", rollbackMain, ["--yes"]],
    ["prune", pruneMain, ["--yes"]],
    ["init", initMain, []],
  ] as const)("%s refuses while another operator holds it, having run no pulumi command", async (_name, main, args) => {
    sb = pruneSandbox();
    plantForeign();
    const cap = captureContext(sb.env);
    expect(await main([...args, "--lock-wait", "0"], cap.ctx)).toBe(1);
    expect(cap.text()).toContain("error: Hemma's operator lock is held by ada@other-laptop (pid 7, npm run deploy)");
    expect(commandsOf(sb.pulumiCalls())).toEqual([]);
    expect(owner().host).toBe("other-laptop");
  });

  it("a deploy releases the lock when it is done", async () => {
    sb = pruneSandbox();
    const cap = captureContext(sb.env);
    await deployMain(["--yes"], cap.ctx);
    expect(sb.lockCalls().length).toBeGreaterThanOrEqual(2);
    expect(fs.existsSync(lockDir())).toBe(false);
  });
});
