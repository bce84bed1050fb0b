// `npm run status`: what runs on Hemma per lane next to what the stack recorded, in one SSH round
// trip (container state and health, revision, uptime and restarts, image, ports), the last
// verification verdict of each check group from the local evidence folders, whether rocm-smi sees
// the GPU, and the images kept for rollback. `--json` prints the report as JSON. Exits 1 when a lane
// is not what the stack says it should be (missing, not running, unhealthy, wrong revision, drift).

import * as path from "node:path";
import { Command } from "commander";
import { sshCommandLine } from "../../lib/commands/ssh";
import { runOnHemma, splitSections } from "../hemma/remoteShell";
import { containerStep, parseContainerSection, parseGpuSection, parseImagesSection, statusScript } from "../hemma/statusProbe";
import { assessLane, renderStatus, rollbackImages, type StatusReport } from "../plan/status";
import { type OpsContext, processContext } from "../tool/context";
import { OpsError } from "../tool/error";
import { ToolRun } from "../tool/run";
import { parseCommandFlags, runAsScript, runTool } from "../tool/shell";
import { readVerdicts } from "./status/verdicts";

interface StatusFlags {
  json?: boolean;
  stack?: string;
}

function program(): Command {
  return new Command("status")
    .description("show what runs on Hemma per lane next to what the stack recorded; exits 1 on drift")
    .option("--json", "print the report as JSON")
    .option("--stack <name>", "stack to compare with (default hemma)");
}

export async function collectStatus(ctx: OpsContext, now: () => Date = () => new Date()): Promise<StatusReport> {
  const run = new ToolRun(ctx);
  const { pulumi } = run;
  const cfg = await run.config();
  const outputs = await pulumi.outputs(false);
  const target = await run.hemma();
  const lanes = Object.entries(outputs.lanes).map(([lane, o]) => ({ lane, containerName: o.containerName, profile: o.profile, hostPort: o.hostPort }));
  const res = await runOnHemma(target, statusScript(lanes, cfg.image.name), ctx);
  const sections = splitSections(res.stdout);
  if (sections.size === 0) {
    throw new OpsError(
      `Hemma's shell answered nothing usable (exit ${res.code}): ${(res.stderr || res.stdout).trim().slice(0, 300)}`,
      `run \`${sshCommandLine(target, ["docker", "ps"])}\` by hand to see why`,
    );
  }
  const images = parseImagesSection(sections.get("images"));
  const imageRows = Array.isArray(images) ? images : [];
  const evidenceRoot = path.resolve(ctx.projectDir, cfg.verification.evidenceRoot);
  const stack = { revision: outputs.revision, imageId: outputs.image?.id };
  const laneReports = lanes.map((l) =>
    assessLane(l, parseContainerSection(sections.get(containerStep(l.lane))), stack, imageRows, readVerdicts(evidenceRoot, l.lane, outputs.revision), now()),
  );
  const inUse = new Set(laneReports.map((l) => l.imageId).filter((id): id is string => Boolean(id)));
  return {
    ok: laneReports.every((l) => l.problems.length === 0),
    stack: ctx.stack,
    revision: outputs.revision,
    lanes: laneReports,
    gpu: parseGpuSection(sections.get("gpu")),
    rollbackImages: rollbackImages(imageRows, inUse),
    imagesError: Array.isArray(images) ? undefined : images.error,
  };
}

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const parsed = parseCommandFlags<StatusFlags>(program(), argv, ctx);
    if (parsed.kind === "help") return 0;
    const flags = parsed.options;
    const report = await collectStatus({ ...ctx, stack: flags.stack ?? ctx.stack });
    if (flags.json) ctx.out(JSON.stringify(report, null, 2));
    else
      renderStatus(report).forEach((l) => {
        ctx.out(l);
      });
    if (!report.ok && !flags.json)
      ctx.err(
        "error: at least one lane is not what the stack recorded (see problem: lines)\n  what to do: `npm run deploy` puts the recorded revision back; `npm run logs -- --lane <lane>` shows why a container is unhealthy",
      );
    return report.ok ? 0 : 1;
  });
}

runAsScript(module, (argv) => main(argv));
