// Flag parsing for the benchmarks (`npm run bench:* -- --help`): the tools' own commander helper
// (ops/tool/shell.ts), so --help lists every flag and exits 0, and an unknown flag prints the usage
// and exits 2, as every operator tool does.
import { describeError } from "../ops/tool/error";
import { HelpRequested, parseToolArgs, type ToolSpec } from "../ops/tool/shell";

/** Parses a benchmark's flags; prints help (exit 0) or a usage error (exit 2) and ends the process. */
export function benchArgs(argv: string[], spec: ToolSpec): Record<string, unknown> {
  try {
    return parseToolArgs(argv, spec);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${err.text}\n`);
      process.exit(0);
    }
    process.stderr.write(`${describeError(err)}\n`);
    process.exit(2);
  }
}
