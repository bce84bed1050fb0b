// The one ssh command-line builder of the project (pure; tested by string equality in
// test/commands/ssh.test.ts), used by the operator tools (ops/), the verifier (verify/), the canary
// script and the benches. Real OpenSSH (and the fake test/ops/bin/ssh) reads
// `[options] -- destination [command words]`: once `--` ends the options nothing after the
// destination is parsed as an option (OpenSSH ssh.c: opt_terminated), so the builder emits exactly
// one `--`, right before the destination, and a remote command follows it directly.
import { shellJoin } from "../shellQuote";

/** Where ssh connects: the one SshTarget type (parsed from `ssh://[user@]host[:port]` by lib/sshTarget.ts). */
export interface SshTarget {
  /** `host` or `user@host`, as `ssh` takes it (an ssh_config alias works too). */
  destination: string;
  port?: number;
  /** The URL it came from, for messages. */
  display: string;
  /** ssh arguments every invocation of this target gets first (config `sshOpts`, e.g. `-o ConnectTimeout=15`). */
  options?: readonly string[];
}

/** `-o Key=Value` arguments for ssh. */
export function sshOptionArgs(values: readonly string[]): string[] {
  return values.flatMap((v) => ["-o", v]);
}

/**
 * ssh arguments that select the target: the target's own options, then `extra`, the port, `--`
 * and the destination, then the remote command words, if any (never a second `--`).
 */
export function sshArgs(target: SshTarget, extra: readonly string[] = [], command: readonly string[] = []): string[] {
  return [...(target.options ?? []), ...extra, ...(target.port !== undefined ? ["-p", String(target.port)] : []), "--", target.destination, ...command];
}

/** The ssh command line an operator can paste to run `words` on the target (its options and port included). */
export function sshCommandLine(target: SshTarget, words: readonly string[] = []): string {
  return shellJoin(["ssh", ...sshArgs(target, [], words)]);
}

/** The `-L` forward of a local port to a host and port seen from the target (IPv6 hosts bracketed). */
export function localForward(localPort: number, remoteHost: string, remotePort: number): string {
  const bracketed = remoteHost.includes(":") ? `[${remoteHost}]` : remoteHost;
  return `${localPort}:${bracketed}:${remotePort}`;
}
