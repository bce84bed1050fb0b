// The verifier's SSH target: `--via ssh://[user@]host[:port]` and `--ssh-opt Key=Value` options,
// built on the project's shared SSH helpers (lib/sshTarget.ts).
import { sshOptionArgs as optionArgs, type SshTarget, sshArgs } from "../../lib/commands/ssh";
import { parseSshUrl } from "../../lib/sshTarget";

export { shellQuote } from "../../lib/shellQuote";
export type { SshTarget };

export function parseSshTarget(via: string): SshTarget {
  try {
    return parseSshUrl(via);
  } catch (err) {
    throw new Error(`--via: ${(err as Error).message}`);
  }
}

/** `-o Key=Value` pairs from `--ssh-opt` values; rejects anything that is not Key=Value. */
export function sshOptionArgs(options: readonly string[]): string[] {
  for (const option of options) {
    if (!/^[A-Za-z][A-Za-z0-9]*=.+$/s.test(option)) {
      throw new Error(`--ssh-opt: expected Key=Value (an ssh -o option), saw ${option}`);
    }
  }
  return optionArgs(options);
}

/** Splits the whitespace-separated `Key=Value` list of the SSH options env var. */
export function sshOptionsFromEnv(value: string | undefined): string[] {
  return (value ?? "").split(/\s+/).filter((s) => s.length > 0);
}

/** Arguments that select the target: options, port, `--`, destination (a command may follow directly). */
export function targetArgs(target: SshTarget, options: readonly string[]): string[] {
  return sshArgs(target, sshOptionArgs(options));
}
