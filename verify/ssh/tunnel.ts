// SSH port-forward for HTTP (`ssh -N -L <free local port>:<host>:<port>`). The tunnel process is also the
// ControlMaster that host probes reuse. It is closed on close(), on exit and on SIGINT/SIGTERM (via cleanup.ts).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { sleep } from "../deadline";
import { trackChild, untrackChild } from "./cleanup";
import { type SshTarget, targetArgs } from "./target";

export interface Tunnel {
  /** URL that reaches the service through the tunnel. */
  localUrl: URL;
  localPort: number;
  pid: number;
  controlPath: string;
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function openTunnel(opts: {
  target: SshTarget;
  sshOptions: readonly string[];
  serviceUrl: URL;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}): Promise<Tunnel> {
  const remoteHost = opts.serviceUrl.hostname.replace(/^\[|\]$/g, "");
  const remotePort = Number(opts.serviceUrl.port || (opts.serviceUrl.protocol === "https:" ? 443 : 80));
  const localPort = await freePort();
  const controlDir = await mkdtemp(path.join(os.tmpdir(), "scal-ssh-"));
  const controlPath = path.join(controlDir, "ctl");
  const args = [
    "-N",
    "-L",
    `127.0.0.1:${localPort}:${remoteHost}:${remotePort}`,
    "-o", "ExitOnForwardFailure=yes",
    "-o", "BatchMode=yes",
    "-o", "ControlMaster=yes",
    "-o", `ControlPath=${controlPath}`,
    "-o", "ServerAliveInterval=15",
    ...targetArgs(opts.target, opts.sshOptions),
  ];
  const child = spawn("ssh", args, { env: opts.env, stdio: ["ignore", "ignore", "pipe"] });
  trackChild(child, controlDir);
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  let spawnError: string | undefined;
  child.once("error", (e) => (spawnError = e.message));

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await waitForExit(child, 2000);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    untrackChild(child);
    await rm(controlDir, { recursive: true, force: true });
  };

  const giveUpAt = Date.now() + opts.timeoutMs;
  for (;;) {
    if (spawnError !== undefined || child.exitCode !== null || child.signalCode !== null) {
      await close();
      throw new Error(
        `ssh tunnel to ${opts.target.display} (${remoteHost}:${remotePort}) failed: ${spawnError ?? `ssh exited ${child.exitCode ?? child.signalCode}`}${stderr.trim() ? `: ${stderr.trim().split("\n").slice(-2).join(" | ")}` : ""}`,
      );
    }
    if (await canConnect(localPort)) break;
    if (Date.now() >= giveUpAt) {
      await close();
      throw new Error(`ssh tunnel to ${opts.target.display} did not open within ${(opts.timeoutMs / 1000).toFixed(1)}s`);
    }
    await sleep(50);
  }
  return {
    localUrl: new URL(`${opts.serviceUrl.protocol}//127.0.0.1:${localPort}${opts.serviceUrl.pathname}`),
    localPort,
    pid: child.pid ?? -1,
    controlPath,
    close,
  };
}
