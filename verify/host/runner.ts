// Runs host commands (rocm-smi, docker) locally, or on the SSH target with `ssh <target> -- <cmd>`, each in
// its own process group that dies with the verifier (ssh/cleanup.ts), with an environment without the API key.
// The spawn-and-capture core is lib/spawnCapture.ts.
import type { ChildProcess } from "node:child_process";
import { spawnCapture } from "../../lib/spawnCapture";
import { killGroup, trackChild, untrackChild } from "../ssh/cleanup";
import { type SshTarget, shellQuote, targetArgs } from "../ssh/target";

export interface CommandResult {
  /** Command line as shown in evidence and failure lines. */
  display: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Set when the command could not be started or was killed at its timeout. */
  error?: string;
}

export interface HostRunner {
  readonly where: string;
  run(argv: readonly string[], timeoutMs: number): Promise<CommandResult>;
}

/** Command line for evidence and failure lines; long inline scripts are abbreviated. */
export function displayCommand(argv: readonly string[]): string {
  return argv.map((a) => (a.length > 200 || a.includes("\n") ? `'<${a.split("\n").length}-line script>'` : shellQuote(a))).join(" ");
}

async function runCaptured(cmd: string, args: readonly string[], display: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CommandResult> {
  let started: ChildProcess | undefined;
  const res = await spawnCapture(cmd, args, {
    env,
    // Own process group, tracked: killed with its children at the timeout and when the verifier ends.
    detached: true,
    timeoutMs: Math.max(1, timeoutMs),
    onSpawn: (child) => {
      started = child;
      trackChild(child);
    },
    onTimeout: (child) => killGroup(child, "SIGKILL"),
  });
  if (started) untrackChild(started);
  const error = res.spawnError
    ? res.spawnError.code === "ENOENT"
      ? `command not found: ${cmd}`
      : res.spawnError.message
    : res.timedOut
      ? `timed out after ${(timeoutMs / 1000).toFixed(1)}s`
      : undefined;
  return { display, exitCode: res.code, stdout: res.stdout, stderr: res.stderr, durationMs: res.durationMs, ...(error !== undefined ? { error } : {}) };
}

export class LocalRunner implements HostRunner {
  readonly where = "local host";
  constructor(private readonly env: NodeJS.ProcessEnv) {}
  run(argv: readonly string[], timeoutMs: number): Promise<CommandResult> {
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new Error("empty command");
    return runCaptured(cmd, args, displayCommand(argv), this.env, timeoutMs);
  }
}

export class SshRunner implements HostRunner {
  readonly where: string;
  constructor(
    private readonly target: SshTarget,
    private readonly sshOptions: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
    /** ControlPath of the tunnel's master connection (reused when present). */
    private readonly controlPath?: string,
  ) {
    this.where = target.display;
  }
  run(argv: readonly string[], timeoutMs: number): Promise<CommandResult> {
    const remote = argv.map(shellQuote).join(" ");
    const control = this.controlPath ? ["-o", "ControlMaster=no", "-o", `ControlPath=${this.controlPath}`] : [];
    // targetArgs ends with `-- <destination>`: ssh parses no options after it, so the command follows directly.
    const args = ["-o", "BatchMode=yes", ...control, ...targetArgs(this.target, this.sshOptions), remote];
    return runCaptured("ssh", args, `ssh ${this.target.display} -- ${displayCommand(argv)}`, this.env, timeoutMs);
  }
}

export function describeCommandFailure(result: CommandResult): string {
  if (result.error) return `${result.display}: ${result.error}`;
  const stderr = result.stderr.trim().split("\n").slice(-2).join(" | ");
  return `${result.display}: exit ${result.exitCode}${stderr ? ` (${stderr})` : ""}`;
}
