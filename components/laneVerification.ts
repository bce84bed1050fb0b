// Post-deploy verification of one lane as `@pulumi/command` (1.x) resources that run the verifier CLI
// where Pulumi runs: `health` (readiness, liveness, metrics) first, then `gpu` and `smoke`, which
// need a ready service. Each re-runs exactly when the image or the container changes (triggers),
// fails `pulumi up` with the verifier's message, and never sees the API key on its command line.
//
// How pulumi-command v1.2.1 runs them (provider/pkg/provider): `triggers` is replaceOnChanges
// (common/inputs.go), so a new container or image replaces the command and its Create runs
// `create`; any other input change is an Update, which runs `update` (local/commandController.go).
// A failed Create stores nothing, so a failed check runs again on the next `up`. The command runs
// as `/bin/sh -c <create>` with the provider's environment plus `environment` (the API key, a
// secret in state), stdout and stderr streamed to `pulumi up` per `logging`
// (local/commandOutputs.go). customTimeouts cancel the run's context (pulumi-go-provider
// middleware/cancel), which kills only the shell: the verifier's own --timeout-seconds deadline is
// what ends a hung check, the custom timeout is the backstop.
//
// `create` is built from config alone, so it is known at preview (the policy pack reads it there):
// the evidence folder is `<evidenceRoot>/<lane>-<revision12>/<group>/<UTC time of the run>`, and
// `latest` next to the runs points at the newest one.

import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE } from "../lib/projectFacts";
import { API_KEY_ENV } from "../lib/serviceContract";
import { shellQuote } from "../lib/shellQuote";
import { verifierCliArgs } from "../verify/invocation";

export const CHECK_GROUPS = {
  health: ["readiness", "liveness", "metrics"],
  gpu: ["gpu"],
  smoke: ["smoke"],
} as const;
export type CheckGroup = keyof typeof CHECK_GROUPS;

export interface LaneVerificationArgs {
  lane: string;
  profile: "prod" | "eval";
  containerName: string;
  /** The lane's URL as seen from the docker host (loopback). */
  hostUrl: string;
  dataDir: string;
  revision: string;
  torchVersion: string;
  /** The stack's docker host: `ssh://…` is tunnelled to; anything else is handed to `docker -H`. */
  dockerHost: string;
  sshOpts: string[];
  timeoutSeconds: number;
  evidenceRoot: string;
  apiKey: pulumi.Input<string>;
  imageId: pulumi.Input<string>;
  containerId: pulumi.Input<string>;
  /** What the verification depends on (the lane's container). */
  dependsOn: pulumi.Resource[];
}

/** Where one check group's runs of this revision go (each run in its own timestamped folder). */
export function evidenceRunsDir(args: Pick<LaneVerificationArgs, "evidenceRoot" | "lane" | "revision">, group: CheckGroup): string {
  return `${args.evidenceRoot}/${args.lane}-${args.revision.slice(0, 12)}/${group}`;
}

/** How `create` starts the verifier, relative to the project directory (where pulumi runs commands). */
export const VERIFIER_LAUNCH = "launch.js";
export const VERIFIER_ENTRY = "verify/cli";

/** The shell variable `create` keeps the run's evidence folder in. */
const RUN_DIR_VAR = "run";

/**
 * The verifier invocation for one check group (no secrets in it): picks a fresh timestamped
 * evidence folder, runs the verifier into it, points `latest` at it and exits with the verifier's
 * status.
 */
export function verifierCommand(args: LaneVerificationArgs, group: CheckGroup): string {
  const runs = evidenceRunsDir(args, group);
  const placeholder = "\0evidence-dir\0";
  const flags = verifierCliArgs({
    serviceUrl: args.hostUrl,
    profile: args.profile,
    expectedRevision: args.revision,
    checks: CHECK_GROUPS[group],
    container: args.containerName,
    dataDir: args.dataDir,
    torchVersion: args.torchVersion,
    evidenceDir: placeholder,
    evidenceRoot: args.evidenceRoot,
    timeoutSeconds: args.timeoutSeconds,
    dockerHost: args.dockerHost,
    sshOpts: args.sshOpts,
  });
  // The compiled verifier, started directly: no npm (~0.2 s) and no ts-node (~1.5 s) per run.
  // launch.js rebuilds dist/ first when the sources changed since it was built.
  const verify = ["node", VERIFIER_LAUNCH, VERIFIER_ENTRY, ...flags].map((arg) => (arg === placeholder ? `"$${RUN_DIR_VAR}"` : shellQuote(arg))).join(" ");
  return [
    `${RUN_DIR_VAR}=${shellQuote(runs)}/"$(date -u +%Y%m%dT%H%M%SZ)"`,
    `${verify}; status=$?`,
    `if [ -d "$${RUN_DIR_VAR}" ]; then ln -sfn "$(basename "$${RUN_DIR_VAR}")" ${shellQuote(`${runs}/latest`)}; fi`,
    `exit "$status"`,
  ].join("\n");
}

export class LaneVerification extends pulumi.ComponentResource {
  readonly commands: Record<CheckGroup, command.local.Command>;
  /** Evidence folder of each check group's latest run (the `latest` link). */
  readonly evidenceDirs: Record<CheckGroup, pulumi.Output<string>>;

  constructor(name: string, args: LaneVerificationArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${NAMESPACE}:hemma:LaneVerification`, name, {}, opts);
    // Only the triggers see the container and the image: a new one replaces the command (re-runs
    // the checks); `create` itself stays known at preview.
    const triggers = [args.imageId, args.containerId];
    const make = (group: CheckGroup, dependsOn: pulumi.Resource[]) =>
      new command.local.Command(
        `${args.lane}-verify-${group}`,
        {
          create: verifierCommand(args, group),
          // A change of only the verification settings (timeout, ssh options) is an update, which
          // runs this instead of re-verifying: checks re-run when the image or container changes
          // (triggers -> replacement -> create), and only then.
          update: `echo ${shellQuote(`verification settings of ${args.lane}/${group} changed; it re-runs when the image or the container changes`)}`,
          environment: { [API_KEY_ENV]: pulumi.secret(args.apiKey) },
          // The verifier's progress lines appear in `pulumi up` as it runs (it redacts the key).
          logging: command.types.enums.local.Logging.StdoutAndStderr,
          triggers,
        },
        {
          parent: this,
          dependsOn,
          customTimeouts: { create: `${args.timeoutSeconds + 120}s`, update: `${args.timeoutSeconds + 120}s` },
        },
      );
    const health = make("health", args.dependsOn);
    const gpu = make("gpu", [...args.dependsOn, health]);
    const smoke = make("smoke", [...args.dependsOn, health]);
    this.commands = { health, gpu, smoke };
    const latest = (group: CheckGroup) => pulumi.output(`${evidenceRunsDir(args, group)}/latest`);
    this.evidenceDirs = { health: latest("health"), gpu: latest("gpu"), smoke: latest("smoke") };
    this.registerOutputs({ evidenceDirs: this.evidenceDirs });
  }
}
