// Runs one program with its stdout and stderr captured together (interleaved as they arrive),
// bounded by a timeout (then SIGKILL): the one spawn-and-capture helper of the box suites and
// bench:box (a tool run through ts-node, a verification command through /bin/sh).
import { spawn } from "node:child_process";
import * as path from "node:path";

export interface CapturedRun {
  code: number | null;
  /** stdout and stderr, in arrival order. */
  output: string;
  ms: number;
}

export function runCaptured(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<CapturedRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

/** An operator tool (`ops/cli/<tool>.ts`) run from its TypeScript source with ts-node. */
export function runToolSource(programDir: string, tool: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CapturedRun> {
  return runCaptured(
    path.join(programDir, "node_modules", ".bin", "ts-node"),
    ["--transpile-only", path.join(programDir, "ops", "cli", `${tool}.ts`), ...args],
    { cwd: programDir, env, timeoutMs },
  );
}
