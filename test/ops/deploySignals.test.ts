// `npm run deploy` while pulumi runs (issue 8 §5 bullet 4): SIGTERM is handled like SIGINT (one
// graceful cancel passed to pulumi), the tool waits for pulumi to end, never puts config back while
// the stack's backend lock shows an update may still be running, and checks pending operations
// before `up`. Real processes: the tool runs under ts-node and is signalled as a terminal or a
// supervisor would.
// Sources: pulumi v3.248.0 pkg/backend/diy/lock.go (Update holds .pulumi/locks/<stack>/<id>.json
// with pid/username/hostname/timestamp for its whole run); npm `pulumi` 3.265.0 run.js (no signal
// handler: the launcher dies at once on SIGINT/SIGTERM while the CLI it spawned keeps running).
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { main } from "../../ops/cli/deploy";
import { captureContext, commandsOf, gitRepoPerTest, makeSandbox, NS, REPO_ROOT, type Sandbox, SHA, sourceConfig, stackConfig } from "./helpers";

let sb: Sandbox;
const repo = gitRepoPerTest(() => sb?.cleanup());

const pending = {
  version: 3,
  deployment: {
    manifest: { time: "2025-03-14T09:05:00Z", magic: "m", version: "v3.265.0" },
    pending_operations: [
      {
        resource: { urn: "urn:pulumi:hemma::sir-convert-a-lot::docker:index/container:Container::prod", type: "docker:index/container:Container" },
        type: "creating",
      },
    ],
  },
};

describe("deploy and a running update", () => {
  it("refuses while the stack has pending operations, before changing config", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), export: pending });
    const cap = captureContext(sb.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/1 pending operation\(s\) from an interrupted deploy, so a deploy is unsafe/);
    expect(commandsOf(sb.pulumiCalls())).not.toContain("config set");
    expect(commandsOf(sb.pulumiCalls())).not.toContain("up");
  });

  it("leaves the config alone when pulumi's process ended but the stack is still locked by a live update", async () => {
    // What a launcher killed by Ctrl-C looks like: its exit comes back at once, the CLI's lock stays.
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), upLeavesLockPid: process.pid });
    const cap = captureContext(sb.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(sb.pulumiState().config[`${NS}:revision`].value).toBe(repo.head);
    expect(cap.text()).toMatch(new RegExp(`still locked by operator@.* \\(pid ${process.pid}\\).*the config is left as it is`));
    expect(cap.text()).not.toContain("(nothing was deployed)");
  });
});

function startDeploy(detached: boolean): {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  output: () => string;
} {
  let output = "";
  const child = spawn(path.join(REPO_ROOT, "node_modules", ".bin", "ts-node"), ["--transpile-only", "ops/cli/deploy.ts", "--yes"], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...sb.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached,
  });
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, exited, output: () => output };
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("signals during pulumi up (real processes)", () => {
  const upStarted = () => sb.pulumiCalls().some((c) => c.argv[0] === "up");

  it("SIGTERM: passes one SIGINT to pulumi, waits for it, and keeps the revision of the cancelled update", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), upSleepMs: 20000 });
    const run = startDeploy(false);
    try {
      await waitFor(upStarted, 30000);
      run.child.kill("SIGTERM");
      const end = await run.exited;
      expect(end.signal).toBeNull();
      expect(end.code).toBe(1);
      const up = sb.pulumiCalls().find((c) => c.argv[0] === "up")!;
      expect(
        sb
          .pulumiCalls()
          .filter((c) => c.pid === up.pid && c.signal)
          .map((c) => c.signal),
      ).toEqual(["SIGINT"]);
      // pulumi recorded its cancelled update before the tool ended, and the tool did not put config back.
      expect(sb.pulumiState().history[0].result).toBe("failed");
      expect(sb.pulumiState().config[`${NS}:revision`].value).toBe(repo.head);
      expect(run.output()).toMatch(/received SIGTERM: asking pulumi to cancel/);
    } finally {
      if (run.child.exitCode === null) run.child.kill("SIGKILL");
    }
  });

  it("Ctrl-C at the terminal (SIGINT to the whole group): pulumi gets exactly one SIGINT, the tool outlives it", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), upSleepMs: 20000 });
    const run = startDeploy(true);
    try {
      await waitFor(upStarted, 30000);
      process.kill(-run.child.pid!, "SIGINT");
      const end = await run.exited;
      expect(end.signal).toBeNull();
      expect(end.code).toBe(1);
      const up = sb.pulumiCalls().find((c) => c.argv[0] === "up")!;
      expect(
        sb
          .pulumiCalls()
          .filter((c) => c.pid === up.pid && c.signal)
          .map((c) => c.signal),
      ).toEqual(["SIGINT"]);
      expect(sb.pulumiState().history[0].result).toBe("failed");
    } finally {
      if (run.child.exitCode === null) process.kill(-run.child.pid!, "SIGKILL");
    }
  });
});
