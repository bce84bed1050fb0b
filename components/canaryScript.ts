// The shell script a short-lived canary runs when the eval lane is disabled: start a container from
// the new image on the docker host with the eval profile, its own scratch volume and a spare
// loopback port that docker picks, run the whole verification against it (health, GPU, smoke),
// and remove the container and the scratch volume whether it passed or not.
//
// Why one script and not a container resource plus verification: the engine has no step that runs
// after a failed one (pulumi/pulumi v3.248.0 pkg/resource/deploy/step_executor.go: an error
// cancels the deployment, dependents never register), so a docker.Container canary would stay
// running after a failed check until the next `up`. A pulumi-command v1.2.1 local Command runs
// `/bin/sh -c <create>` (provider/pkg/provider/local/commandOutputs.go), so the script's EXIT trap
// removes the canary on success and on failure; a failed Create stores nothing
// (local/commandController.go), so the canary runs again on the next `up`. A custom timeout or a
// cancel kills only the shell (exec.CommandContext), which skips the trap: the verifier's own
// deadline ends first, and every run first removes a leftover canary of an earlier killed run.
//
// Nothing secret is on an argv: the API key reaches `docker run` on stdin (`--env-file /dev/stdin`,
// read by the docker CLI, over ssh's stdin when the host is `ssh://`) and the verifier through its
// environment. `create` is built from config alone, so it is known at preview; the image id comes
// in the environment (SIR_CONVERT_A_LOT_CANARY_IMAGE) and is checked to be a sha256 id first.

import { sshArgs, sshOptionArgs } from "../lib/commands/ssh";
import { laneLogOpts } from "../lib/daemonLogOpts";
import { CANARY_CONTAINER_NAME, LABEL_LANE, LABEL_PROFILE, LABEL_REVISION, LABEL_ROLE } from "../lib/projectFacts";
import { API_KEY_ENV, dataDirFor } from "../lib/serviceContract";
import { shellQuote } from "../lib/shellQuote";
import { isSshUrl, parseSshUrl, sshOptionValues } from "../lib/sshTarget";
import { verifierCliArgs } from "../verify/invocation";
import { laneEnvironment } from "./laneEnvironment";
import { serveCommand } from "./serviceLane";

/** The environment variable the canary's image id arrives in. */
export const CANARY_IMAGE_ENV = "SIR_CONVERT_A_LOT_CANARY_IMAGE";
export { CANARY_CONTAINER_NAME };
export const CANARY_SCRATCH_VOLUME = "sir-convert-a-lot-canary-scratch";
/** All of a lane's checks, in the order the lanes run them (health, then GPU and smoke). */
export const CANARY_CHECKS = ["readiness", "liveness", "metrics", "gpu", "smoke"] as const;

export interface CanaryScriptArgs {
  revision: string;
  /** The eval lane's container port (the canary runs the eval profile). */
  containerPort: number;
  bindAddress: string;
  modelCacheVolumeName: string;
  modelCachePath: string;
  gpuDevices: string[];
  gpuGroups: string[];
  evalCpuOnlyDecision?: string;
  logMaxSize: string;
  logMaxFiles: number;
  daemonLogOpts: Record<string, string>;
  torchVersion: string;
  dockerHost: string;
  sshOpts: string[];
  timeoutSeconds: number;
  evidenceRoot: string;
  /** Names the canary must never take: every lane's container name and data volume. */
  laneContainerNames: string[];
  laneDataVolumes: string[];
}

/** Where the canary's runs of this revision go (each run in its own timestamped folder). */
export function canaryEvidenceRunsDir(args: Pick<CanaryScriptArgs, "evidenceRoot" | "revision">): string {
  return `${args.evidenceRoot}/canary-${args.revision.slice(0, 12)}/all`;
}

/** Throws when the canary's fixed names would hit a lane's container or data volume. */
export function assertCanaryNamesFree(args: Pick<CanaryScriptArgs, "laneContainerNames" | "laneDataVolumes" | "modelCacheVolumeName">): void {
  if (args.laneContainerNames.includes(CANARY_CONTAINER_NAME)) {
    throw new Error(`a lane's containerName is ${CANARY_CONTAINER_NAME}, the canary's own name (the canary removes it): choose another`);
  }
  if ([...args.laneDataVolumes, args.modelCacheVolumeName].includes(CANARY_SCRATCH_VOLUME)) {
    throw new Error(`a volume is named ${CANARY_SCRATCH_VOLUME}, the canary's scratch volume (the canary removes it): choose another`);
  }
}

/** A runtime value the script fills in (already checked to be a safe token). */
interface ShellVar {
  shellVar: string;
}
type Word = string | ShellVar;

/** One shell command line that runs `docker <words>` against the stack's docker host. */
export function hostDockerCommand(dockerHost: string, sshOpts: string[], words: Word[]): string {
  if (!isSshUrl(dockerHost)) {
    return ["docker", "-H", dockerHost, ...words].map((w) => (typeof w === "string" ? shellQuote(w) : `"$${w.shellVar}"`)).join(" ");
  }
  // ssh joins its trailing arguments into one remote shell command: quote each word for the remote
  // shell, then the whole command for the local one (checked variables are spliced in unquoted).
  const ssh = ["ssh", "-o", "BatchMode=yes", ...sshArgs(parseSshUrl(dockerHost), sshOptionArgs(sshOptionValues(sshOpts)))].map(shellQuote).join(" ");
  const remote = ["docker", ...words].map((w) => (typeof w === "string" ? shellQuote(shellQuote(w)) : `"$${w.shellVar}"`)).join(`" "`);
  return `${ssh} ${remote}`;
}

function dockerRunWords(args: CanaryScriptArgs): Word[] {
  const env = laneEnvironment({
    profile: "eval",
    revision: args.revision,
    modelCachePath: args.modelCachePath,
    evalCpuOnlyDecision: args.evalCpuOnlyDecision,
  });
  const logOpts = laneLogOpts(args.daemonLogOpts, args.logMaxSize, args.logMaxFiles);
  return [
    "run",
    "--detach",
    "--name",
    CANARY_CONTAINER_NAME,
    "--env-file",
    "/dev/stdin",
    ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
    ...args.gpuDevices.flatMap((d) => ["--device", `${d}:${d}:rwm`]),
    ...args.gpuGroups.flatMap((g) => ["--group-add", g]),
    // Empty host port: docker picks a free one on the loopback address (never a lane's port).
    "--publish",
    `${args.bindAddress.includes(":") ? `[${args.bindAddress}]` : args.bindAddress}::${args.containerPort}/tcp`,
    "--volume",
    `${CANARY_SCRATCH_VOLUME}:${dataDirFor("eval")}`,
    "--volume",
    `${args.modelCacheVolumeName}:${args.modelCachePath}`,
    "--label",
    `${LABEL_LANE}=canary`,
    "--label",
    `${LABEL_PROFILE}=eval`,
    "--label",
    `${LABEL_REVISION}=${args.revision}`,
    "--restart",
    "no",
    "--log-driver",
    "json-file",
    ...Object.entries(logOpts).flatMap(([k, v]) => ["--log-opt", `${k}=${v}`]),
    { shellVar: "image" },
    ...serveCommand("eval"),
  ];
}

/** The canary's whole run as one `/bin/sh -c` script (no secrets in it). */
export function canaryScript(args: CanaryScriptArgs): string {
  assertCanaryNamesFree(args);
  const docker = (words: Word[]) => hostDockerCommand(args.dockerHost, args.sshOpts, words);
  const runs = canaryEvidenceRunsDir(args);
  const urlPlaceholder = "\0service-url\0";
  const dirPlaceholder = "\0evidence-dir\0";
  const flags = verifierCliArgs({
    serviceUrl: urlPlaceholder,
    profile: "eval",
    lane: "canary",
    expectedRevision: args.revision,
    checks: CANARY_CHECKS,
    container: CANARY_CONTAINER_NAME,
    dataDir: dataDirFor("eval"),
    torchVersion: args.torchVersion,
    evidenceDir: dirPlaceholder,
    evidenceRoot: args.evidenceRoot,
    timeoutSeconds: args.timeoutSeconds,
    dockerHost: args.dockerHost,
    sshOpts: args.sshOpts,
  });
  const host = args.bindAddress.includes(":") ? `[${args.bindAddress}]` : args.bindAddress;
  const verify = ["npm", "run", "--silent", "verify", "--", ...flags]
    .map((a) => (a === urlPlaceholder ? `"http://${host}:$port"` : a === dirPlaceholder ? `"$run"` : shellQuote(a)))
    .join(" ");
  const removeCanary = [
    `${docker(["rm", "--force", CANARY_CONTAINER_NAME])} </dev/null >/dev/null 2>&1`,
    `${docker(["volume", "rm", "--force", CANARY_SCRATCH_VOLUME])} </dev/null >/dev/null 2>&1`,
  ];
  return [
    "set -u",
    `image="\${${CANARY_IMAGE_ENV}:-}"`,
    `if ! printf '%s' "$image" | grep -Eqx 'sha256:[0-9a-f]{64}'; then echo "canary: ${CANARY_IMAGE_ENV} is not an image id: $image" >&2; exit 2; fi`,
    "remove_canary() {",
    ...removeCanary.map((l) => `  ${l}`),
    "}",
    // The EXIT trap removes the canary whatever happened; a signal exits through it too.
    `trap 'status=$?; remove_canary; echo "canary: removed ${CANARY_CONTAINER_NAME} and ${CANARY_SCRATCH_VOLUME}" >&2; exit $status' EXIT`,
    "trap 'exit 130' INT TERM HUP",
    // A canary left by a killed run (its trap never ran) goes first.
    "remove_canary",
    `echo "canary: starting ${CANARY_CONTAINER_NAME} from $image (eval profile, scratch volume ${CANARY_SCRATCH_VOLUME})" >&2`,
    `${docker(["volume", "create", "--label", `${LABEL_ROLE}=canary-scratch`, CANARY_SCRATCH_VOLUME])} </dev/null >/dev/null || exit 3`,
    `printf '%s=%s\\n' ${API_KEY_ENV} "$${API_KEY_ENV}" | ${docker(dockerRunWords(args))} >/dev/null || exit 3`,
    `port=$(${docker(["port", CANARY_CONTAINER_NAME, `${args.containerPort}/tcp`])} </dev/null | sed -n '1s/.*://p')`,
    `case "$port" in ''|*[!0-9]*) echo "canary: docker reported no host port for ${CANARY_CONTAINER_NAME}: '$port'" >&2; exit 3;; esac`,
    `echo "canary: verifying ${CANARY_CONTAINER_NAME} on ${host}:$port" >&2`,
    `run=${shellQuote(runs)}/"$(date -u +%Y%m%dT%H%M%SZ)"`,
    `${verify}; status=$?`,
    `if [ -d "$run" ]; then ln -sfn "$(basename "$run")" ${shellQuote(`${runs}/latest`)}; fi`,
    `if [ "$status" -ne 0 ]; then echo "canary: verification failed (evidence: $run); prod is not touched" >&2; fi`,
    `exit "$status"`,
  ].join("\n");
}
