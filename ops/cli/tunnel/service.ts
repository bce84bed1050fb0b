// `npm run tunnel -- --install | --uninstall | --status`: a per-user service that keeps both lanes'
// tunnels up across logins, sleep and network loss (systemd user unit on Linux, launchd agent on
// macOS). --install writes the file from the stack outputs and (re)starts the service; --uninstall
// stops it and removes the file; --status shows the service manager's view and whether each lane
// answers /healthz through its tunnel (exit 1 when it does not run or a lane does not answer).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { sshArgs } from "../../../lib/commands/ssh";
import { launchdPlist, plistPath, type ServiceForward, type ServiceSpec, systemdUnit, unitPath } from "../../plan/tunnelServiceFiles";
import { managerCommands, type Platform, parseLaunchctlPrint, parseSystemdShow, type ServiceState } from "../../plan/tunnelServiceManager";
import type { OpsContext } from "../../tool/context";
import { OpsError } from "../../tool/error";
import { ToolRun } from "../../tool/run";
import { runCommand, tail, which } from "../../tool/runCommand";
import { parseCommandFlags } from "../../tool/shell";
import { getHealthz, profileOf } from "./portProbe";

export interface ServiceDeps {
  platform: NodeJS.Platform;
  uid: number;
}

interface ServiceFlags {
  install?: boolean;
  uninstall?: boolean;
  status?: boolean;
  stack?: string;
}

/** Whether `npm run tunnel` was asked to manage the service rather than open tunnels now. */
export function isServiceRequest(argv: string[]): boolean {
  return argv.some((a) => a === "--install" || a === "--uninstall" || a === "--status");
}

function program(): Command {
  return new Command("tunnel")
    .description("manage the per-user service that keeps both lanes' tunnels up")
    .option("--install", "write and (re)start the service")
    .option("--uninstall", "stop the service and remove its file")
    .option("--status", "show the service and whether each lane answers through it")
    .option("--stack <name>", "stack whose lanes to tunnel to (default hemma)");
}

function platformOf(p: NodeJS.Platform): Platform {
  if (p === "linux" || p === "darwin") return p;
  throw new OpsError(`the tunnel service supports Linux (systemd) and macOS (launchd), not ${p}`, "run `npm run tunnel -- --detach` instead");
}

function homeOf(ctx: OpsContext): string {
  return ctx.env.HOME || os.homedir();
}

async function manager(ctx: OpsContext, words: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = which(words[0], ctx.env);
  if (!bin)
    throw new OpsError(
      `${words[0]} was not found on PATH`,
      words[0] === "systemctl" ? "the tunnel service needs a systemd user session; use `npm run tunnel -- --detach` without one" : "run this on macOS",
    );
  return runCommand(bin, words.slice(1), { env: ctx.env });
}

async function serviceSpec(ctx: OpsContext): Promise<ServiceSpec> {
  const run = new ToolRun(ctx);
  const outputs = await run.pulumi.outputs(false);
  const target = await run.hemma();
  const ssh = which("ssh", ctx.env);
  if (!ssh) throw new OpsError("ssh was not found on PATH", "install an OpenSSH client");
  const forwards: ServiceForward[] = Object.entries(outputs.lanes).map(([lane, o]) => ({
    lane,
    localPort: o.localPort,
    remoteHost: new URL(o.url).hostname.replace(/^\[|\]$/g, ""),
    remotePort: o.hostPort,
  }));
  if (forwards.length === 0) throw new OpsError(`the ${ctx.stack} stack has no deployed lanes to tunnel to`, "deploy first (`npm run deploy`)");
  const base = sshArgs(target);
  return { stack: ctx.stack, sshBinary: ssh, sshTargetArgs: base.slice(0, -1), destination: target.destination, forwards };
}

async function install(ctx: OpsContext, platform: Platform, uid: number): Promise<number> {
  const spec = await serviceSpec(ctx);
  const home = homeOf(ctx);
  const file = platform === "linux" ? unitPath(ctx.env, home, ctx.stack) : plistPath(home, ctx.stack);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, platform === "linux" ? systemdUnit(spec) : launchdPlist(spec, home));
  const cmds = managerCommands(platform, ctx.stack, file, uid);
  if (platform === "darwin") for (const c of cmds.unload) await manager(ctx, c);
  for (const c of cmds.install) {
    const res = await manager(ctx, c);
    if (res.code !== 0)
      throw new OpsError(
        `\`${c.join(" ")}\` failed with exit code ${res.code}:\n    ${tail(res.stderr || res.stdout)}`,
        `the service file is at ${file}; fix the error and re-run \`npm run tunnel -- --install\``,
      );
  }
  ctx.out(`Installed ${file} and started it; it keeps these tunnels up:`);
  spec.forwards.forEach((f) => {
    ctx.out(`  ${f.lane.padEnd(5)} http://127.0.0.1:${f.localPort} -> Hemma ${f.remoteHost}:${f.remotePort}`);
  });
  ctx.out("ssh runs with BatchMode (your key must work without a prompt: ssh-agent or an unencrypted key) and restarts after sleep or network loss.");
  if (platform === "linux")
    ctx.out("It runs while you are logged in; `loginctl enable-linger` keeps it up without a session. Check it with `npm run tunnel -- --status`.");
  return 0;
}

async function uninstall(ctx: OpsContext, platform: Platform, uid: number): Promise<number> {
  const home = homeOf(ctx);
  const file = platform === "linux" ? unitPath(ctx.env, home, ctx.stack) : plistPath(home, ctx.stack);
  const cmds = managerCommands(platform, ctx.stack, file, uid);
  const existed = fs.existsSync(file);
  for (const c of cmds.unload) await manager(ctx, c);
  fs.rmSync(file, { force: true });
  for (const c of cmds.afterRemove) await manager(ctx, c);
  ctx.out(existed ? `Stopped the tunnel service and removed ${file}.` : `No tunnel service was installed (${file} does not exist); nothing to remove.`);
  return 0;
}

async function status(ctx: OpsContext, platform: Platform, uid: number): Promise<number> {
  const home = homeOf(ctx);
  const file = platform === "linux" ? unitPath(ctx.env, home, ctx.stack) : plistPath(home, ctx.stack);
  if (!fs.existsSync(file)) {
    ctx.out(`The tunnel service is not installed (${file} does not exist); install it with \`npm run tunnel -- --install\`.`);
    return 1;
  }
  const cmds = managerCommands(platform, ctx.stack, file, uid);
  const res = await manager(ctx, cmds.status);
  const state: ServiceState = platform === "linux" ? parseSystemdShow(res.stdout) : parseLaunchctlPrint(res.code, res.stdout);
  ctx.out(
    `Tunnel service ${file}: ${state.running ? "running" : "NOT running"}, ${state.detail}${state.pid ? `, pid ${state.pid}` : ""}${state.restarts !== undefined ? `, ${state.restarts} restart(s)` : ""}${state.since ? `, since ${state.since}` : ""}`,
  );
  const forwards = [...fs.readFileSync(file, "utf8").matchAll(/127\.0\.0\.1:(\d+):[^\s"<]+/g)].map((m) => Number(m[1]));
  let answering = true;
  for (const port of forwards) {
    const res = await getHealthz(port, 2000);
    const seen = "status" in res ? profileOf(res.body) : {};
    if ("status" in res && res.status === 200 && seen.profile)
      ctx.out(`  127.0.0.1:${port}  answers as the ${seen.profile} lane (revision ${seen.revision ?? "unknown"})`);
    else {
      answering = false;
      ctx.out(`  127.0.0.1:${port}  does not answer /healthz (${"status" in res ? `HTTP ${res.status}` : res.error})`);
    }
  }
  if (!state.running)
    ctx.out(
      platform === "linux"
        ? `See why with \`journalctl --user -u sir-convert-a-lot-tunnel-${ctx.stack} -n 50\`.`
        : `See why in ~/Library/Logs/sir-convert-a-lot-tunnel-${ctx.stack}.log.`,
    );
  return state.running && answering ? 0 : 1;
}

export async function serviceMain(
  argv: string[],
  ctx: OpsContext,
  deps: ServiceDeps = { platform: process.platform, uid: process.getuid?.() ?? 0 },
): Promise<number> {
  const parsed = parseCommandFlags<ServiceFlags>(program(), argv, ctx);
  if (parsed.kind === "help") return 0;
  const f = parsed.options;
  const chosen = [f.install && "--install", f.uninstall && "--uninstall", f.status && "--status"].filter(Boolean);
  if (chosen.length !== 1)
    throw new OpsError(`give exactly one of --install, --uninstall, --status (got ${chosen.join(", ") || "none"})`, "see `npm run tunnel -- --help`", 2);
  const platform = platformOf(deps.platform);
  const runCtx = { ...ctx, stack: f.stack ?? ctx.stack };
  if (f.install) return install(runCtx, platform, deps.uid);
  if (f.uninstall) return uninstall(runCtx, platform, deps.uid);
  return status(runCtx, platform, deps.uid);
}
