// Serialises GPU work so GPU-use samples are attributable to one job: a FIFO async mutex within
// this process (share one lock across lanes verified together), optionally backed by lock files so
// separate verifier processes on the same machine (e.g. Pulumi's per-lane verification commands
// running in parallel) take turns too.
//
// The file lock is a sequence of generation files `<file>.<N>`; the holder is whoever created the
// highest generation, and the highest generation is never deleted (a release rewrites it as
// "released"). Taking the lock, or taking it over from a holder that is gone, means creating
// generation N+1 with link(2), which is atomic and exclusive: of any number of waiters exactly one
// succeeds, and the file never exists half-written. A holder is gone when its record says so
// (released), cannot be read (empty or garbage), names another boot (/proc/sys/kernel/random/boot_id)
// or a process that is not alive or started at another time (a PID reused, e.g. after a reboot), or
// when its lease expired: the holder touches its file every lease/4 and a file untouched for a whole
// lease belongs to a hung or dead holder. A holder that finds its lease lost (a newer generation
// exists) fails its job rather than trusting GPU samples it may share.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface GpuLockOptions {
  /** Lock file shared by every verifier process that must take turns (generations live beside it). */
  file?: string;
  /** How long to wait for the file lock before failing; default 10 minutes. */
  waitMs?: number;
  /** Poll interval while another process holds the file lock; default 200 ms. */
  pollMs?: number;
  /** A holder that has not renewed its file for this long has lost the lock; default 30 s. */
  leaseMs?: number;
}

/** What a generation file records about its holder. */
export interface HolderRecord {
  pid: number;
  /** Linux boot id of the holder's boot ("" where unknown). */
  bootId: string;
  /** The holder process's start time in clock ticks since boot (/proc/<pid>/stat field 22; "" where unknown). */
  startTime: string;
  token: string;
  leaseMs: number;
}

export class GpuLockLostError extends Error {}

const RELEASED = "released\n";

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    return fallback;
  }
}

export function currentBootId(): string {
  return readOr("/proc/sys/kernel/random/boot_id", "");
}

/** Start time of `pid` in clock ticks since boot, or "" when unknown (no /proc, no such process). */
export function processStartTime(pid: number): string {
  const stat = readOr(`/proc/${pid}/stat`, "");
  const afterName = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return afterName[19] ?? "";
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function parseHolder(text: string): HolderRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<HolderRecord>;
    if (!Number.isInteger(r.pid) || (r.pid as number) <= 0) return undefined;
    if (typeof r.bootId !== "string" || typeof r.startTime !== "string" || typeof r.token !== "string") return undefined;
    if (typeof r.leaseMs !== "number" || !(r.leaseMs > 0)) return undefined;
    return r as HolderRecord;
  } catch {
    return undefined;
  }
}

/** Why the holder of a generation file no longer holds it, or undefined when it still does. */
export function whyGone(text: string, mtimeMs: number, now: number): string | undefined {
  if (text === RELEASED.trim()) return "released";
  const holder = parseHolder(text);
  if (!holder) return "unreadable lock record";
  const boot = currentBootId();
  if (holder.bootId !== "" && boot !== "" && holder.bootId !== boot) return `pid ${holder.pid} of an earlier boot`;
  if (!processAlive(holder.pid)) return `pid ${holder.pid} is gone`;
  if (holder.startTime !== "" && processStartTime(holder.pid) !== holder.startTime) return `pid ${holder.pid} is another process now`;
  if (now - mtimeMs > holder.leaseMs) return `pid ${holder.pid} let its lease expire`;
  return undefined;
}

interface Generation {
  n: number;
  file: string;
}

function generations(file: string): Generation[] {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  const out: Generation[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (/^\d{1,15}$/.test(rest)) out.push({ n: Number(rest), file: path.join(dir, name) });
  }
  return out.sort((a, b) => a.n - b.n);
}

/** Writes `content` to `target` only if it does not exist yet, never leaving it half-written. */
function createExclusive(target: string, content: string): boolean {
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  fs.writeFileSync(tmp, content, { flag: "wx", mode: 0o644 });
  try {
    fs.linkSync(tmp, target);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Replaces `target`'s content atomically (rename over it). */
function replaceContent(target: string, content: string): void {
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  fs.writeFileSync(tmp, content, { flag: "wx" });
  fs.renameSync(tmp, target);
}

interface Held {
  release(): void;
  /** Set when another process took the lock over (our lease was judged expired). */
  lost(): string | undefined;
}

export class GpuLock {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly options: GpuLockOptions = {}) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      const held = this.options.file ? await this.lockFile(this.options.file) : undefined;
      let result: T;
      try {
        result = await fn();
      } finally {
        held?.release();
      }
      const lost = held?.lost();
      if (lost) throw new GpuLockLostError(`the GPU lock ${this.options.file} was taken over during the job (${lost}); its GPU samples may include other work`);
      return result;
    } finally {
      release();
    }
  }

  private async lockFile(file: string): Promise<Held> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const waitMs = this.options.waitMs ?? 600_000;
    const poll = this.options.pollMs ?? 200;
    const leaseMs = this.options.leaseMs ?? 30_000;
    const deadline = Date.now() + waitMs;
    const record: HolderRecord = {
      pid: process.pid,
      bootId: currentBootId(),
      startTime: processStartTime(process.pid),
      token: randomBytes(8).toString("hex"),
      leaseMs,
    };
    const content = `${JSON.stringify(record)}\n`;
    for (;;) {
      const gens = generations(file);
      const top = gens[gens.length - 1];
      let holder = "";
      let free = top === undefined;
      if (top) {
        let text = "";
        let mtimeMs = 0;
        try {
          text = fs.readFileSync(top.file, "utf8").trim();
          mtimeMs = fs.statSync(top.file).mtimeMs;
        } catch {
          continue; // superseded and removed while we looked: list again
        }
        free = whyGone(text, mtimeMs, Date.now()) !== undefined;
        const h = parseHolder(text);
        holder = h ? `pid ${h.pid}` : "an unknown process";
      }
      if (free) {
        const mine = path.join(path.dirname(file), `${path.basename(file)}.${(top?.n ?? 0) + 1}`);
        if (createExclusive(mine, content)) {
          const newer = generations(file).filter((g) => g.n > (top?.n ?? 0) + 1);
          if (newer.length === 0) return this.hold(file, (top?.n ?? 0) + 1, record.token);
          fs.rmSync(mine, { force: true }); // created from a stale listing below a newer holder: not ours
        }
        continue; // another waiter won this generation: look again at once
      }
      if (Date.now() > deadline) {
        throw new Error(`waited ${Math.round(waitMs / 1000)} s for the GPU lock ${file} held by ${holder}`);
      }
      await new Promise((resolve) => setTimeout(resolve, poll));
    }
  }

  private hold(file: string, gen: number, token: string): Held {
    const mine = path.join(path.dirname(file), `${path.basename(file)}.${gen}`);
    // Older generations are superseded for good: remove them (never our own, the highest).
    for (const g of generations(file)) if (g.n < gen) fs.rmSync(g.file, { force: true });
    const leaseMs = this.options.leaseMs ?? 30_000;
    let lost: string | undefined;
    const stillMine = (): boolean => {
      if (lost) return false;
      const newer = generations(file).find((g) => g.n > gen);
      if (newer || parseHolder(readOr(mine, ""))?.token !== token) lost = `generation ${newer ? newer.n : "file"} replaced ours`;
      return lost === undefined;
    };
    const renew = setInterval(
      () => {
        if (!stillMine()) return;
        const now = new Date();
        try {
          fs.utimesSync(mine, now, now);
        } catch {
          lost = "our lock file disappeared";
        }
      },
      Math.max(10, Math.floor(leaseMs / 4)),
    );
    renew.unref();
    return {
      release: () => {
        clearInterval(renew);
        if (stillMine()) replaceContent(mine, RELEASED);
      },
      lost: () => lost,
    };
  }
}
