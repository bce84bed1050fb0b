// Command-line parsing for `npm run verify`. The API key is never taken from argv: only the name of the
// environment variable that holds it.
import { HelpRequested, parseToolArgs, type ToolSpec, toolHelp } from "../ops/tool/shell";
import { DEFAULT_API_KEY_ENV, SSH_OPTS_ENV, type VerificationOptions } from "./options";
import { sshOptionsFromEnv } from "./ssh/target";
import { CHECK_NAMES, type CheckName, type Profile } from "./types";

export const VERIFY_URL_SPEC: ToolSpec = {
  name: "npm run verify --",
  summary: "Verify one service URL (what the deploy runs per lane): health, revision, metrics, GPU use and smoke conversions.",
  flags: [
    { flags: "--service-url <url>", description: "the lane's base URL as seen from where it runs (with --via: as seen from that SSH host); required" },
    { flags: "--profile <profile>", description: "the lane's profile, prod or eval; required" },
    { flags: "--expected-revision <sha>", description: "the git revision the service must report; required" },
    {
      flags: "--api-key-env <name>",
      description: `environment variable holding the API key (default ${DEFAULT_API_KEY_ENV}; the key is never taken from argv)`,
    },
    { flags: "--api-key <key>", description: "refused: the key never goes on the command line", hidden: true },
    { flags: "--checks <list>", description: `comma-separated checks to run (${CHECK_NAMES.join(",")}; default all)` },
    { flags: "--container <name>", description: "lane container (default sir_convert_a_lot_<profile>)" },
    { flags: "--data-dir <dir>", description: "lane data root (default /var/lib/sir-convert-a-lot/<profile>)" },
    { flags: "--torch-version <ver>", description: "pinned torch version the container must report, e.g. 2.10.0+rocm7.1" },
    { flags: "--evidence-dir <dir>", description: "where the evidence goes (default .verification/<lane>-<UTC timestamp>)" },
    { flags: "--timeout-seconds <n>", description: "overall deadline (default 300)" },
    { flags: "--poll-interval-ms <n>", description: "job poll / GPU sample interval (default 500)" },
    { flags: "--min-job-seconds <n>", description: "submit a job only with n s left (default 15, at most timeout/10)" },
    { flags: "--gpu-idle-wait-seconds <n>", description: "wait up to n s for other GPU work to end before a GPU job (default 120)" },
    { flags: "--lane <name>", description: "label for progress and evidence (default the profile)" },
    {
      flags: "--via <ssh-url>",
      description: "ssh://[user@]host[:port]: tunnel HTTP and run host probes (docker, rocm-smi) over SSH; without it they run on this machine",
    },
    { flags: "--ssh-opt <Key=Value>", description: `extra ssh -o option, repeatable (also ${SSH_OPTS_ENV}, space-separated)`, repeatable: true },
    { flags: "--docker-command <command>", description: 'how to run docker on the host, e.g. "sudo -n docker" (default docker)' },
    { flags: "--gpu-lock-file <path>", description: "take turns on the GPU with other verifier runs using the same file" },
    { flags: "--max-json-bytes <n>", description: "body cap of JSON/text/metrics routes (default 1048576)" },
    { flags: "--max-artifact-bytes <n>", description: "body cap of conversion results and artifacts (default 67108864)" },
  ],
  epilog: "Without --service-url, `npm run verify` re-verifies every deployed lane of the stack (`npm run verify -- --help`).",
};

/**
 * A one-URL run without --via (and without --docker-command) runs the gpu check's rocm-smi and
 * docker on this machine: the warning to print then, or undefined.
 */
export function gpuChecksRunHere(options: Pick<VerificationOptions, "via" | "checks" | "dockerCommand">): string | undefined {
  if (options.via || options.dockerCommand) return undefined;
  if (options.checks && !options.checks.includes("gpu")) return undefined;
  return "warning: no --via: the gpu check runs rocm-smi and docker on THIS machine, so it checks this machine's GPU, not Hemma's; pass --via ssh://hemma (or leave gpu out of --checks)";
}

/** The one-URL mode's full help text. */
export const USAGE = toolHelp(VERIFY_URL_SPEC);

export class UsageError extends Error {}

type CliValues = Partial<
  Record<
    | "serviceUrl"
    | "profile"
    | "expectedRevision"
    | "apiKeyEnv"
    | "apiKey"
    | "checks"
    | "container"
    | "dataDir"
    | "torchVersion"
    | "evidenceDir"
    | "timeoutSeconds"
    | "pollIntervalMs"
    | "minJobSeconds"
    | "gpuIdleWaitSeconds"
    | "lane"
    | "via"
    | "dockerCommand"
    | "gpuLockFile"
    | "maxJsonBytes"
    | "maxArtifactBytes",
    string
  >
> & { sshOpt?: string[] };

/** Parses the one-URL mode's flags; throws HelpRequested for --help and UsageError for anything wrong. */
export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv): VerificationOptions {
  let parsed: CliValues;
  try {
    parsed = parseToolArgs([...argv], VERIFY_URL_SPEC) as CliValues;
  } catch (error) {
    if (error instanceof HelpRequested) throw error;
    throw new UsageError((error as Error).message);
  }
  const values: Record<string, string | string[] | undefined> = {
    "service-url": parsed.serviceUrl,
    profile: parsed.profile,
    "expected-revision": parsed.expectedRevision,
    "api-key-env": parsed.apiKeyEnv,
    "api-key": parsed.apiKey,
    checks: parsed.checks,
    container: parsed.container,
    "data-dir": parsed.dataDir,
    "torch-version": parsed.torchVersion,
    "evidence-dir": parsed.evidenceDir,
    "timeout-seconds": parsed.timeoutSeconds,
    "poll-interval-ms": parsed.pollIntervalMs,
    "min-job-seconds": parsed.minJobSeconds,
    "gpu-idle-wait-seconds": parsed.gpuIdleWaitSeconds,
    lane: parsed.lane,
    via: parsed.via,
    "ssh-opt": parsed.sshOpt,
    "docker-command": parsed.dockerCommand,
    "gpu-lock-file": parsed.gpuLockFile,
    "max-json-bytes": parsed.maxJsonBytes,
    "max-artifact-bytes": parsed.maxArtifactBytes,
  };
  return fromValues(values as Values, env);
}

type StringFlag =
  | "service-url"
  | "profile"
  | "expected-revision"
  | "api-key-env"
  | "api-key"
  | "checks"
  | "container"
  | "data-dir"
  | "torch-version"
  | "evidence-dir"
  | "timeout-seconds"
  | "poll-interval-ms"
  | "min-job-seconds"
  | "gpu-idle-wait-seconds"
  | "lane"
  | "via"
  | "docker-command"
  | "gpu-lock-file"
  | "max-json-bytes"
  | "max-artifact-bytes";
type Values = Partial<Record<StringFlag, string>> & { "ssh-opt"?: string[] };

function fromValues(values: Values, env: NodeJS.ProcessEnv): VerificationOptions {
  if (values["api-key"] !== undefined) {
    throw new UsageError("--api-key is not accepted: put the key in an environment variable and pass --api-key-env NAME");
  }
  const required = (name: "service-url" | "profile" | "expected-revision"): string => {
    const v = values[name];
    if (v === undefined || v === "") throw new UsageError(`--${name} is required`);
    return v;
  };
  const profile = required("profile");
  if (profile !== "prod" && profile !== "eval") throw new UsageError(`--profile: expected prod or eval, saw ${profile}`);
  const keyEnv = values["api-key-env"] ?? DEFAULT_API_KEY_ENV;
  const apiKey = env[keyEnv];
  if (apiKey === undefined || apiKey === "") throw new UsageError(`environment variable ${keyEnv} (the API key) is not set`);
  const number = (
    name: "timeout-seconds" | "poll-interval-ms" | "min-job-seconds" | "gpu-idle-wait-seconds" | "max-json-bytes" | "max-artifact-bytes",
    allowZero = false,
  ): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) throw new UsageError(`--${name}: expected a positive number, saw ${raw}`);
    return n;
  };
  let checks: CheckName[] | undefined;
  if (values.checks !== undefined) {
    checks = values.checks
      .split(",")
      .map((c) => c.trim())
      .filter((c) => c !== "") as CheckName[];
    const unknown = checks.filter((c) => !CHECK_NAMES.includes(c));
    if (unknown.length > 0 || checks.length === 0) throw new UsageError(`--checks: unknown or empty (${unknown.join(",")}); use ${CHECK_NAMES.join(",")}`);
  }
  const timeoutSeconds = number("timeout-seconds");
  const pollIntervalMs = number("poll-interval-ms");
  const minJobSeconds = number("min-job-seconds", true);
  const gpuIdleWaitSeconds = number("gpu-idle-wait-seconds", true);
  const maxJsonBytes = number("max-json-bytes");
  const maxArtifactBytes = number("max-artifact-bytes");
  const sshOptions = [...sshOptionsFromEnv(env[SSH_OPTS_ENV]), ...(values["ssh-opt"] ?? [])];
  return {
    serviceUrl: required("service-url"),
    profile: profile as Profile,
    expectedRevision: required("expected-revision"),
    apiKey,
    ...(checks ? { checks } : {}),
    ...(values.container ? { container: values.container } : {}),
    ...(values["data-dir"] ? { dataDir: values["data-dir"] } : {}),
    ...(values["torch-version"] ? { torchVersion: values["torch-version"] } : {}),
    ...(values["evidence-dir"] ? { evidenceDir: values["evidence-dir"] } : {}),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
    ...(minJobSeconds !== undefined ? { minJobSeconds } : {}),
    ...(gpuIdleWaitSeconds !== undefined ? { gpuIdleWaitSeconds } : {}),
    ...(values.lane ? { lane: values.lane } : {}),
    ...(values.via ? { via: values.via } : {}),
    ...(sshOptions.length > 0 ? { sshOptions } : {}),
    ...(maxJsonBytes !== undefined ? { maxJsonBytes } : {}),
    ...(maxArtifactBytes !== undefined ? { maxArtifactBytes } : {}),
    ...(values["gpu-lock-file"] ? { gpuLockFile: values["gpu-lock-file"] } : {}),
    ...(values["docker-command"] ? { dockerCommand: values["docker-command"].split(/\s+/).filter(Boolean) } : {}),
  };
}
