// Post-deploy verification of one lane as `@pulumi/command` resources that run the verifier CLI
// where Pulumi runs: `health` (readiness, liveness, metrics) first, then `gpu` and `smoke`, which
// need a ready service. Each re-runs exactly when the image or the container changes (triggers),
// fails `pulumi up` with the verifier's message, and never sees the API key on its command line.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { shellJoin, shellQuote } from "../lib/shellQuote";
import { sshOptionValues } from "../lib/sshTarget";

export const CHECK_GROUPS = {
  health: ["readiness", "liveness", "metrics"],
  gpu: ["gpu"],
  smoke: ["smoke"],
} as const;
export type CheckGroup = keyof typeof CHECK_GROUPS;

/** Environment variable the verifier reads the API key from. */
export const API_KEY_ENV = "SIR_CONVERT_A_LOT_API_KEY";

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

/** The verifier invocation for one check group (no secrets in it). */
export function verifierCommand(args: LaneVerificationArgs, group: CheckGroup, evidenceDir: string): string {
  const argv = [
    "npm",
    "run",
    "--silent",
    "verify",
    "--",
    "--service-url",
    args.hostUrl,
    "--profile",
    args.profile,
    "--expected-revision",
    args.revision,
    "--api-key-env",
    API_KEY_ENV,
    "--checks",
    CHECK_GROUPS[group].join(","),
    "--container",
    args.containerName,
    "--data-dir",
    args.dataDir,
    "--torch-version",
    args.torchVersion,
    "--evidence-dir",
    evidenceDir,
    "--timeout-seconds",
    String(args.timeoutSeconds),
    // Lanes verify in parallel; GPU jobs take turns so GPU-use samples belong to one job.
    "--gpu-lock-file",
    `${args.evidenceRoot}/gpu.lock`,
  ];
  if (args.dockerHost.startsWith("ssh://")) {
    argv.push("--via", args.dockerHost);
    for (const opt of sshOptionValues(args.sshOpts)) argv.push("--ssh-opt", opt);
  } else {
    // Pulumi runs on the docker host itself (rocm-smi runs here); docker exec goes to the stack's daemon.
    argv.push("--docker-command", `docker -H ${args.dockerHost}`);
  }
  return shellJoin(argv);
}

export class LaneVerification extends pulumi.ComponentResource {
  readonly commands: Record<CheckGroup, command.local.Command>;
  /** Evidence folder of each check group's latest run. */
  readonly evidenceDirs: Record<CheckGroup, pulumi.Output<string>>;

  constructor(name: string, args: LaneVerificationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sir-convert-a-lot:hemma:LaneVerification", name, {}, opts);
    // One folder per container instance: a new container (new image, new config) gets new evidence.
    const evidenceDir = (group: CheckGroup) =>
      pulumi.output(args.containerId).apply((id) => `${args.evidenceRoot}/${args.lane}-${id.slice(0, 12)}/${group}`);
    const triggers = [args.imageId, args.containerId];
    const make = (group: CheckGroup, dependsOn: pulumi.Resource[]) =>
      new command.local.Command(
        `${args.lane}-verify-${group}`,
        {
          create: evidenceDir(group).apply((dir) => verifierCommand(args, group, dir)),
          // A change of only the verification settings (timeout, ssh options) is an update, which
          // runs this instead of re-verifying: checks re-run when the image or container changes
          // (triggers -> replacement -> create), and only then.
          update: `echo ${shellQuote(`verification settings of ${args.lane}/${group} changed; it re-runs when the image or the container changes`)}`,
          environment: { [API_KEY_ENV]: pulumi.secret(args.apiKey) },
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
    this.evidenceDirs = { health: evidenceDir("health"), gpu: evidenceDir("gpu"), smoke: evidenceDir("smoke") };
    this.registerOutputs({ evidenceDirs: this.evidenceDirs });
  }
}
