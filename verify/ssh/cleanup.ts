// Registry of child processes that must not outlive the verifier (SSH tunnels): killed on close, on
// process exit, and by the CLI's SIGINT/SIGTERM handlers.
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";

const live = new Set<ChildProcess>();
const scratchDirs = new Map<ChildProcess, string>();
let exitHookInstalled = false;

/** Tracks a child (and optionally a scratch dir removed with it, e.g. its ControlPath dir). */
export function trackChild(child: ChildProcess, scratchDir?: string): void {
  live.add(child);
  if (scratchDir) scratchDirs.set(child, scratchDir);
  child.once("exit", () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", killAllTracked);
  }
}

export function untrackChild(child: ChildProcess): void {
  live.delete(child);
  scratchDirs.delete(child);
}

/** Synchronous so it can run from an `exit` hook or a signal handler. */
export function killAllTracked(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }
  for (const dir of scratchDirs.values()) rmSync(dir, { recursive: true, force: true });
  live.clear();
  scratchDirs.clear();
}
