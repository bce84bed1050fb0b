// Units behind GPU attribution: rocm-smi --showpids parsing (layout of ROCm's rocm_smi.py
// showPids()/print2DArray(), ROCm SMI CLI 1.4.x), docker top's PID column, the service's parsing of
// SIR_CONVERT_A_LOT_GPU_AVAILABLE per profile, and the emulator holding the kfd node open while a GPU
// job runs (the box's stand-in rocm-smi lists processes by that open fd).
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gpuAvailableProblem } from "../../verify/checks/gpuEnv";
import { pidsFromTop } from "../../verify/host/docker";
import { gpuProcesses, isWorking } from "../../verify/host/rocmSmi";
import { JobStore } from "../emulator/jobs";

// print2DArray: each cell ljust() to its column's widest cell, then "\t"; printLog(None, ...) drops the GPU prefix.
const SHOWPIDS = [
  "============================ ROCm System Management Interface ============================",
  "================================ KFD Processes =================================",
  "KFD process information:",
  "PID    \tPROCESS NAME\tGPU(s)\tVRAM USED\tSDMA USED\tCU OCCUPANCY\t",
  "1234567\tpython3     \t1     \t268435456\t0        \t12          \t",
  "4242   \tpt_main_thread\t1     \t1024     \t0        \t0           \t",
  "77     \tollama      \t1     \t1024     \t0        \tUNKNOWN     \t",
  "================================================================================",
  "================================== End of ROCm SMI Log ===================================",
].join("\n");

describe("rocm-smi --showpids", () => {
  test("lists host PIDs, names and CU occupancy; a known 0 occupancy is an idle holder", () => {
    const ps = gpuProcesses(SHOWPIDS) ?? [];
    expect(ps).toEqual([
      { pid: 1234567, name: "python3", cuOccupancy: 12 },
      { pid: 4242, name: "pt_main_thread", cuOccupancy: 0 },
      { pid: 77, name: "ollama" },
    ]);
    expect(ps.map(isWorking)).toEqual([true, false, true]);
  });

  test("no processes, and no process section at all, are told apart", () => {
    expect(gpuProcesses("==== KFD Processes ====\nNo KFD PIDs currently running\n=====")).toEqual([]);
    expect(gpuProcesses("GPU[0]\t\t: GPU use (%): 3\n")).toBeUndefined();
  });
});

test("docker top: the PID column found by its header", () => {
  const out =
    "UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD\nroot                2211                2190                0                   07:50               ?                   00:00:03            /app/.venv/bin/python /app/.venv/bin/uvicorn x:app --port 8085\nroot                2300                2211                1                   07:51               ?                   00:00:00            python -c 1\n";
  expect(pidsFromTop(out)).toEqual([2211, 2300]);
  expect(pidsFromTop("")).toEqual([]);
});

test("SIR_CONVERT_A_LOT_GPU_AVAILABLE as the service parses it (prod: exactly 1; eval: 1/true/yes/on)", () => {
  expect(["1", "true", " 1", "yes", "0", ""].map((v) => gpuAvailableProblem("prod", v))).toEqual([
    undefined,
    "exactly 1",
    "exactly 1",
    "exactly 1",
    "exactly 1",
    "exactly 1",
  ]);
  expect([" TRUE ", "on", "Yes", "1", "0", "off", ""].map((v) => gpuAvailableProblem("eval", v) === undefined)).toEqual([
    true,
    true,
    true,
    true,
    false,
    false,
    false,
  ]);
  expect(gpuAvailableProblem("prod", undefined)).toBeUndefined();
});

test("the emulator holds the kfd node open exactly while a GPU job's conversion runs", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "kfd-"));
  const kfd = path.join(dir, "dev", "kfd");
  mkdirSync(path.dirname(kfd));
  writeFileSync(kfd, "");
  const holds = (): boolean =>
    readdirSync("/proc/self/fd").some((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === kfd;
      } catch {
        return false;
      }
    });
  const store = new JobStore(path.join(dir, "data"), {
    jobDurationMs: 300,
    acceleration: "cuda",
    warnings: [],
    failRoutes: {},
    gpuUsePercent: 87,
    gpuPid: 1,
    kfdPath: kfd,
    cpuRoutes: [],
  });
  try {
    const job = {
      api: "v1" as const,
      id: "job_1",
      status: "queued" as const,
      stage: "queued",
      spec: {},
      sourceFilename: "a.pdf",
      sourceFormat: "pdf" as const,
      outputFormat: "md" as const,
      input: Buffer.from("%PDF-1.4\n(x) Tj\n%%EOF"),
      createdAt: "2026-12-02T08:00:00Z",
      updatedAt: "2026-12-02T08:00:00Z",
      completedAt: null,
      pinned: false,
      warnings: [],
      error: null,
    };
    expect(holds()).toBe(false);
    store.create(job);
    await new Promise((r) => setTimeout(r, 120));
    expect(holds()).toBe(true);
    await new Promise((r) => setTimeout(r, 400));
    expect(holds()).toBe(false);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
