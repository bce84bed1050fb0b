// SSH forward for HTTP: `ssh -N -L <private dir>/http.sock:<host>:<port>`. The local end is a Unix
// socket in a directory only this user can enter (mkdtemp, 0700), never a TCP port: a free port picked,
// closed and then handed to ssh could be bound first by any local process (it reads the port from ssh's
// world-readable command line) and would receive every request, API key included. Before use the socket
// is checked to be a socket, owned by us, in that directory. The tunnel process is also the
// ControlMaster that host probes reuse. It runs in its own process group and is closed on close(), on exit,
// on SIGINT/SIGTERM and, when the verifier is SIGKILLed or its parent dies, by the reaper (via cleanup.ts).
import { type ChildProcess, spawn } from "node:child_process";
import { lstatSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { sleep } from "../deadline";
import { killGroup, trackChild, untrackChild } from "./cleanup";
import { type SshTarget, targetArgs } from "./target";

export interface Tunnel {
  /** URL for requests through the tunnel (its host names the remote end; the connection goes to socketPath). */
  localUrl: URL;
  /** The Unix socket ssh listens on, in a private directory. */
  socketPath: string;
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

/** True when `file` is a socket owned by this user inside `dir`, which only this user can enter. */
function ownSocket(file: string, dir: string): boolean {
  try {
    const d = lstatSync(dir);
    const f = lstatSync(file);
    const uid = process.getuid?.() ?? -1;
    return d.isDirectory() && (d.mode & 0o077) === 0 && d.uid === uid && f.isSocket() && f.uid === uid;
  } catch {
    return false;
  }
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: socketPath });
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
  const controlDir = await mkdtemp(path.join(os.tmpdir(), "scal-ssh-"));
  await chmod(controlDir, 0o700);
  const controlPath = path.join(controlDir, "ctl");
  const socketPath = path.join(controlDir, "http.sock");
  const remote = remoteHost.includes(":") ? `[${remoteHost}]` : remoteHost;
  const args = [
    "-N",
    "-L",
    `${socketPath}:${remote}:${remotePort}`,
    "-o",
    "ExitOnForwardFailure=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "ControlMaster=yes",
    "-o",
    `ControlPath=${controlPath}`,
    "-o",
    "ServerAliveInterval=15",
    ...targetArgs(opts.target, opts.sshOptions),
  ];
  // Its own process group, registered with the reaper: it dies with the verifier, even a SIGKILLed one.
  const child = spawn("ssh", args, { env: opts.env, stdio: ["ignore", "ignore", "pipe"], detached: true });
  trackChild(child, controlDir);
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  let spawnError: string | undefined;
  child.once("error", (e) => (spawnError = e.message));

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, "SIGTERM");
      await waitForExit(child, 2000);
      if (child.exitCode === null && child.signalCode === null) killGroup(child, "SIGKILL");
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
    if (ownSocket(socketPath, controlDir) && (await canConnect(socketPath))) break;
    if (Date.now() >= giveUpAt) {
      await close();
      throw new Error(`ssh tunnel to ${opts.target.display} did not open within ${(opts.timeoutMs / 1000).toFixed(1)}s`);
    }
    await sleep(50);
  }
  return {
    localUrl: new URL(`${opts.serviceUrl.protocol}//${opts.serviceUrl.host}${opts.serviceUrl.pathname}`),
    socketPath,
    pid: child.pid ?? -1,
    controlPath,
    close,
  };
}
