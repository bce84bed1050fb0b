// `npm run init`: creates the stack explicitly (passphrase secrets provider), the only tool that
// creates one; refuses a stack that already exists. Flags: --stack <name>.
import { OpsContext, processContext } from "./opsContext";
import { OpsError } from "./opsError";
import { PulumiCli, requirePassphrase } from "./pulumiCli";
import { lockWaitSeconds, parseToolFlags, runAsScript, runTool } from "./toolMain";
import { withHemmaLock } from "./hemmaLock";
import { tail } from "./runCommand";

const USAGE = "usage: npm run init -- [--stack <name>] [--lock-wait <seconds>]";

export async function init(ctx: OpsContext): Promise<number> {
  requirePassphrase(ctx);
  const pulumi = new PulumiCli(ctx);
  const res = await pulumi.capture(["stack", "init", "--secrets-provider", "passphrase", "--non-interactive"]);
  if (res.code !== 0) {
    if (/already exists/i.test(res.stderr)) {
      throw new OpsError(`stack ${ctx.stack} already exists in ${pulumi.backendUrl ?? "the current backend"}`, "nothing to create; deploy with `npm run deploy`");
    }
    throw new OpsError(`\`pulumi stack init\` failed with exit code ${res.code}:\n    ${tail(res.stderr || res.stdout)}`, "read pulumi's message above");
  }
  ctx.out(`Created stack ${ctx.stack} (passphrase secrets) in ${pulumi.backendUrl}. Commit Pulumi.${ctx.stack}.yaml (it now holds the encryption salt), then run \`npm run deploy\`.`);
  return 0;
}

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const values = parseToolFlags(argv, { stack: { type: "string" }, "lock-wait": { type: "string" } }, USAGE);
    const stackCtx = { ...ctx, stack: values.stack ?? ctx.stack };
    requirePassphrase(stackCtx);
    return await withHemmaLock(stackCtx, { tool: "init", waitSeconds: lockWaitSeconds(values["lock-wait"], USAGE) }, () => init(stackCtx));
  });
}

runAsScript(module, (argv) => main(argv));
