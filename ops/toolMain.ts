// The shell every operator tool shares: run the tool's body, print a failure as
// `error: …` / `what to do: …`, turn it into the exit code, and start `main` when the file is run
// as a script (the npm scripts run the files directly with ts-node).
import { parseArgs, ParseArgsConfig } from "util";
import { OpsContext } from "./opsContext";
import { describeError, OpsError } from "./opsError";

type FlagOptions = NonNullable<ParseArgsConfig["options"]>;

/** Parses a tool's flags (no positionals); a bad flag is a usage error (exit 2) that shows the usage. */
export function parseToolFlags<T extends FlagOptions>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new OpsError((err as Error).message, usage, 2);
  }
}

/** `--lock-wait <seconds>`: how long a mutating tool waits for Hemma's operator lock (ops/hemmaLock.ts). */
export function lockWaitSeconds(value: string | undefined, usage: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new OpsError(`--lock-wait must be a whole number of seconds, got ${value}`, usage, 2);
  return Number(value);
}

export async function runTool(ctx: OpsContext, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
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
