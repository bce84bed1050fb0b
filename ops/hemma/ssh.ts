// How the tools reach Hemma: the ssh target (destination, port and options) derived from config
// `dockerHost` (ssh://[user@]host[:port]) and `sshOpts`, and running a command there. The argv is
// built by lib/commands/ssh.ts.
import { type SshTarget, sshArgs } from "../../lib/commands/ssh";
import { shellJoin, shellQuote } from "../../lib/shellQuote";
import { isSshUrl, parseSshUrl } from "../../lib/sshTarget";
import { OpsError } from "../tool/error";
import { type RunResult, runCommand, which } from "../tool/runCommand";

export type { SshTarget };
export { isSshUrl, shellQuote };

export function sshTargetFromDockerHost(dockerHost: string, sshOpts: string[]): SshTarget {
  if (!isSshUrl(dockerHost)) {
    throw new OpsError(
      `config dockerHost is ${dockerHost}, not an ssh:// URL, so there is no ssh host to use`,
      "set dockerHost to ssh://<host> (default ssh://hemma)",
    );
  }
  let parsed: ReturnType<typeof parseSshUrl>;
  try {
    parsed = parseSshUrl(dockerHost);
  } catch (err) {
    throw new OpsError(`config dockerHost: ${(err as Error).message}`, "use the form ssh://[user@]host[:port]");
  }
  return {
    destination: parsed.destination,
    port: parsed.port,
    options: sshOpts,
    display: dockerHost,
  };
}

/** A remote command line, each word quoted for the remote POSIX shell. */
export const remoteCommand = shellJoin;

/**
 * Runs `words` on Hemma over ssh in batch mode (never a prompt), each word quoted for the remote
 * shell: the one way the tools run a command there (docker, the operator lock).
 */
export async function runOnHemma(target: SshTarget, words: string[], ctx: { env: NodeJS.ProcessEnv }, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  const ssh = which("ssh", ctx.env);
  if (!ssh) throw new OpsError("ssh was not found on PATH", "install an OpenSSH client");
  return runCommand(ssh, sshArgs(target, ["-o", "BatchMode=yes"], [remoteCommand(words)]), { env: ctx.env, ...opts });
}
