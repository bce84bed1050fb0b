// Command-line parsing for `npm run verify`. The API key is never taken from argv: only the name of the
// environment variable that holds it.
import { parseArgs } from "node:util";
import { DEFAULT_API_KEY_ENV, SSH_OPTS_ENV, type VerificationOptions } from "./options";
import { sshOptionsFromEnv } from "./ssh/target";
import { CHECK_NAMES, type CheckName, type Profile } from "./types";

export const USAGE = `usage: npm run verify -- --service-url <url> --profile prod|eval --expected-revision <sha>
  [--api-key-env NAME]          env var holding the API key (default ${DEFAULT_API_KEY_ENV})
  [--checks ${CHECK_NAMES.join(",")}]
  [--container <name>]          lane container (default sir_convert_a_lot_<profile>)
  [--data-dir <dir>]            lane data root (default /var/lib/sir-convert-a-lot/<profile>)
  [--torch-version <ver>]       pinned torch version, e.g. 2.10.0+rocm7.1
  [--evidence-dir <dir>]        default .verification/<lane>-<UTC timestamp>
  [--timeout-seconds N]         overall deadline (default 300)
  [--poll-interval-ms N]        job poll / GPU sample interval (default 500)
  [--min-job-seconds N]         submit a job only with N s left (default 15, at most timeout/10)
  [--gpu-idle-wait-seconds N]   wait up to N s for other GPU work to end before a GPU job (default 120)
  [--lane <name>]               label for progress and evidence (default the profile)
  [--via ssh://[user@]host[:port]]  tunnel HTTP and run host probes over SSH
  [--ssh-opt Key=Value]...      extra ssh -o options (also ${SSH_OPTS_ENV}, space-separated)
  [--docker-command "sudo -n docker"]  how to run docker on the host (default docker)
  [--gpu-lock-file <path>]      take turns on the GPU with other verifier runs using the same file
  [--max-json-bytes N]          body cap of JSON/text/metrics routes (default 1048576)
  [--max-artifact-bytes N]      body cap of conversion results and artifacts (default 67108864)`;

export class UsageError extends Error {}

export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv): VerificationOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        "service-url": { type: "string" },
        profile: { type: "string" },
        "expected-revision": { type: "string" },
        "api-key-env": { type: "string" },
        "api-key": { type: "string" },
        checks: { type: "string" },
        container: { type: "string" },
        "data-dir": { type: "string" },
        "torch-version": { type: "string" },
        "evidence-dir": { type: "string" },
        "timeout-seconds": { type: "string" },
        "poll-interval-ms": { type: "string" },
        "min-job-seconds": { type: "string" },
        "gpu-idle-wait-seconds": { type: "string" },
        lane: { type: "string" },
        via: { type: "string" },
        "ssh-opt": { type: "string", multiple: true },
        "docker-command": { type: "string" },
        "gpu-lock-file": { type: "string" },
        "max-json-bytes": { type: "string" },
        "max-artifact-bytes": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) throw new UsageError("");
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
  const number = (name: "timeout-seconds" | "poll-interval-ms" | "min-job-seconds" | "gpu-idle-wait-seconds" | "max-json-bytes" | "max-artifact-bytes", allowZero = false): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) throw new UsageError(`--${name}: expected a positive number, saw ${raw}`);
    return n;
  };
  let checks: CheckName[] | undefined;
  if (values.checks !== undefined) {
    checks = values.checks.split(",").map((c) => c.trim()).filter((c) => c !== "") as CheckName[];
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
