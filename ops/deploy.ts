// `npm run deploy` / `npm run preview`: resolves the source checkout's HEAD, records it as config
// `revision`, and runs `pulumi up` (or `pulumi preview`) on the hemma stack with the policy pack.
// A preview puts the previous `revision` back afterwards, so only a deploy changes the stack's
// config. Creates the stack (passphrase secrets) on first use. Flags: --preview, --yes, --stack.
import { OpsContext, processContext, PROJECT_NAMESPACE } from "./opsContext";
import { OpsError } from "./opsError";
import { parseToolFlags, runAsScript, runTool } from "./toolMain";
import { policyPackArgs } from "./policyPackArgs";
import { PulumiCli, requirePassphrase } from "./pulumiCli";
import { runCommand } from "./runCommand";
import { checkoutHead } from "./sourceCheckout";
import { parseOpsConfig, sourceDir } from "./stackConfig";

export interface DeployOptions {
  preview: boolean;
  yes: boolean;
  stack?: string;
}

const USAGE = "usage: npm run deploy -- [--yes] [--stack <name>]   |   npm run preview -- [--stack <name>]";

export function parseDeployArgs(argv: string[]): DeployOptions {
  const values = parseToolFlags(
    argv,
    { preview: { type: "boolean", default: false }, yes: { type: "boolean", short: "y", default: false }, stack: { type: "string" } },
    USAGE,
  );
  return { preview: values.preview ?? false, yes: values.yes ?? false, stack: values.stack };
}

export async function deploy(opts: DeployOptions, ctx: OpsContext): Promise<number> {
  const ns = PROJECT_NAMESPACE;
  requirePassphrase(ctx);
  const pulumi = new PulumiCli(ctx);
  await pulumi.check(["stack", "select", "--create", "--secrets-provider", "passphrase", "--non-interactive"], `selecting (or creating) stack ${ctx.stack}`);
  const cfg = parseOpsConfig(await pulumi.config(), ns);
  const dir = sourceDir(cfg, ctx.projectDir);
  const head = await checkoutHead(dir, ctx);
  const previous = cfg.revision;
  if (previous !== head) {
    await pulumi.configSet(`${ns}:revision`, head);
    ctx.out(`config ${ns}:revision = ${head} (HEAD of ${dir}; was ${previous ?? "unset"})${opts.preview ? " for this preview" : ""}`);
  } else {
    ctx.out(`config ${ns}:revision is already ${head} (HEAD of ${dir})`);
  }
  // Deploying the checkout means building it (a rollback may have left image.build false).
  const restoreBuild = !cfg.image.build;
  if (restoreBuild) {
    await pulumi.configSet(`${ns}:image.build`, "true", { path: true });
    ctx.out(`config ${ns}:image.build = true (was false after a rollback to an image already on Hemma)${opts.preview ? " for this preview" : ""}`);
  }
  try {
    await runPulumi(opts, pulumi, ctx);
  } finally {
    if (opts.preview && previous !== head) {
      if (previous) await pulumi.configSet(`${ns}:revision`, previous);
      else await pulumi.configRm(`${ns}:revision`);
      ctx.out(`config ${ns}:revision restored to ${previous ?? "unset"} (a preview changes nothing)`);
    }
    if (opts.preview && restoreBuild) await pulumi.configSet(`${ns}:image.build`, "false", { path: true });
  }
  ctx.out(opts.preview ? `Preview of ${head} done; nothing changed on Hemma.` : `Deployed ${head} to stack ${ctx.stack}; verification passed.`);
  return 0;
}

async function runPulumi(opts: DeployOptions, pulumi: PulumiCli, ctx: OpsContext): Promise<void> {
  const verb = opts.preview ? "preview" : "up";
  const args = [verb, "--stack", ctx.stack, ...policyPackArgs(ctx.projectDir, ctx.stack)];
  if (opts.preview) args.push("--diff");
  else if (opts.yes) args.push("--yes");
  const res = await runCommand(pulumi.bin, args, {
    env: ctx.env,
    cwd: ctx.projectDir,
    inheritStdio: ctx.inheritStdio,
    onStdout: (t) => t.split("\n").filter(Boolean).forEach((l) => ctx.out(`  | ${l}`)),
    onStderr: (t) => t.split("\n").filter(Boolean).forEach((l) => ctx.err(`  | ${l}`)),
  });
  if (res.code !== 0) {
    throw new OpsError(
      `pulumi ${verb} failed with exit code ${res.code}`,
      opts.preview
        ? "read the policy violations or errors above; nothing was changed on Hemma"
        : "read the output above; a failed verification leaves its evidence under .verification/ (docs/runbook.md, Failed verification); `npm run rollback` returns to the last good revision",
    );
  }
}

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const opts = parseDeployArgs(argv);
    return await deploy(opts, { ...ctx, stack: opts.stack ?? ctx.stack });
  });
}

runAsScript(module, (argv) => main(argv));
