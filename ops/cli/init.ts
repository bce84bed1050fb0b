// `npm run init`: creates the stack explicitly (passphrase secrets provider), the only tool that
// creates one; refuses a stack that already exists. Flags: --stack <name>.

import { withHemmaLock } from "../hemma/lock";
import { PulumiCli, requirePassphrase } from "../pulumi/cli";
import { type OpsContext, processContext } from "../tool/context";
import { OpsError } from "../tool/error";
import { tail } from "../tool/runCommand";
import { LOCK_WAIT_FLAG, lockWaitSeconds, parseToolArgs, runAsScript, runTool, STACK_FLAG, type ToolSpec } from "../tool/shell";

export const INIT_SPEC: ToolSpec = {
  name: "npm run init --",
  summary: "Create the stack (passphrase secrets) in the backend of Pulumi.yaml; the only tool that creates one.",
  flags: [STACK_FLAG, LOCK_WAIT_FLAG],
};

export async function init(ctx: OpsContext): Promise<number> {
  requirePassphrase(ctx);
  const pulumi = new PulumiCli(ctx);
  const res = await pulumi.capture(["stack", "init", "--secrets-provider", "passphrase", "--non-interactive"]);
  if (res.code !== 0) {
    if (/already exists/i.test(res.stderr)) {
      throw new OpsError(
        `stack ${ctx.stack} already exists in ${pulumi.backendUrl ?? "the current backend"}`,
        "nothing to create; deploy with `npm run deploy`",
      );
    }
    throw new OpsError(`\`pulumi stack init\` failed with exit code ${res.code}:\n    ${tail(res.stderr || res.stdout)}`, "read pulumi's message above");
  }
  ctx.out(
    `Created stack ${ctx.stack} (passphrase secrets) in ${pulumi.backendUrl}. Commit Pulumi.${ctx.stack}.yaml (it now holds the encryption salt), then run \`npm run deploy\`.`,
  );
  return 0;
}

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const values = parseToolArgs(argv, INIT_SPEC);
    const stackCtx = { ...ctx, stack: (values.stack as string | undefined) ?? ctx.stack };
    requirePassphrase(stackCtx);
    return await withHemmaLock(stackCtx, { tool: "init", waitSeconds: lockWaitSeconds(values.lockWait, INIT_SPEC) }, () => init(stackCtx));
  });
}

runAsScript(module, (argv) => main(argv));
