// Registry of child processes that must not outlive the verifier (SSH tunnels, host probes). Each
// runs in its own process group (spawned detached) and is killed as a group: on close, on process
// exit, by the CLI's SIGINT/SIGTERM handlers, and, when this process is SIGKILLed or its parent
// goes away, by the reaper (verify/host/reaper.ts), which also removes the scratch dirs.
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { registerGroup, unregisterGroup } from "../host/reaper";

const live = new Set<ChildProcess>();
const scratchDirs = new Map<ChildProcess, string>();
let exitHookInstalled = false;

/** Signals the child's whole process group (it was spawned detached, so its pid is the group id). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** Tracks a child spawned with `detached: true` (and optionally a scratch dir removed with it, e.g. its ControlPath dir). */
export function trackChild(child: ChildProcess, scratchDir?: string): void {
  live.add(child);
  if (scratchDir) scratchDirs.set(child, scratchDir);
  if (child.pid !== undefined) registerGroup(child.pid, scratchDir);
  child.once("exit", () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", killAllTracked);
  }
}

export function untrackChild(child: ChildProcess): void {
  live.delete(child);
  scratchDirs.delete(child);
  if (child.pid !== undefined) unregisterGroup(child.pid);
}

/** Synchronous so it can run from an `exit` hook or a signal handler. */
export function killAllTracked(): void {
  for (const child of live) killGroup(child, "SIGTERM");
  for (const dir of scratchDirs.values()) rmSync(dir, { recursive: true, force: true });
  live.clear();
  scratchDirs.clear();
}
