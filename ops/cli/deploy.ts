// `npm run deploy` / `npm run preview`: resolves the source checkout's HEAD, records it as config
// `revision` (with `image.build` true only when that tag is not on Hemma yet), and runs `pulumi up`
// (or `pulumi preview`) on the hemma stack with the policy pack. After a deploy, `image.build` is
// false (the tag is on Hemma). A preview, a declined or a not-started deploy put the config back;
// a failed deploy keeps the revision it tried. Nothing is put back while the backend lock shows an
// update may still be running, and nothing starts while the stack has pending operations.
// Ctrl-C / SIGTERM are passed to pulumi as a graceful cancel (PulumiCli.foreground).
// Never creates a stack: a missing one is refused (`npm run init` creates it). Flags: --preview,
// --yes, --stack, --no-rollback, --lock-wait. A failed update goes to ops/cli/deploy/autoRollback.ts (prod's
// automatic rollback); a preview prints the canary gate's order (components/canaryOrder.ts).

import { deployOrder } from "../../components/canaryOrder";
import { policyPackArgs } from "../../gate/policyPackArgs";
import { imageRemove } from "../../lib/commands/docker";
import { checkDaemonLogOpts } from "../../lib/daemonLogOpts";
import { dockerCommandLine, inspectImage, REVISION_LABEL } from "../hemma/docker";
import { withHemmaLock } from "../hemma/lock";
import { labelDisagrees } from "../plan/imageLabel";
import { describeLock, stackLocks } from "../pulumi/backendLock";
import { type PulumiCli, requirePassphrase } from "../pulumi/cli";
import { sourceDir } from "../pulumi/stackConfig";
import { refuseIfPending } from "../pulumi/stackPending";
import { type OpsContext, PROJECT_NAMESPACE, processContext } from "../tool/context";
import { OpsError } from "../tool/error";
import { ToolRun } from "../tool/run";
import { LOCK_WAIT_FLAG, lockWaitSeconds, parseToolArgs, runAsScript, runTool, STACK_FLAG, type ToolSpec } from "../tool/shell";
import { checkoutHead } from "../tool/sourceCheckout";
import { recoverFailedDeploy, watchInterrupts } from "./deploy/autoRollback";

export interface DeployOptions {
  preview: boolean;
  yes: boolean;
  stack?: string;
  /** Seconds to wait for Hemma's operator lock. */
  lockWait?: number;
  /** Keep a failed prod in place instead of rolling back on its own. */
  noRollback?: boolean;
}

export const DEPLOY_SPEC: ToolSpec = {
  name: "npm run deploy --",
  summary: "Deploy the source checkout's HEAD to Hemma (pulumi up with the policy pack and post-deploy verification).",
  flags: [
    { flags: "-y, --yes", description: "do not ask at pulumi's prompt (for scripts)" },
    { flags: "--preview", description: "only preview, like `npm run preview` (changes nothing on Hemma)" },
    { flags: "--no-rollback", description: "when prod's verification fails, keep the failed state for debugging instead of rolling back on its own" },
    STACK_FLAG,
    LOCK_WAIT_FLAG,
  ],
};

export const PREVIEW_SPEC: ToolSpec = {
  name: "npm run preview --",
  summary: "Preview a deploy of the source checkout's HEAD with the policy pack (pulumi preview --diff); changes nothing on Hemma.",
  flags: [{ flags: "--preview", description: "preview mode (npm run preview passes it)" }, STACK_FLAG, LOCK_WAIT_FLAG],
};

export function parseDeployArgs(argv: string[]): DeployOptions {
  const spec = argv.includes("--preview") ? PREVIEW_SPEC : DEPLOY_SPEC;
  const values = parseToolArgs(argv, spec);
  return {
    preview: values.preview === true,
    yes: values.yes === true,
    stack: values.stack as string | undefined,
    lockWait: lockWaitSeconds(values.lockWait, spec),
    noRollback: values.rollback === false,
  };
}

export async function deploy(opts: DeployOptions, ctx: OpsContext): Promise<number> {
  const ns = PROJECT_NAMESPACE;
  requirePassphrase(ctx);
  const run = new ToolRun(ctx);
  const { pulumi } = run;
  await pulumi.requireStack();
  if (!opts.preview) refuseIfPending(await pulumi.stackExport(), ctx.stack, "a deploy");
  const cfg = await run.config();
  const dir = sourceDir(cfg, ctx.projectDir);
  const head = await checkoutHead(dir, ctx);
  const tag = `${cfg.image.name}:${head}`;
  const docker = await run.docker();
  const found = await inspectImage(docker, tag);
  const wrong = found && labelDisagrees(head, found);
  if (found && wrong) {
    throw new OpsError(
      `${tag} is on Hemma but does not hold that commit's build: ${wrong}`,
      `remove the tag on Hemma (\`${dockerCommandLine(docker, imageRemove(tag))}\`) and run \`npm run deploy\` again to build it (docs/runbook.md, 8. Prune old images)`,
    );
  }
  const existing = found && found.revisionLabel !== undefined ? found.id : null;
  if (found && found.revisionLabel === undefined) {
    ctx.out(`${tag} is on Hemma but carries no ${REVISION_LABEL} label, so nothing proves it was built from ${head}: it will be rebuilt`);
  } else {
    ctx.out(
      existing === null
        ? `${tag} is not on Hemma yet: it will be built from ${dir}`
        : `${tag} is already on Hemma (${existing.replace(/^sha256:/, "").slice(0, 12)}, labelled ${head.slice(0, 12)}): no rebuild`,
    );
  }

  // daemon.json's default log-opts would replace both lanes on every up: warn in a preview, refuse a deploy.
  const logOpts = await checkDaemonLogOpts(docker, cfg, ns);
  if (logOpts && !opts.preview) throw new OpsError(logOpts.message, logOpts.hint);
  if (logOpts) ctx.err(`warning: ${logOpts.message}\n  what to do: ${logOpts.hint}`);

  const before: DeployConfig = { revision: cfg.revision, build: cfg.image.build };
  const wanted: DeployConfig = { revision: head, build: existing === null };
  const note = opts.preview ? " for this preview" : "";
  await applyDeployConfig(pulumi, ctx, before, wanted, note);
  const started = Date.now();
  let succeeded = false;
  let code = 1;
  let recorded = true;
  const interrupts = watchInterrupts();
  try {
    code = await runPulumi(opts, pulumi, ctx);
    succeeded = code === 0;
  } finally {
    interrupts.stop();
    const locks = stackLocks(pulumi.backendUrl, ns, ctx.stack);
    if (locks.length > 0) {
      // pulumi's process is gone but the stack is still locked: an update may still be running
      // (or was killed). Putting config back now would change it under that update.
      ctx.err(
        `warning: stack ${ctx.stack} is still locked by ${locks.map(describeLock).join(", ")}: an update may still be running, so the config is left as it is ` +
          `(revision ${wanted.revision}, image.build ${wanted.build}).\n  what to do: wait for that pulumi to end (\`ps -p ${locks[0].pid}\`); if it is gone, check Hemma and run \`npm run pulumi -- cancel --stack ${ctx.stack}\` ` +
          "(docs/runbook.md, 12.1 A deploy was interrupted)",
      );
    } else if (opts.preview) {
      await applyDeployConfig(pulumi, ctx, wanted, before, " (a preview changes nothing)");
    } else if (succeeded) {
      // The tag is on Hemma now: later pulumi runs (by hand too) run it without the checkout or a rebuild.
      await applyDeployConfig(pulumi, ctx, wanted, { ...wanted, build: false }, " (the image is on Hemma now)");
    } else {
      recorded = await updateRecordedSince(pulumi, started);
      if (!recorded) {
        // Declined at pulumi's prompt, or failed before anything ran: the deployed revision is unchanged.
        await applyDeployConfig(pulumi, ctx, wanted, before, " (nothing was deployed)");
      }
    }
    // A failed update keeps `revision` = what was being deployed: `npm run rollback` then returns
    // to the last good revision before it.
  }
  if (code !== 0) {
    const failure = pulumiFailed(opts, code, recorded, cfg.verification.enabled);
    if (opts.preview || !recorded) throw failure;
    return recoverFailedDeploy({
      pulumi,
      ctx,
      cfg,
      attempted: head,
      startedMs: started,
      noRollback: opts.noRollback ?? false,
      interrupted: interrupts.seen(),
      failure,
    });
  }
  if (opts.preview)
    deployOrder({
      deployedRevision: before.revision,
      nextRevision: head,
      build: wanted.build,
      verificationEnabled: cfg.verification.enabled,
      lanes: cfg.lanes,
    }).forEach((line) => {
      ctx.out(line);
    });
  ctx.out(
    opts.preview
      ? `Preview of ${head} done; nothing changed on Hemma.`
      : cfg.verification.enabled
        ? `Deployed ${head} to stack ${ctx.stack}; verification passed.`
        : `Deployed ${head} to stack ${ctx.stack}; NOT verified (config verification.enabled is false): check it with \`npm run verify\`.`,
  );
  return 0;
}

interface DeployConfig {
  revision?: string;
  build: boolean;
}

/** Moves config `revision` and `image.build` from `from` to `to`, saying what changed. */
async function applyDeployConfig(pulumi: PulumiCli, ctx: OpsContext, from: DeployConfig, to: DeployConfig, why: string): Promise<void> {
  const ns = PROJECT_NAMESPACE;
  if (from.revision !== to.revision) {
    if (to.revision) await pulumi.configSet(`${ns}:revision`, to.revision);
    else await pulumi.configRm(`${ns}:revision`);
    ctx.out(`config ${ns}:revision = ${to.revision ?? "(unset)"}${why}`);
  }
  if (from.build !== to.build) {
    await pulumi.configSet(`${ns}:image.build`, String(to.build), { path: true });
    ctx.out(`config ${ns}:image.build = ${to.build}${why}`);
  }
}

/** Whether pulumi recorded an update (of any result) that started after `sinceMs`. */
async function updateRecordedSince(pulumi: PulumiCli, sinceMs: number): Promise<boolean> {
  const [newest] = await pulumi.historyPage(1, 1);
  return newest !== undefined && newest.kind === "update" && Date.parse(newest.startTime) >= sinceMs - 5000;
}

/** Why pulumi failed and what to do: a rollback only when an update ran (and so may have changed the lanes). */
function pulumiFailed(opts: DeployOptions, code: number, updateRan: boolean, verified: boolean): OpsError {
  const verb = opts.preview ? "preview" : "up";
  if (opts.preview)
    return new OpsError(`pulumi preview failed with exit code ${code}`, "read the policy violations or errors above; nothing was changed on Hemma");
  if (!updateRan) {
    return new OpsError(
      `pulumi up ended with exit code ${code} before any change (declined at its prompt, or stopped before it started); nothing was deployed`,
      "read pulumi's output above; the lanes run what they ran before, so there is nothing to roll back. Run `npm run deploy` again when ready",
    );
  }
  return new OpsError(
    `pulumi ${verb} failed with exit code ${code}`,
    verified
      ? "read the output above; a failed verification leaves its evidence under .verification/ (docs/runbook.md, 12.3 A verification failed); if the lanes changed and verification failed, `npm run rollback` returns to the last good revision"
      : "read the output above; `npm run rollback` returns to the last good revision if the lanes changed",
  );
}

async function runPulumi(opts: DeployOptions, pulumi: PulumiCli, ctx: OpsContext): Promise<number> {
  const verb = opts.preview ? "preview" : "up";
  const args = [verb, "--stack", ctx.stack, ...policyPackArgs(ctx.projectDir, ctx.stack)];
  if (opts.preview) args.push("--diff");
  else if (opts.yes) args.push("--yes");
  const code = await pulumi.foreground(args, {
    out: (t) =>
      t
        .split("\n")
        .filter(Boolean)
        .forEach((l) => {
          ctx.out(`  | ${l}`);
        }),
    err: (t) =>
      t
        .split("\n")
        .filter(Boolean)
        .forEach((l) => {
          ctx.err(`  | ${l}`);
        }),
  });
  return code;
}

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const opts = parseDeployArgs(argv);
    const stackCtx = { ...ctx, stack: opts.stack ?? ctx.stack };
    // A preview writes config too (and puts it back), so it takes the lock like a deploy.
    requirePassphrase(stackCtx);
    return await withHemmaLock(stackCtx, { tool: opts.preview ? "preview" : "deploy", waitSeconds: opts.lockWait }, () => deploy(opts, stackCtx));
  });
}

runAsScript(module, (argv) => main(argv));
