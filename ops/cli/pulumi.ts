// `npm run pulumi -- <pulumi args>`: the pulumi CLI for hand-run commands, exactly as the tools run
// it: the pinned version, the operator's redirecting variables neutralised, and the state backend
// as an absolute URL, so it works from any subfolder of the checkout (a bare `pulumi` run from a
// subfolder resolves `file://./.pulumi-state` there and silently gets a new, empty backend).

import { PulumiCli } from "../pulumi/cli";
import { type OpsContext, processContext } from "../tool/context";
import { runAsScript, runTool } from "../tool/shell";

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const pulumi = new PulumiCli(ctx);
    return pulumi.foreground(argv, ctx.inheritStdio ? undefined : { out: (t) => ctx.out(t.replace(/\n$/, "")), err: (t) => ctx.err(t.replace(/\n$/, "")) });
  });
}

runAsScript(module, (argv) => main(argv));
