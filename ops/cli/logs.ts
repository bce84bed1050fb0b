// `npm run logs -- --lane prod [--follow] [--since 10m] [--tail N]`: the lane's container logs from
// Hemma over SSH (one `docker logs` there). Without --since or --tail it shows the last 200 lines.
// --follow keeps streaming until Ctrl-C.

import { Command, Option } from "commander";
import { sshCommandLine } from "../../lib/commands/ssh";
import { LANES } from "../../lib/config/schema";
import { type LogsOptions, logsScript, SINCE_PATTERN } from "../hemma/logsCommand";
import { lineSink, runOnHemma } from "../hemma/remoteShell";
import { type OpsContext, processContext } from "../tool/context";
import { OpsError } from "../tool/error";
import { ToolRun } from "../tool/run";
import { tail as lastLines } from "../tool/runCommand";
import { parseCommandFlags, runAsScript, runTool, wholeNumber } from "../tool/shell";

interface LogsFlags {
  lane: "prod" | "eval";
  follow?: boolean;
  since?: string;
  tail?: number;
  stack?: string;
}

const DEFAULT_TAIL = 200;

function program(): Command {
  return new Command("logs")
    .description("show a lane's container logs from Hemma")
    .addOption(new Option("--lane <lane>", "lane whose container logs to show").choices([...LANES]).makeOptionMandatory())
    .option("-f, --follow", "keep streaming new lines until Ctrl-C")
    .option("--since <when>", "only lines since a duration ago (10m, 1h30m) or a timestamp")
    .option("--tail <n>", `lines from the end (default ${DEFAULT_TAIL} without --since)`, wholeNumber("--tail", 0, 1000000))
    .option("--stack <name>", "stack whose config names the host and container (default hemma)");
}

export function logsOptions(flags: LogsFlags): LogsOptions {
  if (flags.since !== undefined && !SINCE_PATTERN.test(flags.since)) {
    throw new OpsError(
      `--since must be a duration like 10m or 1h30m, or a timestamp like 2026-03-01T10:00:00Z; got ${flags.since}`,
      "see `npm run logs -- --help`",
      2,
    );
  }
  return { follow: flags.follow ?? false, since: flags.since, tail: flags.tail ?? (flags.since ? undefined : DEFAULT_TAIL) };
}

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const parsed = parseCommandFlags<LogsFlags>(program(), argv, ctx);
    if (parsed.kind === "help") return 0;
    const flags = parsed.options;
    const opts = logsOptions(flags);
    const run = new ToolRun({ ...ctx, stack: flags.stack ?? ctx.stack });
    const cfg = await run.config();
    const lane = cfg.lanes[flags.lane];
    if (!lane.enabled)
      throw new OpsError(`the ${flags.lane} lane is disabled in config (lanes.${flags.lane}.enabled=false)`, "choose a deployed lane with --lane");
    const target = await run.hemma();
    // docker replays the container's stdout on stdout and its stderr on stderr; both stream as they come.
    const out = lineSink(ctx.out);
    const err = lineSink(ctx.err);
    const res = await runOnHemma(target, logsScript(lane.containerName, opts), ctx, { onStdout: out.write, onStderr: err.write });
    out.flush();
    err.flush();
    if (res.code !== 0) {
      const detail = lastLines(res.stderr);
      if (/no such container/i.test(detail))
        throw new OpsError(
          `container ${lane.containerName} (${flags.lane} lane) does not exist on Hemma`,
          "`npm run status` shows what runs; `npm run deploy` creates it",
        );
      throw new OpsError(
        `docker logs on Hemma exited ${res.code}:\n    ${detail}`,
        `run \`${sshCommandLine(target, ["docker", "logs", lane.containerName])}\` by hand to see why`,
      );
    }
    return 0;
  });
}

runAsScript(module, (argv) => main(argv));
