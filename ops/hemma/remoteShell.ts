// Runs one POSIX shell script on Hemma in a single ssh round trip, and builds the pieces of such
// scripts. The argv builders are pure (tested by string equality); `runOnHemma` is the only part
// that starts a process. Each step of a script prints its output between markers with its exit
// code, so one connection answers many questions and `splitSections` takes them apart again.

import { sshArgs, sshCommandLine } from "../../lib/commands/ssh";
import { shellQuote } from "../../lib/shellQuote";
import type { OpsContext } from "../tool/context";
import { OpsError } from "../tool/error";
import { type RunResult, runCommand, tail, which } from "../tool/runCommand";
import type { SshTarget } from "./ssh";

/** ssh options every non-interactive tool call uses: never prompt (a prompt would hang the tool). */
export const BATCH_OPTIONS = ["-o", "BatchMode=yes"];

/** `ssh [options] -o BatchMode=yes [-p port] <dest> -- <script>` as argv (no shell involved locally). */
export function sshScriptArgv(target: SshTarget, script: string, extra: string[] = []): string[] {
  return sshArgs(target, [...BATCH_OPTIONS, ...extra], [script]);
}

/** A command line for the remote shell, each word quoted. */
export function remoteWords(words: string[]): string {
  return words.map(shellQuote).join(" ");
}

const MARK = "@@scal";

/** One step of a sectioned script: its output (stderr folded in) between markers, then its exit code. */
export function sectionStep(name: string, words: string[]): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) throw new Error(`internal: section name ${name} is not a plain word`);
  return `printf '\\n${MARK} begin ${name}\\n'; ${remoteWords(words)} 2>&1; printf '\\n${MARK} end ${name} %s\\n' "$?"`;
}

export function sectionedScript(steps: { name: string; words: string[] }[]): string {
  return steps.map((s) => sectionStep(s.name, s.words)).join("\n");
}

export interface Section {
  /** The step's exit code on Hemma (127: the program is not installed there). */
  code: number;
  output: string;
}

/** Takes the output of a sectioned script apart; a step whose end marker is missing is left out. */
export function splitSections(stdout: string): Map<string, Section> {
  const found = new Map<string, Section>();
  const re = new RegExp(`\\n?${MARK} begin (\\S+)\\n([\\s\\S]*?)\\n${MARK} end \\1 (\\d+)\\n`, "g");
  for (const m of stdout.matchAll(re)) found.set(m[1], { code: Number(m[3]), output: m[2].replace(/^\n/, "").replace(/\n$/, "") });
  return found;
}

/** Runs `script` on Hemma; an ssh failure (exit 255) becomes an OpsError saying how to check access. */
export async function runOnHemma(
  target: SshTarget,
  script: string,
  ctx: Pick<OpsContext, "env">,
  opts: { extra?: string[]; onStdout?: (text: string) => void; onStderr?: (text: string) => void } = {},
): Promise<RunResult> {
  const ssh = which("ssh", ctx.env);
  if (!ssh) throw new OpsError("ssh was not found on PATH", "install an OpenSSH client");
  const res = await runCommand(ssh, sshScriptArgv(target, script, opts.extra), { env: ctx.env, onStdout: opts.onStdout, onStderr: opts.onStderr });
  if (res.code === 255) {
    throw new OpsError(
      `could not reach Hemma (ssh ${target.destination}):\n    ${tail(res.stderr || res.stdout)}`,
      `check that \`${sshCommandLine(target, ["true"])}\` works without a password prompt (key in ssh-agent, host alias in ~/.ssh/config); \`npm run doctor\` checks it`,
    );
  }
  return res;
}

/** Turns streamed chunks into whole lines for `emit`; call the returned flush at the end. */
export function lineSink(emit: (line: string) => void): { write: (chunk: string) => void; flush: () => void } {
  let pending = "";
  return {
    write: (chunk) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      lines.forEach(emit);
    },
    flush: () => {
      if (pending) emit(pending);
      pending = "";
    },
  };
}
