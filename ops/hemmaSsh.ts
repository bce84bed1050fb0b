// How the tools reach Hemma: the ssh destination, port and options derived from config
// `dockerHost` (ssh://[user@]host[:port]) and `sshOpts`, and shell-quoting of remote commands.
import { OpsError } from "./opsError";

export interface SshTarget {
  /** `host` or `user@host`, as ssh takes it (an alias from ~/.ssh/config works). */
  destination: string;
  port?: string;
  /** Config `sshOpts`, passed to every ssh invocation. */
  options: string[];
  /** The dockerHost URL it came from, for messages. */
  url: string;
}

export function isSshUrl(dockerHost: string): boolean {
  return dockerHost.startsWith("ssh://");
}

export function sshTargetFromDockerHost(dockerHost: string, sshOpts: string[]): SshTarget {
  if (!isSshUrl(dockerHost)) {
    throw new OpsError(`config dockerHost is ${dockerHost}, not an ssh:// URL, so there is no ssh host to use`, "set dockerHost to ssh://<host> (default ssh://hemma)");
  }
  let url: URL;
  try {
    url = new URL(dockerHost);
  } catch {
    throw new OpsError(`config dockerHost ${dockerHost} is not a valid URL`, "use the form ssh://[user@]host[:port]");
  }
  if (!url.hostname) throw new OpsError(`config dockerHost ${dockerHost} names no host`, "use the form ssh://[user@]host[:port]");
  const user = decodeURIComponent(url.username);
  return {
    destination: user ? `${user}@${url.hostname}` : url.hostname,
    port: url.port || undefined,
    options: sshOpts,
    url: dockerHost,
  };
}

/** ssh arguments up to and including the destination. */
export function sshBaseArgs(target: SshTarget, extra: string[] = []): string[] {
  return [...target.options, ...extra, ...(target.port ? ["-p", target.port] : []), target.destination];
}

/** Quotes one word for the remote POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function remoteCommand(argv: string[]): string {
  return argv.map(shellQuote).join(" ");
}
