// CLI entry (`npm run verify -- ...`): parse flags, run one lane, print one line per failed check, and
// exit 0 only when every selected check passed. SIGINT/SIGTERM close the SSH tunnel before exiting.

import { HelpRequested } from "../ops/tool/shell";
import { gpuChecksRunHere, parseCliArgs, USAGE, UsageError } from "./cliArgs";
import { Redactor } from "./redact";
import { runVerification } from "./run";
import { killAllTracked } from "./ssh/cleanup";

async function main(): Promise<number> {
  let options: ReturnType<typeof parseCliArgs>;
  try {
    options = parseCliArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(`${error.text}\n`);
      return 0;
    }
    if (error instanceof UsageError) {
      if (error.message) process.stderr.write(`error: ${error.message}\n`);
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  const gpuHere = gpuChecksRunHere(options);
  // On stdout with the progress lines (stderr holds only the failed checks).
  if (gpuHere) process.stdout.write(`${gpuHere}\n`);
  const redactor = new Redactor([options.apiKey]);
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`received ${signal}: closing tunnel and stopping\n`);
    killAllTracked();
    abort.abort();
    process.exitCode = signal === "SIGINT" ? 130 : 143;
    setTimeout(() => process.exit(process.exitCode), 3000).unref();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const report = await runVerification({ ...options, signal: abort.signal });
    for (const line of report.failureLines) process.stderr.write(`${redactor.text(line)}\n`);
    process.stdout.write(`report: ${report.evidenceDir}/report.md\n`);
    if (abort.signal.aborted) return process.exitCode as number;
    return report.ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`error: ${redactor.text(error instanceof Error ? error.message : String(error))}\n`);
    return 2;
  } finally {
    killAllTracked();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fatal: ${String(error)}\n`);
    process.exitCode = 2;
  },
);
