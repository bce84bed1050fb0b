// `npm run doctor`: a preflight for a new host or a new laptop. Each item is PASS or FAIL with
// its fix: on this machine the ssh client, the pinned pulumi CLI, the passphrase, the stack config
// and the service checkout; on Hemma (one ssh round trip, no prompt, known host key) docker and its
// engine API version, the GPU device nodes and gpu.groups, rocm-smi, free disk, the lanes' host
// ports. Exits 1 when any item fails. `--json` prints the items.

import { Command } from "commander";
import { doctorScript } from "../hemma/doctorProbe";
import { splitSections } from "../hemma/remoteShell";
import { isSshUrl, sshTargetFromDockerHost } from "../hemma/ssh";
import { doctorSshArgv, sshFailureItem } from "../hemma/sshReach";
import { type DoctorItem, diskItem, dockerItem, gpuItems, portItems, rocmItem } from "../plan/doctorChecks";
import { type OpsConfig, parseOpsConfig } from "../pulumi/stackConfig";
import { type OpsContext, PROJECT_NAMESPACE, processContext } from "../tool/context";
import { describeError } from "../tool/error";
import { ToolRun } from "../tool/run";
import { runCommand, which } from "../tool/runCommand";
import { parseCommandFlags, runAsScript, runTool } from "../tool/shell";
import { checkoutItem, passphraseItem, pulumiItem, sshClientItem } from "./doctor/localChecks";

interface DoctorFlags {
  json?: boolean;
  stack?: string;
}

function program(): Command {
  return new Command("doctor")
    .description("check this machine and Hemma before a deploy; each item PASS or FAIL with its fix")
    .option("--json", "print the items as JSON")
    .option("--stack <name>", "stack whose config to check against (default hemma)");
}

async function readConfig(ctx: OpsContext, pulumiOk: boolean): Promise<{ cfg: OpsConfig; item: DoctorItem }> {
  const name = "stack configuration";
  const defaults = parseOpsConfig({}, PROJECT_NAMESPACE);
  if (!pulumiOk)
    return {
      cfg: defaults,
      item: { name, ok: false, detail: "not read (no pulumi CLI); checking against the defaults", fix: "fix the pinned pulumi CLI item first" },
    };
  try {
    const cfg = await new ToolRun(ctx).config();
    return { cfg, item: { name, ok: true, detail: `stack ${ctx.stack} parsed (dockerHost ${cfg.dockerHost})` } };
  } catch (err) {
    return {
      cfg: defaults,
      item: {
        name,
        ok: false,
        detail: `${describeError(err)
          .split("\n")[0]
          .replace(/^error: /, "")}; checking against the defaults`,
        fix: "see the message; `npm run pulumi -- config --stack <stack>` shows the config",
      },
    };
  }
}

async function hostItems(cfg: OpsConfig, ctx: OpsContext): Promise<DoctorItem[]> {
  const name = "ssh reaches Hemma without a prompt, host key known";
  if (!isSshUrl(cfg.dockerHost))
    return [{ name, ok: false, detail: `dockerHost is ${cfg.dockerHost}, not ssh://`, fix: "the host checks need ssh; set dockerHost to ssh://<host>" }];
  const target = sshTargetFromDockerHost(cfg.dockerHost, cfg.sshOpts);
  const ssh = which("ssh", ctx.env);
  if (!ssh) return [{ name, ok: false, detail: "no ssh client", fix: "install an OpenSSH client" }];
  const res = await runCommand(ssh, doctorSshArgv(target, doctorScript(cfg.gpu.devices)), { env: ctx.env, timeoutMs: 60000 });
  if (res.code === 255 || res.timedOut) return [sshFailureItem(target, res.timedOut ? "ssh did not finish within 60 s" : res.stderr)];
  const s = splitSections(res.stdout);
  const lanes = Object.entries(cfg.lanes)
    .filter(([, l]) => l.enabled)
    .map(([lane, l]) => ({ lane, hostPort: l.hostPort, containerName: l.containerName }));
  return [
    { name, ok: true, detail: `ssh ${target.destination} (BatchMode, StrictHostKeyChecking=yes)` },
    dockerItem(s.get("docker"), `ssh ${target.destination}`),
    ...gpuItems(s.get("devices"), cfg.gpu.devices, cfg.gpu.groups, ctx.stack),
    rocmItem(s.get("rocmSmi")),
    diskItem(s.get("disk")),
    ...portItems(s.get("listening"), s.get("published"), lanes),
  ];
}

export async function runDoctor(ctx: OpsContext): Promise<DoctorItem[]> {
  const pulumi = pulumiItem(ctx);
  const local = [sshClientItem(ctx.env), pulumi, passphraseItem(ctx)];
  const { cfg, item } = await readConfig(ctx, pulumi.ok);
  return [...local, item, checkoutItem(cfg, ctx.projectDir), ...(await hostItems(cfg, ctx))];
}

export function renderItems(items: DoctorItem[]): string[] {
  return items.flatMap((i) => [`${i.ok ? "PASS" : "FAIL"} ${i.name}: ${i.detail}`, ...(i.ok || !i.fix ? [] : [`     fix: ${i.fix}`])]);
}

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const parsed = parseCommandFlags<DoctorFlags>(program(), argv, ctx);
    if (parsed.kind === "help") return 0;
    const runCtx = { ...ctx, stack: parsed.options.stack ?? ctx.stack };
    const items = await runDoctor(runCtx);
    const failed = items.filter((i) => !i.ok);
    if (parsed.options.json) ctx.out(JSON.stringify({ ok: failed.length === 0, items }, null, 2));
    else {
      renderItems(items).forEach((l) => {
        ctx.out(l);
      });
      ctx.out(
        failed.length === 0 ? `All ${items.length} checks passed.` : `${failed.length} of ${items.length} checks failed; each FAIL line says what to do.`,
      );
    }
    return failed.length === 0 ? 0 : 1;
  });
}

runAsScript(module, (argv) => main(argv));
