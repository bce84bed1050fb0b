// Post-deploy verification of one lane as `@pulumi/command` resources that run the verifier CLI
// where Pulumi runs: `health` (readiness, liveness, metrics) first, then `gpu` and `smoke`, which
// need a ready service. Each re-runs exactly when the image or the container changes (triggers),
// fails `pulumi up` with the verifier's message, and never sees the API key on its command line.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { shellJoin, shellQuote } from "../lib/shellQuote";
import { API_KEY_ENV } from "../lib/serviceContract";
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

/** The verifier invocation for one check group (no secrets in it). */
export function verifierCommand(args: LaneVerificationArgs, group: CheckGroup, evidenceDir: string): string {
  const flags = verifierCliArgs({
    serviceUrl: args.hostUrl,
    profile: args.profile,
    expectedRevision: args.revision,
    checks: CHECK_GROUPS[group],
    container: args.containerName,
    dataDir: args.dataDir,
    torchVersion: args.torchVersion,
    evidenceDir,
    evidenceRoot: args.evidenceRoot,
    timeoutSeconds: args.timeoutSeconds,
    dockerHost: args.dockerHost,
    sshOpts: args.sshOpts,
  });
  return shellJoin(["npm", "run", "--silent", "verify", "--", ...flags]);
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
