// Spawns the real CLI (`verify/cli.ts` through ts-node) and collects its output and exit status.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv): CliRun {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "verify", "cli.ts"), ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, done };
}

export async function waitForOutput(run: CliRun, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  const until = Date.now() + ms;
  for (;;) {
    const m = pattern.exec(run.stdout());
    if (m) return m;
    if (Date.now() > until || run.child.exitCode !== null) {
      throw new Error(`pattern ${pattern} not seen; stdout: ${run.stdout()} stderr: ${run.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when the process is gone (or only a zombie left for a non-reaping init). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const status = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
    return /^State:\s+Z/m.test(status);
  } catch {
    return true;
  }
}
