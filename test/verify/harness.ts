// Test harness: one emulated lane (emulator + fake docker config + env with test/bin on PATH) and the
// VerificationOptions that point the verifier at it. Nothing global is mutated.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runVerification, type VerificationOptions, type VerificationReport } from "../../verify";
import { type Emulator, type EmulatorOptions, startEmulator } from "../emulator/server";

export const REV = "0123456789abcdef0123456789abcdef01234567";
export const OTHER_REV = "fedcba9876543210fedcba9876543210fedcba98";
export const API_KEY = "sk-test-Zq9x-secret-verifier-key";
export const TORCH_PIN = "2.10.0+rocm7.1";
export const BIN_DIR = path.resolve(__dirname, "..", "bin");

export interface LaneSpec {
  profile?: "prod" | "eval";
  emulator?: Partial<EmulatorOptions>;
  /** Merged into the fake docker container entry (devices, torch, running). */
  docker?: Record<string, unknown>;
  /** Extra env for the fake executables (e.g. FAKE_ROCM_SMI_MODE). */
  env?: Record<string, string>;
  /** A GPU state dir shared with other lanes (the device is one, its use is device-wide). */
  gpuStateDir?: string;
  /** Other containers the fake docker knows (e.g. the other lane's `dockerEntry`). */
  otherContainers?: Record<string, unknown>;
}

let nextFakePid = 40_000 + (process.pid % 1000) * 10;
/** A distinct fake host PID for a lane container's service process (names it in rocm-smi --showpids). */
export function fakePid(): number {
  nextFakePid += 1;
  return nextFakePid;
}

export interface TestLane {
  emulator: Emulator;
  /** The fake host PID of the lane's service process. */
  pid: number;
  container: string;
  /** This lane's container entry in the fake docker config. */
  dockerEntry: Record<string, unknown>;
  tmp: string;
  diskRoot: string;
  evidenceDir: string;
  env: NodeJS.ProcessEnv;
  logs: string[];
  options(overrides?: Partial<VerificationOptions>): VerificationOptions;
  cleanup(): Promise<void>;
}

export function laneEnv(tmp: string, extra: Record<string, string> = {}, gpuStateDir = path.join(tmp, "gpu")): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${BIN_DIR}:${process.env.PATH ?? ""}`,
    FAKE_DOCKER_CONFIG: path.join(tmp, "docker.json"),
    FAKE_GPU_STATE_DIR: gpuStateDir,
    ...extra,
  };
}

export async function makeLane(spec: LaneSpec = {}): Promise<TestLane> {
  const profile = spec.profile ?? "prod";
  const tmp = await mkdtemp(path.join(os.tmpdir(), `verify-${profile}-`));
  const diskRoot = path.join(tmp, "data", profile);
  const gpuStateDir = spec.gpuStateDir ?? path.join(tmp, "gpu");
  await mkdir(gpuStateDir, { recursive: true });
  const pid = fakePid();
  const stateFile = path.join(tmp, "container-state.json");
  const logFile = path.join(tmp, "container.log");
  const emulator = await startEmulator({
    profile,
    revision: REV,
    diskRoot,
    apiKey: API_KEY,
    gpuStateDir,
    gpuPid: pid,
    jobDurationMs: 600,
    containerStateFile: stateFile,
    containerLogFile: logFile,
    ...spec.emulator,
  });
  const container = `sir_convert_a_lot_${profile}`;
  const dockerEntry: Record<string, unknown> = {
    running: true,
    pids: [pid],
    stateFile,
    logFile,
    env: { SIR_CONVERT_A_LOT_GPU_AVAILABLE: "1" },
    mounts: { [`/var/lib/sir-convert-a-lot/${profile}`]: diskRoot },
    ...spec.docker,
  };
  const config = { containers: { ...spec.otherContainers, [container]: dockerEntry } };
  await writeFile(path.join(tmp, "docker.json"), JSON.stringify(config));
  const env = laneEnv(tmp, spec.env, gpuStateDir);
  const logs: string[] = [];
  const evidenceDir = path.join(tmp, "evidence");
  return {
    emulator,
    pid,
    container,
    dockerEntry,
    tmp,
    diskRoot,
    evidenceDir,
    env,
    logs,
    options: (overrides = {}) => ({
      serviceUrl: emulator.url,
      profile,
      expectedRevision: REV,
      apiKey: API_KEY,
      evidenceDir,
      timeoutSeconds: 10,
      pollIntervalMs: 40,
      torchVersion: TORCH_PIN,
      env,
      log: (line: string) => logs.push(line),
      ...overrides,
    }),
    cleanup: async () => {
      await emulator.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** Every file under `dir` with its contents (for secret scans). */
export async function readTree(dir: string): Promise<Array<{ file: string; data: Buffer }>> {
  const out: Array<{ file: string; data: Buffer }> = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    out.push({ file, data: await readFile(file) });
  }
  return out;
}

export type LaneOptions = Parameters<TestLane["options"]>[0];
export interface LaneRun {
  report: VerificationReport;
  ms: number;
  lane: TestLane;
}

/**
 * Registers per-test cleanup and returns `verify(spec, overrides)`: starts a lane (emulator plus
 * fake host tools) and runs the verifier against it with `defaults` and `overrides`, timed.
 */
export function laneRunner(defaults: LaneOptions = {}): (spec: LaneSpec, overrides?: LaneOptions) => Promise<LaneRun> {
  const lanes: TestLane[] = [];
  afterEach(async () => {
    await Promise.all(lanes.splice(0).map((l) => l.cleanup()));
  });
  return async (spec, overrides = {}) => {
    const lane = await makeLane(spec);
    lanes.push(lane);
    const started = Date.now();
    const report = await runVerification(lane.options({ ...defaults, ...overrides }));
    return { report, ms: Date.now() - started, lane };
  };
}
