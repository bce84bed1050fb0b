// The reaper: one small watchdog process per verifier that ends the verifier's children when the
// verifier cannot. Every child runs in its own process group (spawned detached) that is registered
// here over a pipe. When the pipe closes (the verifier exited or was SIGKILLed) the reaper kills each
// registered group (SIGTERM, then SIGKILL after 1 s) and removes its scratch dir (the tunnel's
// ControlPath/socket dir). When the verifier's parent goes away (the command provider's `sh -c`
// wrapper was killed, so nobody waits for the result) it sends the verifier SIGTERM, which closes
// the tunnel and ends the run; the pipe closing then reaps whatever is left. The reaper is in its own
// session, so a signal to the wrapper's process group does not take it down first.
import { type ChildProcess, spawn } from "node:child_process";
import type { Writable } from "node:stream";

const REAPER_SOURCE = String.raw`
"use strict";
const fs = require("node:fs");
const [verifierPid, parentPid] = process.argv.slice(1).map(Number);
const groups = new Map();
let buffered = "";
let reaping = false;
for (const s of ["SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE"]) process.on(s, () => undefined);
function parentOf(pid) {
  try {
    const stat = fs.readFileSync("/proc/" + pid + "/stat", "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}
function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === "EPERM"; }
}
function reap() {
  if (reaping) return;
  reaping = true;
  for (const pgid of groups.keys()) try { process.kill(-pgid, "SIGTERM"); } catch {}
  setTimeout(() => {
    for (const [pgid, dir] of groups) {
      try { process.kill(-pgid, "SIGKILL"); } catch {}
      if (dir) try { fs.rmSync(dir, { recursive: true, force: true }); } catch {}
    }
    process.exit(0);
  }, groups.size > 0 ? 1000 : 0);
}
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buffered += chunk;
  for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    const [op, pgid, ...dir] = line.split(" ");
    if (op === "+") groups.set(Number(pgid), dir.join(" "));
    else if (op === "-") groups.delete(Number(pgid));
  }
});
process.stdin.on("end", reap);
process.stdin.on("error", reap);
let told = false;
setInterval(() => {
  const parent = parentOf(verifierPid);
  const gone = parent === undefined ? !alive(parentPid) : parent !== parentPid;
  if (gone && !told) {
    told = true;
    try { process.kill(verifierPid, "SIGTERM"); } catch {}
    setTimeout(reap, 5000);
  }
}, 200);
`;

let reaper: ChildProcess | undefined;

function pipeTo(): Writable | undefined {
  if (reaper && reaper.exitCode === null && reaper.stdin && !reaper.stdin.destroyed) return reaper.stdin;
  try {
    reaper = spawn(process.execPath, ["-e", REAPER_SOURCE, String(process.pid), String(process.ppid)], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
  } catch {
    return undefined;
  }
  reaper.unref();
  reaper.on("error", () => undefined);
  const stdin = reaper.stdin;
  stdin?.on("error", () => undefined);
  (stdin as unknown as { unref?: () => void } | null)?.unref?.(); // a pipe socket: never keeps this process alive
  return stdin ?? undefined;
}

/** The reaper ends process group `pgid` (and removes `scratchDir`) if this process dies first. */
export function registerGroup(pgid: number, scratchDir?: string): void {
  pipeTo()?.write(`+ ${pgid} ${scratchDir ?? ""}\n`);
}

export function unregisterGroup(pgid: number): void {
  if (reaper && reaper.exitCode === null) reaper.stdin?.write(`- ${pgid}\n`);
}

/** Pid of the running reaper (tests). */
export function reaperPid(): number | undefined {
  return reaper?.exitCode === null ? reaper.pid : undefined;
}
