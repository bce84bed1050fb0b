// Starts a nodejs CrossGuard policy pack the way the Pulumi engine does: the engine's
// `pulumi-analyzer-policy` plugin resolves `@pulumi/pulumi/cmd/run-policy-pack` from the pack
// directory and runs `node <run-policy-pack> <engine-address> .` with the pack directory as cwd;
// the pack serves the Analyzer gRPC API on 127.0.0.1 and prints its port as the first stdout line.
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";

export interface PolicyPackProcess {
  port: number;
  pid: number;
  /** Everything the pack wrote to stderr (and stdout after the port line). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  packDir: string;
  /** Passed as <engine-address>; run-policy-pack drops it, the pack never dials the engine. */
  engineAddress?: string;
  /** How long to wait for the port line (ts-node type-checks the pack first). */
  timeoutMs?: number;
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export function startPolicyPack(opts: StartOptions): Promise<PolicyPackProcess> {
  const packDir = path.resolve(opts.packDir);
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
  const child = spawn(process.execPath, [runner, opts.engineAddress ?? "127.0.0.1:0", "."], {
    cwd: packDir,
    stdio: ["ignore", "pipe", "pipe"],
    env: process.env,
  });
  let out = "";
  let stdoutBuf = "";
  let port: number | undefined;
  child.stderr.setEncoding("utf8");
  child.stdout.setEncoding("utf8");
  child.stderr.on("data", (d: string) => (out += d));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stopProcess(child);
      reject(new Error(`policy pack in ${packDir} printed no port within ${opts.timeoutMs ?? 180000} ms:\n${out}`));
    }, opts.timeoutMs ?? 180000);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`policy pack in ${packDir} ${why}:\n${out}`));
    };
    child.once("error", (err) => fail(`could not start (${err.message})`));
    child.once("exit", (code, signal) => {
      if (port === undefined) fail(`exited (${signal ?? code}) before printing its port`);
    });
    child.stdout.on("data", (d: string) => {
      if (port !== undefined) {
        out += d;
        return;
      }
      stdoutBuf += d;
      const nl = stdoutBuf.indexOf("\n");
      if (nl < 0) return;
      const first = stdoutBuf.slice(0, nl).trim();
      out += stdoutBuf.slice(nl + 1);
      if (!/^\d+$/.test(first)) return fail(`printed ${JSON.stringify(first)} instead of a port`);
      port = Number(first);
      clearTimeout(timer);
      resolve({ port, pid: child.pid ?? -1, output: () => out, stop: () => stopProcess(child) });
    });
  });
}
