// The canary gate's stand-in for a disabled eval lane: one `command:local:Command` that runs a
// short-lived canary from the new image through its whole verification and removes it whatever
// the outcome (components/canaryScript.ts says why it is one command and not a container).
//
// pulumi-command v1.2.1 (provider/pkg/provider/common/inputs.go): `triggers` is replaceOnChanges,
// so a new image id replaces the command and its Create runs the canary; anything else is an
// Update, which runs the no-op `update`. prod's container depends on this command, so a new image
// reaches prod only after the canary passed; a prod-only change leaves the command unchanged (a
// same step, done at once) and costs no canary. `delete` is unset: there is nothing left to remove.

import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE } from "../lib/projectFacts";
import { API_KEY_ENV } from "../lib/serviceContract";
import { shellQuote } from "../lib/shellQuote";
import { CANARY_IMAGE_ENV, type CanaryScriptArgs, canaryEvidenceRunsDir, canaryScript } from "./canaryScript";

export interface CanaryArgs extends CanaryScriptArgs {
  apiKey: pulumi.Input<string>;
  imageId: pulumi.Input<string>;
  /** How long the canary's container may take to become ready (config container.waitTimeoutSeconds). */
  waitTimeoutSeconds: number;
}

export class Canary extends pulumi.ComponentResource {
  /** The command prod's container waits on. */
  readonly gate: command.local.Command;
  /** Evidence folder of the canary's latest run (the `latest` link). */
  readonly evidenceDir: pulumi.Output<string>;

  constructor(name: string, args: CanaryArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${NAMESPACE}:hemma:Canary`, name, {}, opts);
    const deadline = `${args.timeoutSeconds + args.waitTimeoutSeconds + 180}s`;
    this.gate = new command.local.Command(
      `${name}-verify`,
      {
        create: canaryScript(args),
        update: `echo ${shellQuote("canary settings changed; the canary runs again when the image changes")}`,
        environment: { [API_KEY_ENV]: pulumi.secret(args.apiKey), [CANARY_IMAGE_ENV]: args.imageId },
        logging: command.types.enums.local.Logging.StdoutAndStderr,
        triggers: [args.imageId],
      },
      { parent: this, customTimeouts: { create: deadline, update: deadline } },
    );
    this.evidenceDir = pulumi.output(`${canaryEvidenceRunsDir(args)}/latest`);
    this.registerOutputs({ evidenceDir: this.evidenceDir });
  }
}
