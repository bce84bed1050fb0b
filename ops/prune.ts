// `npm run prune`: removes runtime images on Hemma that are older than the last N deployed
// revisions (config image.keepRevisions, default 5), never one a container uses.
// Flags: --dry-run, --keep <n>, --stack <name>.
import { dockerExecFor, inspectImagesById, listContainers, listImages, removeImage } from "./hemmaDocker";
import { fetchAllHistory } from "./historyFetch";
import { toRecords } from "./historyRecords";
import { OpsContext, processContext, PROJECT_NAMESPACE } from "./opsContext";
import { describeError, OpsError } from "./opsError";
import { parseToolFlags, runAsScript, runTool } from "./toolMain";
import { planPrune, revisionsToKeep } from "./prunePlan";
import { PulumiCli } from "./pulumiCli";
import { parseOpsConfig } from "./stackConfig";

export interface PruneOptions {
  dryRun: boolean;
  keep?: number;
  stack?: string;
}

const USAGE = "usage: npm run prune -- [--dry-run] [--keep <n>] [--stack <name>]";

export function parsePruneArgs(argv: string[]): PruneOptions {
  const values = parseToolFlags(
    argv,
    { "dry-run": { type: "boolean", default: false }, keep: { type: "string" }, stack: { type: "string" } },
    USAGE,
  );
  let keep: number | undefined;
  if (values.keep !== undefined) {
    if (!/^\d+$/.test(values.keep) || Number(values.keep) < 1) throw new OpsError(`--keep must be a whole number of at least 1, got ${values.keep}`, USAGE, 2);
    keep = Number(values.keep);
  }
  return { dryRun: values["dry-run"] ?? false, keep, stack: values.stack };
}

export async function prune(opts: PruneOptions, ctx: OpsContext): Promise<number> {
  const pulumi = new PulumiCli(ctx);
  const cfg = parseOpsConfig(await pulumi.config(), PROJECT_NAMESPACE);
  const n = opts.keep ?? cfg.image.keepRevisions;
  const records = toRecords(await fetchAllHistory(pulumi), PROJECT_NAMESPACE);
  const keep = revisionsToKeep(records, cfg.revision, n);

  const docker = dockerExecFor(cfg.dockerHost, cfg.sshOpts, ctx);
  const [images, containers] = [await listImages(docker, cfg.image.name), await listContainers(docker)];
  const labels = await inspectImagesById(docker, [...new Set(images.map((i) => i.ID))]);
  const plan = planPrune(images, containers, keep, labels);
  const removals = plan.filter((d) => d.action === "remove");

  ctx.out(`${cfg.image.name} images on Hemma (${docker.where}); keeping the last ${n} deployed revision(s) and anything in use:`);
  if (plan.length === 0) ctx.out("  (none)");
  for (const d of plan) ctx.out(`  ${d.flag ? "FLAG  " : d.action === "keep" ? "keep  " : "REMOVE"} ${d.ref}  ${d.id.replace(/^sha256:/, "").slice(0, 12)}  ${d.reason}`);
  const flagged = plan.filter((d) => d.flag);
  if (flagged.length > 0) {
    ctx.err(`warning: ${flagged.length} image(s) are tagged with one revision but labelled with another (${flagged.map((d) => d.ref).join(", ")}); a deploy or rollback refuses them. Remove the tag by hand once you know what it holds.`);
  }

  if (opts.dryRun) {
    ctx.out(`Dry run: ${removals.length} image(s) would be removed; nothing changed.`);
    return 0;
  }
  const failed: string[] = [];
  for (const d of removals) {
    try {
      await removeImage(docker, d.ref);
      ctx.out(`removed ${d.ref}`);
    } catch (err) {
      failed.push(d.ref);
      ctx.err(describeError(err));
    }
  }
  if (failed.length > 0) {
    throw new OpsError(`${failed.length} of ${removals.length} image(s) could not be removed: ${failed.join(", ")}`, "see the docker errors above; re-run `npm run prune -- --dry-run` to see what is left");
  }
  ctx.out(`Removed ${removals.length} image(s); kept ${plan.length - removals.length}. Run \`${docker.where.startsWith("ssh ") ? `${docker.where} docker` : docker.where} image prune\` to drop dangling layers too.`);
  return 0;
}

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const opts = parsePruneArgs(argv);
    return await prune(opts, { ...ctx, stack: opts.stack ?? ctx.stack });
  });
}

runAsScript(module, (argv) => main(argv));
