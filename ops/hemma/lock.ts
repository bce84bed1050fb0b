// One lock for everything that changes Hemma (deploy, preview's config round trip, rollback,
// prune, init): a directory on Hemma itself (so two operators' machines exclude each other),
// written by ops/hemma/lockScript.ts over ssh (config dockerHost/sshOpts, read from the stack file),
// or on this machine when the docker host is a local socket.
//
// Who and since when: the owner record names user@host, pid, tool and start time; a waiter prints it.
// Released when the tool's body ends (finally), and on SIGINT/SIGTERM when nothing else handles the
// signal (a running `pulumi up` handles it itself and the body then ends normally, releasing it).
// Taken over only when provably stale:
//   1. the owner ran on this machine (same hostname) and its pid is gone (kill(pid, 0) → ESRCH), or
//   2. its lease expired: the holder renews `expires` (Hemma's clock) every LEASE/4 while it runs,
//      so an expired lease means the holder has not reached Hemma for a whole lease (killed, laptop
//      asleep or off the network).
// The takeover is a compare-and-swap under flock on Hemma: it replaces only the owner it judged stale.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { configObject } from "../../lib/config/schema";
import { sshOptionValues } from "../../lib/sshTarget";
import { type OpsContext, PROJECT_NAMESPACE } from "../tool/context";
import { OpsError } from "../tool/error";
import { runCommand, tail } from "../tool/runCommand";
import { LOCK_SCRIPT, type LockReply, parseLockReply } from "./lockScript";
import { isSshUrl, runOnHemma, sshTargetFromDockerHost } from "./ssh";

/** The lock directory on Hemma, shared by every operator (override only for tests). */
export const DEFAULT_LOCK_DIR = "/var/tmp/sir-convert-a-lot/ops.lock";
export const LOCK_DIR_ENV = "SIR_CONVERT_A_LOT_HEMMA_LOCK_DIR";
/** Lease seconds; override for tests only. */
export const LOCK_LEASE_ENV = "SIR_CONVERT_A_LOT_HEMMA_LOCK_LEASE_SECONDS";
export const DEFAULT_LEASE_SECONDS = 120;
export const DEFAULT_WAIT_SECONDS = 300;

export interface LockOwner {
  user: string;
  host: string;
  pid: number;
  tool: string;
  since: string;
}

interface LockHost {
  where: string;
  run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** dockerHost and sshOpts from Pulumi.<stack>.yaml (the tools' config source), with the program's defaults. */
export function lockHostConfig(projectDir: string, stack: string): { dockerHost: string; sshOpts: string[] } {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  let cfg: Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    // js-yaml ships with @pulumi/pulumi.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const yaml = require("js-yaml") as { load(text: string): unknown };
    const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    cfg = doc?.config ?? {};
  }
  const invalid = (key: string, why: string) =>
    new OpsError(`${file}: ${PROJECT_NAMESPACE}:${key} is invalid: ${why}`, "fix it (README, Configuration reference)");
  const dockerHost = configObject.shape.dockerHost.safeParse(cfg[`${PROJECT_NAMESPACE}:dockerHost`]);
  if (!dockerHost.success) throw invalid("dockerHost", dockerHost.error.issues.map((i: { message: string }) => i.message).join("; "));
  // sshOpts as the schema checks them, with this stack's allowUnsafeSshOpts (the schema's field
  // refinement knows that flag only inside a whole-config parse, lib/config/schema.ts).
  const raw = cfg[`${PROJECT_NAMESPACE}:sshOpts`];
  if (raw === undefined) return { dockerHost: dockerHost.data, sshOpts: configObject.shape.sshOpts.parse(undefined) };
  if (!Array.isArray(raw) || raw.some((o) => typeof o !== "string")) throw invalid("sshOpts", "expected a list of strings");
  try {
    sshOptionValues(raw as string[], cfg[`${PROJECT_NAMESPACE}:allowUnsafeSshOpts`] === true);
  } catch (err) {
    throw invalid("sshOpts", (err as Error).message);
  }
  return { dockerHost: dockerHost.data, sshOpts: raw as string[] };
}

function lockHost(ctx: OpsContext): LockHost {
  const { dockerHost, sshOpts } = lockHostConfig(ctx.projectDir, ctx.stack);
  if (isSshUrl(dockerHost)) {
    const target = sshTargetFromDockerHost(dockerHost, sshOpts);
    return {
      where: `ssh ${target.destination}`,
      run: (args) => runOnHemma(target, ["sh", "-c", LOCK_SCRIPT, "sh", ...args], ctx, { timeoutMs: 60_000 }),
    };
  }
  // unix:// means the tools run on Hemma itself; for tcp:// this machine is the only shared place we can reach.
  return { where: "this machine", run: (args) => runCommand("/bin/sh", ["-c", LOCK_SCRIPT, "sh", ...args], { env: ctx.env, timeoutMs: 60_000 }) };
}

export function describeOwner(raw: string | undefined): string {
  const o = parseOwner(raw);
  if (!o) return `an unreadable owner (${raw ?? "none recorded"})`;
  return `${o.user}@${o.host} (pid ${o.pid}, npm run ${o.tool}) since ${o.since}`;
}

function parseOwner(raw: string | undefined): LockOwner | undefined {
  if (!raw) return undefined;
  try {
    const o = JSON.parse(raw) as LockOwner;
    return typeof o.pid === "number" && typeof o.host === "string" ? o : undefined;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface HeldLock {
  release(): Promise<void>;
}

export interface LockOptions {
  tool: string;
  /** How long to wait for another holder, in seconds (0: do not wait). */
  waitSeconds?: number;
}

async function call(host: LockHost, args: string[]): Promise<LockReply> {
  const res = await host.run(args);
  const reply = parseLockReply(res.stdout);
  if (res.code === 255 && host.where.startsWith("ssh ")) {
    throw new OpsError(
      `could not reach Hemma (${host.where}) to take the operator lock:\n    ${tail(res.stderr || res.stdout)}`,
      `check that \`${host.where} true\` works without a password prompt (key in ssh-agent, host alias in ~/.ssh/config)`,
    );
  }
  if (res.code !== 0 || reply.status === "ERROR") {
    throw new OpsError(
      `the operator lock on ${host.where} failed: ${reply.status === "ERROR" && reply.detail ? reply.detail : tail(res.stderr || res.stdout)}`,
      "check that the lock's folder on Hemma is writable and `flock` is installed (docs/runbook.md, The operator lock)",
    );
  }
  return reply;
}

/** Takes the Hemma lock, waiting up to waitSeconds for another holder and saying who it is. */
export async function acquireHemmaLock(ctx: OpsContext, opts: LockOptions): Promise<HeldLock> {
  const host = lockHost(ctx);
  const dir = ctx.env[LOCK_DIR_ENV] || DEFAULT_LOCK_DIR;
  const lease = Number(ctx.env[LOCK_LEASE_ENV]) > 0 ? Math.round(Number(ctx.env[LOCK_LEASE_ENV])) : DEFAULT_LEASE_SECONDS;
  const token = randomBytes(16).toString("hex");
  const me: LockOwner = { user: os.userInfo().username, host: os.hostname(), pid: process.pid, tool: opts.tool, since: new Date().toISOString() };
  const deadline = Date.now() + (opts.waitSeconds ?? DEFAULT_WAIT_SECONDS) * 1000;
  let lastHolder: string | undefined;
  let stale = "";
  for (let attempt = 0; ; attempt++) {
    const reply = await call(host, ["acquire", dir, token, String(lease), JSON.stringify(me), stale]);
    if (reply.status === "ACQUIRED") break;
    if (reply.status === "TAKEN_OVER" || reply.status === "TAKEN_OVER_EXPIRED") {
      const why =
        reply.status === "TAKEN_OVER"
          ? "its process is gone from this machine"
          : `its lease expired ${reply.now !== undefined && reply.expires !== undefined ? `${reply.now - reply.expires}s ago` : ""} (the holder stopped renewing it)`;
      ctx.err(`note: took over the Hemma operator lock from ${describeOwner(reply.owner)}: ${why}`);
      break;
    }
    // HELD: provably stale when the owner ran here and its pid is gone; retry at once as a compare-and-swap.
    const owner = parseOwner(reply.owner);
    if (owner && reply.owner && owner.host === me.host && !pidAlive(owner.pid) && stale !== reply.owner) {
      stale = reply.owner;
      continue;
    }
    const holder = describeOwner(reply.owner);
    const left = reply.expires !== undefined && reply.now !== undefined ? reply.expires - reply.now : undefined;
    if (Date.now() >= deadline) {
      throw new OpsError(
        `Hemma's operator lock is held by ${holder}${left !== undefined ? `; its lease runs ${left}s more unless renewed` : ""}`,
        `wait for that tool to finish and run this again (or pass --lock-wait <seconds>); if its holder is gone the lock frees itself when the lease expires (docs/runbook.md, The operator lock)`,
      );
    }
    if (holder !== lastHolder)
      ctx.err(`waiting for Hemma's operator lock, held by ${holder} (giving up in ${Math.ceil((deadline - Date.now()) / 1000)}s; Ctrl-C to stop)`);
    lastHolder = holder;
    await new Promise((r) => setTimeout(r, Math.min(2000, Math.max(100, deadline - Date.now()))));
    if (attempt > 100_000) throw new OpsError("internal: lock loop did not end", "report this as a bug");
  }

  let released = false;
  const renew = setInterval(
    () => {
      call(host, ["renew", dir, token, String(lease)])
        .then((r) => {
          if (r.status === "LOST" && !released)
            ctx.err(`warning: Hemma's operator lock was taken over by ${describeOwner(r.owner)}; this run no longer holds it`);
        })
        .catch((err: Error) => ctx.err(`warning: could not renew Hemma's operator lock: ${err.message}`));
    },
    Math.max(250, (lease * 1000) / 4),
  );
  renew.unref();
  return {
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(renew);
      await call(host, ["release", dir, token, String(lease)]).catch((err: Error) =>
        ctx.err(`warning: could not release Hemma's operator lock (it frees itself after ${lease}s): ${err.message}`),
      );
    },
  };
}

/**
 * Runs body while holding the lock; releases it afterwards and on SIGINT/SIGTERM (exit 130/143)
 * unless another handler (a running pulumi's graceful cancel) owns the signal.
 */
export async function withHemmaLock<T>(ctx: OpsContext, opts: LockOptions, body: () => Promise<T>): Promise<T> {
  const lock = await acquireHemmaLock(ctx, opts);
  const onSignal = (signal: NodeJS.Signals) => (): void => {
    if (process.listenerCount(signal) > 1) return; // pulumi is running: it cancels, the body ends, finally releases.
    ctx.err(`received ${signal}: releasing Hemma's operator lock`);
    void lock.release().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  const onInt = onSignal("SIGINT");
  const onTerm = onSignal("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    return await body();
  } finally {
    process.removeListener("SIGINT", onInt);
    process.removeListener("SIGTERM", onTerm);
    await lock.release();
  }
}
