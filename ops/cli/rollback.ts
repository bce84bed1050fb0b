// `npm run rollback`: re-deploys an earlier good revision found in the stack's update history
// with the config recorded for that update (every key of this project; secrets stay as they are),
// reusing its image on Hemma when it is still there (no rebuild) and rebuilding only when it is
// gone. Flags: --to <sha> | --steps <n>, --yes, --dry-run, --stack <name>.

import { imageRemove } from "../../lib/commands/docker";
import { dockerCommandLine, type ImageInfo, inspectImage, REVISION_LABEL } from "../hemma/docker";
import { withHemmaLock } from "../hemma/lock";
import { deployedAt, toRecords } from "../plan/historyRecords";
import { labelDisagrees } from "../plan/imageLabel";
import { planRollback, type RollbackPlan } from "../plan/rollback";
import { type ConfigRestore, describeRestore, planConfigRestore } from "../plan/rollbackConfig";
import { requirePassphrase } from "../pulumi/cli";
import { fetchAllHistory } from "../pulumi/historyFetch";
import type { ConfigJson } from "../pulumi/schemas";
import { type OpsConfig, parseRestoredConfig, requireRevision, sourceDir } from "../pulumi/stackConfig";
import { refuseIfPending } from "../pulumi/stackPending";
import { type OpsContext, PROJECT_NAMESPACE, processContext } from "../tool/context";
import { OpsError } from "../tool/error";
import { ToolRun } from "../tool/run";
import { LOCK_WAIT_FLAG, lockWaitSeconds, npmDryRun, parseToolArgs, runAsScript, runTool, STACK_FLAG, type ToolSpec, usageError } from "../tool/shell";
import { checkoutHead } from "../tool/sourceCheckout";

export interface RollbackOptions {
  to?: string;
  steps?: number;
  yes: boolean;
  dryRun: boolean;
  stack?: string;
  lockWait?: number;
}

export const ROLLBACK_SPEC: ToolSpec = {
  name: "npm run rollback --",
  summary: "Re-deploy an earlier good revision from the stack's history with the config recorded for it.",
  flags: [
    { flags: "--to <revision>", description: "the revision to return to (a full or abbreviated sha from the history)" },
    { flags: "--steps <n>", description: "go back n good revisions (default 1)" },
    { flags: "-y, --yes", description: "do not ask before rolling back (for scripts)" },
    { flags: "--dry-run", description: "show the plan and change nothing (also `npm run rollback --dry-run`)" },
    STACK_FLAG,
    LOCK_WAIT_FLAG,
  ],
};

export function parseRollbackArgs(argv: string[]): RollbackOptions {
  const values = parseToolArgs(argv, ROLLBACK_SPEC);
  let steps: number | undefined;
  if (values.steps !== undefined) {
    const raw = String(values.steps);
    steps = Number(raw);
    if (!/^\d+$/.test(raw) || steps < 1) throw usageError(`--steps must be a positive whole number, got ${raw}`, ROLLBACK_SPEC);
  }
  if (values.to !== undefined && steps !== undefined) throw usageError("--to and --steps exclude each other", ROLLBACK_SPEC);
  return {
    to: values.to as string | undefined,
    steps,
    yes: values.yes === true,
    dryRun: values.dryRun === true,
    stack: values.stack as string | undefined,
    lockWait: lockWaitSeconds(values.lockWait, ROLLBACK_SPEC),
  };
}

function describePlan(plan: RollbackPlan, image: ImageInfo | null, stack: string): string[] {
  const imageId = image?.id;
  const t = plan.target;
  return [
    `Rollback plan for stack ${stack}:`,
    `  from revision  ${plan.current} (current config)`,
    `  to revision    ${t.revision} (${plan.stepsBack} good revision(s) back)`,
    `  deployed at    ${deployedAt(t).toISOString()}${t.message ? ` — "${t.message}"` : ""}`,
    `  image          ${plan.imageRef}`,
    imageId
      ? `  image status   still on Hemma (${imageId}, ${image?.revisionLabel ? `labelled ${image.revisionLabel.slice(0, 12)}` : `WITHOUT a ${REVISION_LABEL} label: unproven`}); no rebuild, the containers are recreated from it`
      : `  image status   NOT on Hemma any more; it will be REBUILT from the source checkout (takes minutes)`,
  ];
}

async function confirm(ctx: OpsContext, question: string): Promise<boolean> {
  if (!ctx.isTTY) {
    throw new OpsError(
      "refusing to roll back without confirmation: no terminal to ask on and --yes was not given",
      "re-run with --yes to confirm non-interactively",
    );
  }
  const answer = (await ctx.prompt(`${question} [y/N] `)).trim().toLowerCase();
  return answer === "y" || answer === "yes";
}

export async function rollback(opts: RollbackOptions, ctx: OpsContext): Promise<number> {
  const ns = PROJECT_NAMESPACE;
  requirePassphrase(ctx);
  const run = new ToolRun(ctx);
  const { pulumi } = run;

  refuseIfPending(await pulumi.stackExport(), ctx.stack, "a rollback");
  const todayJson = await run.configJson();
  const cfg = await run.config();
  const current = requireRevision(cfg, ns);
  const records = toRecords(await fetchAllHistory(pulumi), ns);
  const plan = planRollback(records, current, { to: opts.to, steps: opts.steps });

  const docker = await run.docker();
  const image = await inspectImage(docker, plan.imageRef);
  const wrong = image && labelDisagrees(plan.target.revision, image);
  if (wrong) {
    throw new OpsError(
      `${plan.imageRef} on Hemma does not hold that revision's build: ${wrong}`,
      `remove the tag on Hemma (\`${dockerCommandLine(docker, imageRemove(plan.imageRef))}\`) and re-run the rollback: it then rebuilds from the checkout at ${plan.target.revision.slice(0, 12)}`,
    );
  }
  const rebuild = image === null;
  const restore = planConfigRestore(plan.target.config, todayJson, ns, rebuild);
  const restored = checkRestoredConfig(restore, todayJson, ns, plan.target.revision);
  for (const line of [...describePlan(plan, image, ctx.stack), ...describeRestore(restore, plan.target.revision)]) ctx.out(line);

  if (rebuild && !cfg.source.allowRevisionMismatch) {
    const dir = sourceDir(cfg, ctx.projectDir);
    const head = await checkoutHead(dir, ctx);
    if (head !== plan.target.revision) {
      throw new OpsError(
        `the image must be rebuilt, but the source checkout ${dir} is at ${head.slice(0, 12)}, not ${plan.target.revision.slice(0, 12)}`,
        `run \`git -C ${dir} checkout ${plan.target.revision}\` and re-run the rollback (check out your branch again afterwards)`,
      );
    }
  }

  if (opts.dryRun || npmDryRun(ctx.env)) {
    ctx.out("Dry run: nothing changed.");
    return 0;
  }
  if (!opts.yes && !(await confirm(ctx, `Roll back stack ${ctx.stack} to ${plan.target.revision.slice(0, 12)}?`))) {
    ctx.out("Rollback cancelled; nothing changed.");
    return 1;
  }

  const started = Date.now();
  // The target's recorded config, revision and image.build included (one write), then the keys it did not have.
  await pulumi.configSetAll(restore.set);
  for (const key of restore.remove) await pulumi.configRm(key);
  // Afterwards image.build is false (the stack runs an image already on Hemma, and a plain
  // `pulumi up` keeps doing so without a checkout); `npm run deploy` builds what is missing.
  ctx.out(`Running pulumi up (policy pack ./policy, verification included)${rebuild ? " with an image rebuild" : ""}...`);
  const code = await pulumi.up({
    message: `rollback to ${plan.target.revision} from ${plan.current}`,
    onOutput: (text) =>
      text
        .split("\n")
        .filter((l) => l.length > 0)
        .forEach((l) => {
          ctx.out(`  | ${l}`);
        }),
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (code === 0 && rebuild) {
    // The rebuilt tag is on Hemma now: like after a deploy, later runs reuse it without the checkout.
    await pulumi.configSet(`${ns}:image.build`, "false", { path: true });
  }
  if (code !== 0) {
    throw new OpsError(
      `pulumi up failed (exit code ${code}) after ${seconds}s; config revision is now ${plan.target.revision} and the stack may be partly rolled back`,
      "read the pulumi output above; if verification failed, its evidence folder is under .verification/ (docs/runbook.md, 12.3 A verification failed). " +
        `To return to the previous revision run \`npm run rollback -- --to ${plan.current}\`.`,
    );
  }
  ctx.out(
    `Rolled back stack ${ctx.stack} to ${plan.target.revision} in ${seconds}s (${rebuild ? "image rebuilt" : "no rebuild"}); ${restored.verification.enabled ? "post-deploy verification passed." : "NOT verified (config verification.enabled is false): check it with `npm run verify`."}`,
  );
  return 0;
}

/** The config after the restore must pass today's schema, or nothing is written; it is what the rollback runs with. */
function checkRestoredConfig(restore: ConfigRestore, today: ConfigJson, ns: string, revision: string): OpsConfig {
  try {
    return parseRestoredConfig(today, restore, ns);
  } catch (err) {
    throw new OpsError(
      `the config recorded with ${revision.slice(0, 12)} does not pass today's config rules: ${(err as Error).message}`,
      "roll back to a later revision, or restore it by hand (`npm run pulumi -- stack history --json`) and run `npm run deploy`",
    );
  }
}

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const opts = parseRollbackArgs(argv);
    const stackCtx = { ...ctx, stack: opts.stack ?? ctx.stack };
    requirePassphrase(stackCtx);
    return await withHemmaLock(stackCtx, { tool: "rollback", waitSeconds: opts.lockWait }, () => rollback(opts, stackCtx));
  });
}

runAsScript(module, (argv) => main(argv));
