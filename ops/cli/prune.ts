// `npm run prune`: removes runtime images on Hemma that are older than the last N deployed
// revisions (config image.keepRevisions, default 5), never one a container uses.
// Shows its plan and asks before removing (--yes for scripts; refuses without a terminal). A dry
// run is honoured however it is given: `-- --dry-run`, or `npm run prune --dry-run`, where npm
// swallows the flag and sets npm_config_dry_run=true instead. Refuses when the history holds no
// deployed revision (it would keep nothing). Flags: --dry-run, --yes, --keep <n>, --stack <name>.

import { dockerCommandLine, inspectImagesById, listContainers, listImages, removeImage } from "../hemma/docker";
import { withHemmaLock } from "../hemma/lock";
import { isGoodDeploy, toRecords } from "../plan/historyRecords";
import { planPrune, revisionsToKeep } from "../plan/prune";
import { fetchAllHistory } from "../pulumi/historyFetch";
import { type OpsContext, PROJECT_NAMESPACE, processContext } from "../tool/context";
import { describeError, OpsError } from "../tool/error";
import { ToolRun } from "../tool/run";
import { LOCK_WAIT_FLAG, lockWaitSeconds, npmDryRun, parseToolArgs, runAsScript, runTool, STACK_FLAG, type ToolSpec, usageError } from "../tool/shell";

export interface PruneOptions {
  dryRun: boolean;
  yes: boolean;
  keep?: number;
  stack?: string;
  lockWait?: number;
}

export const PRUNE_SPEC: ToolSpec = {
  name: "npm run prune --",
  summary: "Remove runtime images on Hemma older than the last N deployed revisions (never one a container uses); shows the plan and asks first.",
  flags: [
    { flags: "--dry-run", description: "show the plan and remove nothing (also `npm run prune --dry-run`)" },
    { flags: "-y, --yes", description: "remove without asking (for scripts; without a terminal prune refuses otherwise)" },
    { flags: "--keep <n>", description: "keep the last n deployed revisions (default config image.keepRevisions, 5)" },
    STACK_FLAG,
    LOCK_WAIT_FLAG,
  ],
};

export function parsePruneArgs(argv: string[]): PruneOptions {
  const values = parseToolArgs(argv, PRUNE_SPEC);
  let keep: number | undefined;
  if (values.keep !== undefined) {
    const raw = String(values.keep);
    if (!/^\d+$/.test(raw) || Number(raw) < 1) throw usageError(`--keep must be a whole number of at least 1, got ${raw}`, PRUNE_SPEC);
    keep = Number(raw);
  }
  return {
    dryRun: values.dryRun === true,
    yes: values.yes === true,
    keep,
    stack: values.stack as string | undefined,
    lockWait: lockWaitSeconds(values.lockWait, PRUNE_SPEC),
  };
}

export async function prune(opts: PruneOptions, ctx: OpsContext): Promise<number> {
  const run = new ToolRun(ctx);
  const { pulumi } = run;
  const cfg = await run.config();
  const n = opts.keep ?? cfg.image.keepRevisions;
  const records = toRecords(await fetchAllHistory(pulumi), PROJECT_NAMESPACE);
  const docker = await run.docker();
  if (!records.some(isGoodDeploy)) {
    throw new OpsError(
      `the ${ctx.stack} stack's history holds no successfully deployed revision, so prune cannot tell which images are rollback targets`,
      `deploy first (\`npm run deploy\`); remove images by hand only if you are sure (\`${dockerCommandLine(docker, ["image", "ls", cfg.image.name])}\`)`,
    );
  }
  const keep = revisionsToKeep(records, cfg.revision, n);

  const [images, containers] = await Promise.all([listImages(docker, cfg.image.name), listContainers(docker)]);
  const labels = await inspectImagesById(docker, [...new Set(images.map((i) => i.ID))]);
  const plan = planPrune(images, containers, keep, labels);
  const removals = plan.filter((d) => d.action === "remove");

  ctx.out(`${cfg.image.name} images on Hemma (${docker.where}); keeping the last ${n} deployed revision(s) and anything in use:`);
  if (plan.length === 0) ctx.out("  (none)");
  for (const d of plan)
    ctx.out(`  ${d.flag ? "FLAG  " : d.action === "keep" ? "keep  " : "REMOVE"} ${d.ref}  ${d.id.replace(/^sha256:/, "").slice(0, 12)}  ${d.reason}`);
  const flagged = plan.filter((d) => d.flag);
  if (flagged.length > 0) {
    ctx.err(
      `warning: ${flagged.length} image(s) are tagged with one revision but labelled with another (${flagged.map((d) => d.ref).join(", ")}); a deploy or rollback refuses them. Remove the tag by hand once you know what it holds.`,
    );
  }

  if (opts.dryRun || npmDryRun(ctx.env)) {
    ctx.out(`Dry run: ${removals.length} image(s) would be removed; nothing changed.`);
    return 0;
  }
  if (removals.length === 0) {
    ctx.out("Nothing to remove.");
    return 0;
  }
  if (!opts.yes) {
    if (!ctx.isTTY) {
      throw new OpsError(
        `refusing to remove ${removals.length} image(s) without confirmation: no terminal to ask on and --yes was not given`,
        "re-run with --yes to confirm, or with -- --dry-run to only see the plan",
      );
    }
    const answer = (await ctx.prompt(`Remove ${removals.length} image(s) from Hemma? [y/N] `)).trim().toLowerCase();
    if (answer !== "y" && answer !== "yes") {
      ctx.out("Prune cancelled; nothing removed.");
      return 1;
    }
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
    throw new OpsError(
      `${failed.length} of ${removals.length} image(s) could not be removed: ${failed.join(", ")}`,
      "see the docker errors above; re-run `npm run prune -- --dry-run` to see what is left",
    );
  }
  ctx.out(
    `Removed ${removals.length} image(s); kept ${plan.length - removals.length}. Run \`${docker.where.startsWith("ssh ") ? `${docker.where} docker` : docker.where} image prune\` to drop dangling layers too.`,
  );
  return 0;
}

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const opts = parsePruneArgs(argv);
    const stackCtx = { ...ctx, stack: opts.stack ?? ctx.stack };
    // A dry run removes nothing, but still takes the lock: its plan is only true while no deploy runs.
    return await withHemmaLock(stackCtx, { tool: "prune", waitSeconds: opts.lockWait }, () => prune(opts, stackCtx));
  });
}

runAsScript(module, (argv) => main(argv));
