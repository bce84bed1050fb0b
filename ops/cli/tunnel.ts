// `npm run tunnel`: opens SSH tunnels from this machine to the lanes on Hemma (one ssh process,
// one -L per lane), reusing a tunnel that is already open (its port answers /healthz with the
// lane's profile) and moving to another port when something else holds the usual one.
// Flags: --lane <name> (repeatable), --prod-port <n>, --eval-port <n>, --detach, --stack <name>.

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { localForward, sshArgs, sshCommandLine } from "../../lib/commands/ssh";
import type { LaneOutput, StackOutputs } from "../pulumi/schemas";
import { type OpsContext, processContext } from "../tool/context";
import { OpsError } from "../tool/error";
import { ToolRun } from "../tool/run";
import { which } from "../tool/runCommand";
import { parseToolArgs, runAsScript, runTool, STACK_FLAG, type ToolSpec, usageError } from "../tool/shell";
import { getHealthz, nextFreePort, probePort, profileOf } from "./tunnel/portProbe";
import { isServiceRequest, serviceMain } from "./tunnel/service";

export interface TunnelOptions {
  lanes?: string[];
  /** Local port per lane chosen on the command line (refuse rather than move when taken). */
  ports: Record<string, number>;
  detach: boolean;
  readyTimeoutMs: number;
  stack?: string;
}

export interface LaneTunnel {
  lane: string;
  profile: string;
  localPort: number;
  remoteHost: string;
  remotePort: number;
  action: "reuse" | "open";
  note?: string;
}

export interface TunnelSession {
  lanes: LaneTunnel[];
  /** The ssh process holding the new tunnels (absent when every lane was reused). */
  pid?: number;
  /** Resolves with ssh's exit code when it ends (0 at once when nothing was opened). */
  closed: Promise<number>;
  close(): void;
}

export const TUNNEL_SPEC: ToolSpec = {
  name: "npm run tunnel --",
  summary: "Open SSH tunnels from this machine to the deployed lanes on Hemma (reusing open ones).",
  flags: [
    { flags: "--lane <name>", description: "only this lane (prod or eval; repeat for both; default every deployed lane)", repeatable: true },
    { flags: "--prod-port <n>", description: "local port for the prod lane (refuses rather than moves when taken)" },
    { flags: "--eval-port <n>", description: "local port for the eval lane (refuses rather than moves when taken)" },
    { flags: "--detach", description: "leave ssh running in the background and print its pid" },
    { flags: "--install", description: "write and start a per-user service (systemd user unit / launchd agent) that keeps both lanes' tunnels up" },
    { flags: "--uninstall", description: "stop that service and remove its file" },
    { flags: "--status", description: "say whether that service is installed and running" },
    { flags: "--ready-timeout-seconds <n>", description: "how long to wait for each lane's /healthz through the tunnel (default 20)" },
    STACK_FLAG,
  ],
};

function port(text: string, flag: string, max = 65535): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max)
    throw usageError(`${flag} must be ${max === 65535 ? "a TCP port (1-65535)" : `a whole number from 1 to ${max}`}, got ${text}`, TUNNEL_SPEC);
  return n;
}

export function parseTunnelArgs(argv: string[]): TunnelOptions {
  const values = parseToolArgs(argv, TUNNEL_SPEC) as {
    lane?: string[];
    prodPort?: string;
    evalPort?: string;
    detach?: boolean;
    readyTimeoutSeconds?: string;
    stack?: string;
  };
  const ports: Record<string, number> = {};
  if (values.prodPort) ports.prod = port(values.prodPort, "--prod-port");
  if (values.evalPort) ports.eval = port(values.evalPort, "--eval-port");
  const readySeconds = values.readyTimeoutSeconds ? port(values.readyTimeoutSeconds, "--ready-timeout-seconds", 3600) : 20;
  return { lanes: values.lane, ports, detach: values.detach === true, readyTimeoutMs: readySeconds * 1000, stack: values.stack };
}

function remoteOf(lane: LaneOutput): { host: string; port: number } {
  const url = new URL(lane.url);
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port: lane.hostPort };
}

/** Decides per lane whether to reuse an open tunnel or open one, and on which local port. */
export async function planTunnels(outputs: StackOutputs, opts: TunnelOptions): Promise<LaneTunnel[]> {
  const names = opts.lanes ?? Object.keys(outputs.lanes);
  const unknown = names.filter((n) => !outputs.lanes[n]);
  if (unknown.length > 0) {
    throw new OpsError(
      `lane(s) ${unknown.join(", ")} are not deployed on this stack (deployed: ${Object.keys(outputs.lanes).join(", ") || "none"})`,
      "pass --lane with a deployed lane, or enable the lane in config and deploy",
    );
  }
  const claimed = new Set<number>();
  const plans: LaneTunnel[] = [];
  for (const name of names) {
    const lane = outputs.lanes[name];
    const remote = remoteOf(lane);
    const explicit = opts.ports[name];
    const wanted = explicit ?? lane.localPort;
    const base = { lane: name, profile: lane.profile, remoteHost: remote.host, remotePort: remote.port };
    const state = claimed.has(wanted) ? ({ kind: "taken", detail: "the tunnel for another lane" } as const) : await probePort(wanted, lane.profile);
    if (state.kind === "lane") {
      plans.push({ ...base, localPort: wanted, action: "reuse", note: `already open (service revision ${state.revision ?? "unknown"})` });
    } else if (state.kind === "free") {
      plans.push({ ...base, localPort: wanted, action: "open" });
    } else if (explicit !== undefined) {
      throw new OpsError(`local port ${wanted} for the ${name} lane is taken by ${state.detail}`, `choose another port with --${name}-port <n>`);
    } else {
      const alt = await nextFreePort(wanted, claimed);
      if (alt === undefined)
        throw new OpsError(
          `local port ${wanted} for the ${name} lane is taken by ${state.detail}, and no free port follows it`,
          `choose a port with --${name}-port <n>`,
        );
      plans.push({
        ...base,
        localPort: alt,
        action: "open",
        note: `port ${wanted} is taken by ${state.detail}; using ${alt} instead (choose with --${name}-port)`,
      });
    }
    claimed.add(plans[plans.length - 1].localPort);
  }
  return plans;
}

async function waitUntilAnswering(t: LaneTunnel, deadline: number, exited: () => boolean): Promise<boolean> {
  while (Date.now() < deadline && !exited()) {
    const res = await getHealthz(t.localPort, 1000);
    if ("status" in res && res.status === 200 && profileOf(res.body).profile === t.profile) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

export async function openTunnels(opts: TunnelOptions, ctx: OpsContext): Promise<TunnelSession> {
  const run = new ToolRun(ctx);
  const { pulumi } = run;
  const target = await run.hemma();
  const outputs = await pulumi.outputs(false, "open tunnels to");
  const lanes = await planTunnels(outputs, opts);
  const toOpen = lanes.filter((l) => l.action === "open");
  if (toOpen.length === 0) return { lanes, closed: Promise.resolve(0), close: () => undefined };

  const ssh = which("ssh", ctx.env);
  if (!ssh) throw new OpsError("ssh was not found on PATH", "install an OpenSSH client");
  const forwards = toOpen.flatMap((l) => ["-L", `127.0.0.1:${localForward(l.localPort, l.remoteHost, l.remotePort)}`]);
  // BatchMode: never a password or host-key prompt; sshArgs ends with `-- <destination>`.
  const args = ["-N", "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes", ...forwards, ...sshArgs(target)];
  const logFile = path.join(os.tmpdir(), `sir-convert-a-lot-tunnel-${process.pid}-${Date.now()}.log`);
  const logFd = opts.detach ? fs.openSync(logFile, "a") : undefined;
  const child: ChildProcess = spawn(ssh, args, {
    env: ctx.env,
    stdio: ["ignore", "ignore", logFd ?? "pipe"],
    detached: opts.detach,
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
    c.split("\n")
      .filter((l) => l.trim())
      .forEach((l) => {
        ctx.err(`ssh: ${l}`);
      });
  });
  let exitCode: number | undefined;
  const closed = new Promise<number>((resolve) => {
    child.on("exit", (code, signal) => {
      exitCode = code ?? (signal ? 0 : 1);
      resolve(exitCode);
    });
    child.on("error", (err) => {
      stderr += err.message;
      exitCode = 127;
      resolve(127);
    });
  });
  if (logFd !== undefined) fs.closeSync(logFd);

  const deadline = Date.now() + opts.readyTimeoutMs;
  for (const t of toOpen) {
    const ok = await waitUntilAnswering(t, deadline, () => exitCode !== undefined);
    if (exitCode !== undefined) {
      const detail = opts.detach && fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : stderr;
      throw new OpsError(
        `ssh ${target.destination} exited (code ${exitCode}) before the tunnels were up:\n    ${detail.trim().split("\n").join("\n    ")}`,
        `check \`${sshCommandLine(target, ["true"])}\` works and that nothing holds the local ports`,
      );
    }
    if (!ok)
      t.note = `${t.note ? `${t.note}; ` : ""}tunnel is open but /healthz did not answer as the ${t.profile} lane within ${opts.readyTimeoutMs / 1000}s: is the container running? (\`ssh ${target.destination} docker ps -a\`)`;
  }
  if (opts.detach) child.unref();
  return { lanes, pid: child.pid, closed, close: () => child.kill("SIGTERM") };
}

function describe(t: LaneTunnel): string {
  const how = t.action === "reuse" ? "reusing the open tunnel" : `new tunnel to Hemma ${t.remoteHost}:${t.remotePort}`;
  return `  ${t.lane.padEnd(5)} http://127.0.0.1:${t.localPort}  ${how}${t.note ? ` (${t.note})` : ""}`;
}

export async function main(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    if (isServiceRequest(argv)) return serviceMain(argv, ctx);
    const opts = parseTunnelArgs(argv);
    const session = await openTunnels(opts, { ...ctx, stack: opts.stack ?? ctx.stack });
    ctx.out("Lanes on this machine:");
    session.lanes.forEach((t) => {
      ctx.out(describe(t));
    });
    if (session.pid === undefined) {
      ctx.out("Every tunnel was already open; nothing to do.");
      return 0;
    }
    if (opts.detach) {
      ctx.out(`ssh runs in the background as pid ${session.pid}; close the tunnels with \`kill ${session.pid}\`.`);
      return 0;
    }
    ctx.out("Tunnels are open. Press Ctrl-C to close them.");
    let stopping = false;
    const stop = () => {
      stopping = true;
      session.close();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const code = await session.closed;
    process.removeListener("SIGINT", stop);
    process.removeListener("SIGTERM", stop);
    if (stopping) {
      ctx.out("Tunnels closed.");
      return 0;
    }
    throw new OpsError(`ssh exited with code ${code}; the tunnels are closed`, "re-run `npm run tunnel`; check the network and Hemma's sshd");
  });
}

runAsScript(module, (argv) => main(argv));
