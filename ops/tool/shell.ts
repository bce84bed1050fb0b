// The shell every operator tool shares: parse its flags with commander (every flag described, so
// `--help` lists them all; an unknown flag is a usage error, exit 2), run the tool's body, print a
// failure as `error: …` / `what to do: …`, turn it into the exit code, and start `main` when the
// file is run as a script. The one commander helper: tools declare their flags either as a
// ToolSpec (parseToolArgs) or as their own commander Command (parseCommandFlags: status, logs,
// doctor, tunnel service); both go through parseCommander.
import { Command, CommanderError, Option } from "commander";
import type { OpsContext } from "./context";
import { describeError, OpsError } from "./error";

/** One flag: commander's flag syntax (`-y, --yes`, `--stack <name>`) and a one-line description. */
export interface FlagSpec {
  flags: string;
  description: string;
  /** The flag may be given several times; its values are collected into an array. */
  repeatable?: boolean;
  /** Allowed values, listed in --help and checked. */
  choices?: string[];
  /** Accepted but not listed (a flag kept only to refuse it with a clear message). */
  hidden?: boolean;
}

export interface ToolSpec {
  /** How the operator runs it, e.g. `npm run deploy --`. */
  name: string;
  summary: string;
  flags: FlagSpec[];
  /** Extra lines shown after the flags in --help. */
  epilog?: string;
}

/** Thrown by parseToolArgs for --help: the caller prints `text` on stdout and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super("help requested");
    this.name = "HelpRequested";
  }
}

/** What one commander parse gave: the options, --help (with what commander printed), or a usage error. */
type CommanderOutcome = { kind: "options"; options: Record<string, unknown> } | { kind: "help"; printed: string } | { kind: "usage"; message: string };

/** Parses argv (flags only) with a commander program, never letting commander print or exit. */
function parseCommander(cmd: Command, argv: string[]): CommanderOutcome {
  let printed = "";
  cmd
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({ writeOut: (s) => (printed += s), writeErr: (s) => (printed += s), outputError: () => undefined });
  try {
    cmd.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.help") return { kind: "help", printed };
      return { kind: "usage", message: err.message.replace(/^error: /, "") };
    }
    throw err;
  }
  return { kind: "options", options: cmd.opts() };
}

/** The commander program for a tool spec; exported so tests and the docs check read the real flags. */
export function toolCommand(spec: ToolSpec): Command {
  const cmd = new Command(spec.name)
    .description(spec.summary)
    .helpOption("-h, --help", "show this help and exit")
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined });
  for (const f of spec.flags) {
    const opt = new Option(f.flags, f.description);
    if (f.choices) opt.choices(f.choices);
    if (f.hidden) opt.hideHelp();
    if (f.repeatable) opt.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    cmd.addOption(opt);
  }
  cmd.usage(
    spec.flags
      .filter((f) => !f.hidden)
      .map((f) => `[${f.flags.split(", ").pop()}]${f.repeatable ? "..." : ""}`)
      .join(" "),
  );
  return cmd;
}

/** The full --help text of a tool. */
export function toolHelp(spec: ToolSpec): string {
  const cmd = toolCommand(spec);
  return `${cmd.helpInformation()}${spec.epilog ? `\n${spec.epilog}\n` : ""}`.trimEnd();
}

/**
 * Parses argv (flags only) against the spec: returns commander's camelCased values; throws
 * HelpRequested for -h/--help and an OpsError with exit code 2 (showing the usage) for anything
 * it does not know or cannot parse.
 */
export function parseToolArgs(argv: string[], spec: ToolSpec): Record<string, unknown> {
  const outcome = parseCommander(toolCommand(spec), argv);
  if (outcome.kind === "help") throw new HelpRequested(toolHelp(spec));
  if (outcome.kind === "usage") throw usageError(outcome.message, spec);
  return outcome.options;
}

/** What parseCommandFlags produced: the options, or "help" when --help was printed. */
export type Parsed<T> = { kind: "options"; options: T } | { kind: "help" };

/**
 * Parses argv against a tool's own commander program: --help prints commander's help through
 * ctx.out and gives "help" (exit 0); a usage error is an OpsError with exit code 2.
 */
export function parseCommandFlags<T>(program: Command, argv: string[], ctx: Pick<OpsContext, "out">): Parsed<T> {
  const outcome = parseCommander(program, argv);
  if (outcome.kind === "help") {
    outcome.printed
      .trimEnd()
      .split("\n")
      .forEach((l) => {
        ctx.out(l);
      });
    return { kind: "help" };
  }
  if (outcome.kind === "usage") throw new OpsError(outcome.message, `see \`npm run ${program.name()} -- --help\``, 2);
  return { kind: "options", options: outcome.options as T };
}

/** A commander option parser for a whole number in [min, max]. */
export function wholeNumber(flag: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) throw new OpsError(`${flag} must be a whole number from ${min} to ${max}, got ${text}`, undefined, 2);
    return n;
  };
}

/** A usage error (exit 2) whose hint is the tool's usage line and where to find every flag. */
export function usageError(message: string, spec: ToolSpec): OpsError {
  return new OpsError(message, `usage: ${toolCommand(spec).name()} ${toolCommand(spec).usage()}; see \`${spec.name} --help\` for every flag`, 2);
}

/** `--lock-wait <seconds>`: how long a mutating tool waits for Hemma's operator lock (ops/hemma/lock.ts). */
export const LOCK_WAIT_FLAG: FlagSpec = {
  flags: "--lock-wait <seconds>",
  description: "wait up to this long for Hemma's operator lock held by another tool (default 300; 0 = do not wait)",
};
export const STACK_FLAG: FlagSpec = { flags: "--stack <name>", description: "the stack to work on (default hemma)" };

export function lockWaitSeconds(value: unknown, spec: ToolSpec): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d+$/.test(value)) throw usageError(`--lock-wait must be a whole number of seconds, got ${String(value)}`, spec);
  return Number(value);
}

export async function runTool(ctx: OpsContext, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof HelpRequested) {
      ctx.out(err.text);
      return 0;
    }
    ctx.err(describeError(err));
    return err instanceof OpsError ? err.exitCode : 1;
  }
}

export function runAsScript(mod: NodeModule, main: (argv: string[]) => Promise<number>): void {
  if (require.main !== mod) return;
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
/** `npm run <tool> --dry-run` (without `--`) reaches the tool only as npm_config_dry_run. */
export function npmDryRun(env: NodeJS.ProcessEnv): boolean {
  const v = env.npm_config_dry_run;
  return v !== undefined && v !== "" && v !== "false";
}
