// The GPU lock: FIFO within a process, and a lock file that makes separate verifier runs (Pulumi's
// per-lane verification commands) take turns on the GPU; stale lock files are taken over. The hostile
// races (crashes, reboots, 8 concurrent processes) are in test/hostile/gpuLockRace.test.ts.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { currentBootId, GpuLock, processStartTime } from "../../verify/gpuLock";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpu-lock-"))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function recordTurns(locks: GpuLock[]): Promise<string[]> {
  const events: string[] = [];
  await Promise.all(
    locks.map((lock, i) =>
      lock.run(async () => {
        events.push(`start ${i}`);
        await sleep(150);
        events.push(`end ${i}`);
      }),
    ),
  );
  return events;
}

test("jobs on one lock never overlap", async () => {
  const lock = new GpuLock();
  expect(await recordTurns([lock, lock, lock])).toEqual(["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]);
});

test("two locks on the same file take turns and leave only a released generation behind", async () => {
  const file = path.join(dir, "gpu.lock");
  const events = await recordTurns([new GpuLock({ file, pollMs: 20 }), new GpuLock({ file, pollMs: 20 })]);
  expect(events[1]).toMatch(/^end /);
  expect(events[2]).toMatch(/^start /);
  expect(fs.readdirSync(dir)).toEqual(["gpu.lock.2"]);
  expect(fs.readFileSync(`${file}.2`, "utf8")).toBe("released\n");
});

test("without a shared file, separate locks overlap (what the file prevents)", async () => {
  const events = await recordTurns([new GpuLock(), new GpuLock()]);
  expect(events.slice(0, 2)).toEqual(["start 0", "start 1"]);
});

test("a lock file left by a dead process is taken over", async () => {
  const file = path.join(dir, "gpu.lock");
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  fs.writeFileSync(`${file}.1`, `${JSON.stringify({ pid: Number(dead.stdout), bootId: "", startTime: "", token: "x", leaseMs: 60000 })}\n`);
  const lock = new GpuLock({ file, pollMs: 20, waitMs: 2000 });
  await expect(lock.run(async () => JSON.parse(fs.readFileSync(`${file}.2`, "utf8")).pid)).resolves.toBe(process.pid);
});

test("a lock held by a live process fails at the wait limit, naming the holder", async () => {
  const file = path.join(dir, "gpu.lock");
  const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 10000)"]);
  try {
    await sleep(200); // /proc/<pid>/stat of the started node
    fs.writeFileSync(
      `${file}.1`,
      `${JSON.stringify({ pid: holder.pid, bootId: currentBootId(), startTime: processStartTime(holder.pid as number), token: "x", leaseMs: 60000 })}\n`,
    );
    const started = Date.now();
    const lock = new GpuLock({ file, pollMs: 20, waitMs: 300 });
    await expect(lock.run(async () => "ran")).rejects.toThrow(new RegExp(`GPU lock .* held by pid ${holder.pid}`));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(JSON.parse(fs.readFileSync(`${file}.1`, "utf8")).pid).toBe(holder.pid);
  } finally {
    holder.kill();
  }
});
