// Runs external programs (pulumi, ssh, docker, git) with an explicit environment, capturing or
// streaming their output (the spawn core is lib/spawnCapture.ts), and finds executables on a PATH
// the caller controls (tests put fakes first).
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnCapture } from "../../lib/spawnCapture";
import { OpsError } from "./error";

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with each chunk of stdout/stderr as it arrives (output is captured either way). */
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
  /** Hand the terminal to the child (pulumi's progress display); nothing is captured then. */
  inheritStdio?: boolean;
  timeoutMs?: number;
  /** Called once with the started child (e.g. to forward signals to it). */
  onSpawn?: (child: ChildProcess) => void;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Finds `name` on `env.PATH`; returns the absolute path or undefined. */
export function which(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      if (fs.statSync(candidate).isFile()) {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      }
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Runs `file args` to completion. Never rejects for a non-zero exit; rejects only when it cannot start. */
export async function runCommand(file: string, args: string[], opts: RunOptions): Promise<RunResult> {
  const res = await spawnCapture(file, args, opts);
  if (res.spawnError) throw new OpsError(`could not start ${file}: ${res.spawnError.message}`, `check that ${path.basename(file)} is installed and on PATH`);
  return { code: res.code ?? (res.signal ? 128 : 1), stdout: res.stdout, stderr: res.stderr, timedOut: res.timedOut };
}

/** The last few non-empty lines of a command's stderr, for error messages. */
export function tail(text: string, lines = 6): string {
  const kept = text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
  return kept.slice(-lines).join("\n    ");
}
