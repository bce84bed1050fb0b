// Which resources prod's container waits on (the canary gate), decided once from config:
//   eval    eval is enabled and verified: prod waits on eval's health, gpu and smoke commands;
//   canary  eval is disabled: prod waits on a short-lived canary from the new image;
//   none    verification is off (nothing can prove an image) or prod is disabled.
// The dependency is always declared; the engine makes it cost nothing when the gate does not run:
// a gate command whose triggers (image id, container id) are unchanged gets a same step, done at
// once (pulumi/pulumi v3.248.0 pkg/resource/deploy/step_generator.go), so a prod-only change
// starts prod right away, while a new image replaces the gate's commands and prod waits for them.
import type * as pulumi from "@pulumi/pulumi";
import type { Canary } from "./canary";
import type { LaneVerification } from "./laneVerification";

export type GateKind = "eval" | "canary" | "none";

export interface CanaryGateArgs {
  evalVerification: LaneVerification | undefined;
  /** Declares the stand-in canary; called only when eval cannot be the canary. */
  declareCanary: () => Canary;
  verificationEnabled: boolean;
  prodEnabled: boolean;
}

export interface CanaryGate {
  kind: GateKind;
  prodWaitsOn: pulumi.Resource[];
  /** Evidence of the gate's latest run (the canary's; eval's is in `verification.eval`). */
  evidenceDir?: pulumi.Output<string>;
}

/** The gate config gives (the program and `npm run preview`'s order both read it here). */
export function gateKind(facts: { verificationEnabled: boolean; prodEnabled: boolean; evalEnabled: boolean }): GateKind {
  if (!facts.verificationEnabled || !facts.prodEnabled) return "none";
  return facts.evalEnabled ? "eval" : "canary";
}

export function canaryGate(args: CanaryGateArgs): CanaryGate {
  const kind = gateKind({ ...args, evalEnabled: args.evalVerification !== undefined });
  if (kind === "none") return { kind, prodWaitsOn: [] };
  if (kind === "eval" && args.evalVerification) {
    const { health, gpu, smoke } = args.evalVerification.commands;
    return { kind: "eval", prodWaitsOn: [health, gpu, smoke] };
  }
  const canary = args.declareCanary();
  return { kind: "canary", prodWaitsOn: [canary.gate], evidenceDir: canary.evidenceDir };
}
