// A real process that takes Hemma's operator lock (ops/hemma/lock.ts) for the lock tests: holds it
// for HOLD_MS, appending "enter <pid> <ms>" / "leave <pid> <ms>" to HOLDER_LOG when set.
// Env: HOLDER_TOOL, HOLDER_WAIT_SECONDS, HOLDER_PROJECT_DIR, HOLDER_STACK (default the repo, hemma).
import * as fs from "node:fs";
import { withHemmaLock } from "../../ops/hemma/lock";
import { processContext } from "../../ops/tool/context";

const env = process.env;
const ctx = processContext({
  ...(env.HOLDER_PROJECT_DIR ? { projectDir: env.HOLDER_PROJECT_DIR } : {}),
  ...(env.HOLDER_STACK ? { stack: env.HOLDER_STACK } : {}),
});
const log = (word: string) => env.HOLDER_LOG && fs.appendFileSync(env.HOLDER_LOG, `${word} ${process.pid} ${Date.now()}\n`);
withHemmaLock(ctx, { tool: env.HOLDER_TOOL ?? "deploy", waitSeconds: Number(env.HOLDER_WAIT_SECONDS ?? 0) }, async () => {
  log("enter");
  process.stdout.write(`HOLDING ${process.pid}\n`);
  await new Promise((r) => setTimeout(r, Number(env.HOLD_MS ?? 60_000)));
  log("leave");
}).then(
  () => process.stdout.write("RELEASED\n"),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  },
);
