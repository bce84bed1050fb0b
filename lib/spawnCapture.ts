// The one spawn-and-capture core of the project's process runners: starts a program with an
// explicit environment, captures (and optionally streams) its stdout and stderr as UTF-8, ends it
// at a timeout the way the caller says, and always resolves, reporting a failure to start instead of
// throwing. The operator tools' runner (ops/tool/runCommand.ts) and the verifier's host runner
// (verify/host/runner.ts: own process group, tracked by the reaper, SIGKILL of the group at the
// timeout) are thin layers over it.
import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";

export interface CaptureOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Hand the terminal to the child; nothing is captured then. */
  inheritStdio?: boolean;
  /** Start the child in its own process group. */
  detached?: boolean;
  timeoutMs?: number;
  /** How a run that outlives timeoutMs is ended (default: SIGTERM to the child). */
  onTimeout?: (child: ChildProcess) => void;
  /** Called once with the started child (signal forwarding, a reaper's registry). */
  onSpawn?: (child: ChildProcess) => void;
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
}

export interface Captured {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when the program could not be started (then code is null or the platform's). */
  spawnError?: NodeJS.ErrnoException;
  durationMs: number;
}

export function spawnCapture(file: string, args: readonly string[], opts: CaptureOptions): Promise<Captured> {
  const started = Date.now();
  return new Promise((resolve) => {
    const stdio: StdioOptions = opts.inheritStdio ? "inherit" : ["ignore", "pipe", "pipe"];
    const child = spawn(file, [...args], { env: opts.env, cwd: opts.cwd, stdio, detached: opts.detached ?? false });
    opts.onSpawn?.(child);
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      opts.onStdout?.(chunk);
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      opts.onStderr?.(chunk);
    });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => {
              timedOut = true;
              if (opts.onTimeout) opts.onTimeout(child);
              else child.kill("SIGTERM");
            },
            Math.max(1, opts.timeoutMs),
          );
    child.on("error", (err: NodeJS.ErrnoException) => {
      spawnError ??= err;
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ...(spawnError ? { spawnError } : {}), durationMs: Date.now() - started });
    });
  });
}
