// Flag parsing and --help for the operator-surface tools (status, logs, doctor, tunnel service)
// with commander: a usage error becomes an OpsError with exit code 2, --help prints to the tool's
// output and ends the run with 0. Small on purpose, so it can be swapped for the shared helper in
// ops/tool/main.ts without touching the tools' option definitions.
import { Command, CommanderError } from "commander";
import { OpsContext } from "./context";
import { OpsError } from "./error";

/** What a parse produced: the options, or "help" when --help was printed. */
export type Parsed<T> = { kind: "options"; options: T } | { kind: "help" };

export function parseCommandFlags<T>(program: Command, argv: string[], ctx: Pick<OpsContext, "out">): Parsed<T> {
  let printed = "";
  program
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({ writeOut: (s) => (printed += s), writeErr: (s) => (printed += s), outputError: () => undefined });
  try {
    program.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) {
        printed.trimEnd().split("\n").forEach((l) => ctx.out(l));
        return { kind: "help" };
      }
      throw new OpsError(err.message.replace(/^error: /, ""), `see \`npm run ${program.name()} -- --help\``, 2);
    }
    throw err;
  }
  return { kind: "options", options: program.opts<T & object>() as T };
}

/** A commander option parser for a whole number in [min, max]. */
export function wholeNumber(flag: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) throw new OpsError(`${flag} must be a whole number from ${min} to ${max}, got ${text}`, undefined, 2);
    return n;
  };
}
