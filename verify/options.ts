// Verification options (the library's input) and their resolution to a complete, validated config.

import path from "node:path";
import { containerNameFor, REVISION_PREFIX } from "../lib/projectFacts";
import { projectRoot } from "../lib/projectRoot";
import { API_KEY_ENV, dataDirFor } from "../lib/serviceContract";
import type { GpuLock } from "./gpuLock";
import { childEnvironment } from "./host/childEnv";
import { DEFAULT_MAX_ARTIFACT_BYTES, DEFAULT_MAX_JSON_BYTES } from "./http/client";
import { CHECK_NAMES, type CheckName, PROFILES, type Profile } from "./types";

export const DEFAULT_API_KEY_ENV = API_KEY_ENV;
export const SSH_OPTS_ENV = "SIR_CONVERT_A_LOT_VERIFY_SSH_OPTS";

export interface VerificationOptions {
  /** Base URL of the service as seen from where it runs (with `via`, as seen from the SSH host). */
  serviceUrl: string;
  profile: Profile;
  /** Full git revision the service must report. */
  expectedRevision: string;
  /** The service API key. Never logged or written to evidence. */
  apiKey: string;
  /** Checks to run; default all of them. */
  checks?: readonly CheckName[];
  /** Name used in progress lines and the evidence dir; default the profile. */
  lane?: string;
  /** Lane container for `docker exec`; default `sir_convert_a_lot_<profile>`. */
  container?: string;
  /** The lane's data root inside the container; default `/var/lib/sir-convert-a-lot/<profile>`. */
  dataDir?: string;
  /** Pinned torch version the container must report (e.g. `2.10.0+rocm7.1`); optional. */
  torchVersion?: string;
  /** Evidence directory; default `.verification/<lane>-<UTC timestamp>` under the cwd. */
  evidenceDir?: string;
  /** Overall deadline of the run in seconds; default 300. */
  timeoutSeconds?: number;
  /** `ssh://host` or `ssh://user@host:port`: tunnel HTTP and run host probes over SSH. */
  via?: string;
  /** Extra `-o Key=Value` options for every ssh invocation. */
  sshOptions?: readonly string[];
  /** Command that runs docker on the host; default `["docker"]` (e.g. `["sudo","-n","docker"]`). */
  dockerCommand?: readonly string[];
  /** Job status poll interval and GPU-use sample interval; default 500 ms. */
  pollIntervalMs?: number;
  /** A job is submitted only with at least this much time left before the deadline; default 15 s, at most a tenth of the timeout. */
  minJobSeconds?: number;
  /** How long a GPU job waits for other GPU work (not this lane's) to end before refusing; default 120 s. */
  gpuIdleWaitSeconds?: number;
  /** Serialises GPU work; pass one shared lock when verifying several lanes on one host. */
  gpuLock?: GpuLock;
  /** Lock file that serialises GPU work across verifier processes on this machine. */
  gpuLockFile?: string;
  /** Directory with sample.pdf, sample.html, sample.md; default the bundled fixtures. */
  fixturesDir?: string;
  /** Environment for locally spawned commands (ssh, rocm-smi, docker); default process.env. The API key (its variable and any variable holding it) is removed. */
  env?: NodeJS.ProcessEnv;
  /** Progress sink (one line per call); default stdout. Lines are already redacted. */
  log?: (line: string) => void;
  /** Aborts the run (tunnel closed, report still written). */
  signal?: AbortSignal;
  /** Body cap of JSON/text/metrics routes in bytes; default 1 MiB. */
  maxJsonBytes?: number;
  /** Body cap of conversion results and artifacts in bytes; default 64 MiB. */
  maxArtifactBytes?: number;
}

export interface ResolvedOptions {
  serviceUrl: URL;
  profile: Profile;
  expectedRevision: string;
  apiKey: string;
  checks: ReadonlySet<CheckName>;
  lane: string;
  container: string;
  dataDir: string;
  torchVersion: string | undefined;
  evidenceDir: string;
  timeoutMs: number;
  via: string | undefined;
  sshOptions: readonly string[];
  dockerCommand: readonly string[];
  pollIntervalMs: number;
  minJobMs: number;
  gpuIdleWaitMs: number;
  fixturesDir: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  signal: AbortSignal | undefined;
  gpuLockFile: string | undefined;
  maxJsonBytes: number;
  maxArtifactBytes: number;
}

export class OptionsError extends Error {}

export function utcStamp(date: Date = new Date()): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** A body cap: a whole number of bytes from 1 KiB to 4 GiB. */
function byteCap(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1024 || v > 4 * 1024 ** 3)
    throw new OptionsError(`--${name}: expected a whole number of bytes from 1024 to 4294967296, saw ${v}`);
  return v;
}

export function resolveOptions(options: VerificationOptions, now: Date = new Date()): ResolvedOptions {
  let serviceUrl: URL;
  try {
    serviceUrl = new URL(options.serviceUrl);
  } catch {
    throw new OptionsError(`--service-url: not a URL: ${options.serviceUrl}`);
  }
  if (serviceUrl.protocol !== "http:" && serviceUrl.protocol !== "https:") {
    throw new OptionsError(`--service-url: expected http(s), saw ${serviceUrl.protocol}`);
  }
  if (!PROFILES.includes(options.profile)) {
    throw new OptionsError(`--profile: expected prod or eval, saw ${String(options.profile)}`);
  }
  if (!REVISION_PREFIX.test(options.expectedRevision)) {
    throw new OptionsError(`--expected-revision: expected a hex git sha, saw ${options.expectedRevision}`);
  }
  if (options.apiKey.length === 0) throw new OptionsError("API key is empty");
  const checks = new Set<CheckName>(options.checks ?? CHECK_NAMES);
  for (const c of checks) {
    if (!CHECK_NAMES.includes(c)) throw new OptionsError(`--checks: unknown check ${c}`);
  }
  if (checks.size === 0) throw new OptionsError("--checks: no checks selected");
  const timeoutSeconds = options.timeoutSeconds ?? 300;
  if (!(timeoutSeconds > 0)) throw new OptionsError(`--timeout-seconds: expected > 0, saw ${timeoutSeconds}`);
  const lane = options.lane ?? options.profile;
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!(v >= 0) || !Number.isFinite(v)) throw new OptionsError(`--${name}: expected a number >= 0, saw ${v}`);
    return Math.round(v * 1000);
  };
  return {
    serviceUrl,
    profile: options.profile,
    expectedRevision: options.expectedRevision,
    apiKey: options.apiKey,
    checks,
    lane,
    container: options.container ?? containerNameFor(options.profile),
    dataDir: (options.dataDir ?? dataDirFor(options.profile)).replace(/\/+$/, ""),
    torchVersion: options.torchVersion,
    evidenceDir: path.resolve(options.evidenceDir ?? path.join(".verification", `${lane}-${utcStamp(now)}`)),
    timeoutMs: Math.round(timeoutSeconds * 1000),
    via: options.via,
    sshOptions: options.sshOptions ?? [],
    dockerCommand: options.dockerCommand ?? ["docker"],
    pollIntervalMs: options.pollIntervalMs ?? 500,
    minJobMs: positive("min-job-seconds", options.minJobSeconds, Math.min(15, timeoutSeconds / 10)),
    gpuIdleWaitMs: positive("gpu-idle-wait-seconds", options.gpuIdleWaitSeconds, 120),
    fixturesDir: options.fixturesDir ?? path.join(projectRoot(__dirname), "verify", "fixtures"),
    env: childEnvironment(options.env ?? process.env, options.apiKey),
    log: options.log ?? ((line: string) => process.stdout.write(`${line}\n`)),
    signal: options.signal,
    gpuLockFile: options.gpuLockFile === undefined ? undefined : path.resolve(options.gpuLockFile),
    maxJsonBytes: byteCap("max-json-bytes", options.maxJsonBytes, DEFAULT_MAX_JSON_BYTES),
    maxArtifactBytes: byteCap("max-artifact-bytes", options.maxArtifactBytes, DEFAULT_MAX_ARTIFACT_BYTES),
  };
}
