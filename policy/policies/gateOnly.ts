// Decisions the Analyzer protocol keeps from a policy pack, made here so all policy logic lives in
// policy/: `retainOnDelete` (AnalyzerResourceOptions has no such field) and whether the API key's
// env element is a Pulumi secret (policies receive secrets unwrapped, pulumi/pulumi-policy#241).
// The offline gate (gate/analyzerGateChecks.ts) supplies those facts from the registration and
// reports each finding under the pack policy it completes, at that policy's configured level.
import { NAME as API_KEY_SECRET } from "./apiKeySecret";
import { API_KEY_VAR, asArray, type StackResourceView, stackLanes, violation } from "./model";
import { dataVolumes, NAME as PROTECTED_DATA } from "./protectedData";

/** Pulumi's wire marker of a secret value (sdk/nodejs/runtime/rpc specialSigKey / specialSecretSig). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

function isSecretWire(v: unknown): v is { value: unknown } {
  return v !== null && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_SIG_VALUE;
}

/** What the registration shows beyond the stack view. */
export interface RegistrationFacts {
  retainOnDelete: boolean;
  /** The serialized `envs` input (secret markers kept). */
  wireEnvs: unknown;
}

export interface GateOnlyFinding {
  policy: string;
  description: string;
  urn: string;
  message: string;
}

/** True when the env entry carrying the API key is a secret (the whole list, or that element). */
export function apiKeyIsSecret(wireEnvs: unknown): boolean {
  if (isSecretWire(wireEnvs)) return true;
  return asArray(wireEnvs).every((e) => isSecretWire(e) || typeof e !== "string" || !e.startsWith(`${API_KEY_VAR}=`));
}

export function gateOnlyFindings(facts: Map<StackResourceView, RegistrationFacts>): GateOnlyFinding[] {
  const all = [...facts.keys()];
  const out: GateOnlyFinding[] = [];
  for (const [v, why] of dataVolumes(all)) {
    if (!facts.get(v)!.retainOnDelete) {
      out.push({
        policy: PROTECTED_DATA,
        urn: v.urn,
        description: "Data volumes are retained on delete (checked by the offline gate: retainOnDelete is not sent to policy packs).",
        message: violation(
          PROTECTED_DATA,
          v,
          "options.retainOnDelete",
          `false (data volume: ${why})`,
          "register it with { protect: true, retainOnDelete: true }",
        ),
      });
    }
  }
  for (const lane of stackLanes(all)) {
    const wire = facts.get(lane.container as StackResourceView)!.wireEnvs;
    if (wire !== undefined && !apiKeyIsSecret(wire)) {
      out.push({
        policy: API_KEY_SECRET,
        urn: lane.container.urn,
        description: "The API key reaches containers only as a Pulumi secret (checked by the offline gate: policy packs see secrets unwrapped).",
        message: violation(
          API_KEY_SECRET,
          lane.container,
          `envs ${API_KEY_VAR}`,
          "[a plain, non-secret value]",
          "build the env from a secret Output (config apiKey set with --secret, or the generated RandomPassword result)",
        ),
      });
    }
  }
  return out;
}
