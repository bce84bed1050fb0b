// Box suites run one at a time even when jest gives them two workers: the GPU stand-in is
// device-wide (one suite's GPU jobs would be another's foreign GPU work) and the lanes have the
// committed fixed names and ports. A mkdir lock in the box state dir, with the holder's pid, taken
// stale when that pid is gone; waiting is bounded.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

function holderAlive(dir: string): boolean {
  try {
    const pid = Number(readFileSync(path.join(dir, "pid"), "utf8"));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function acquireSuiteLock(state: string, maxWaitMs: number): Promise<() => void> {
  const dir = path.join(state, "suite.lock");
  const until = Date.now() + maxWaitMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(path.join(dir, "pid"), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch {
      if (!holderAlive(dir)) {
        // no pid yet (just made) or a dead holder: give a fresh holder a moment, then take it over
        await new Promise((r) => setTimeout(r, 300));
        if (!holderAlive(dir)) rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > until) throw new Error(`another box suite held ${dir} for more than ${maxWaitMs} ms`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
