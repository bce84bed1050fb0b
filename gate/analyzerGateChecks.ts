// Checks the offline gate adds for facts the Analyzer protocol does not carry to a policy pack:
// `retainOnDelete` (AnalyzerResourceOptions has no such field) and whether an input is a Pulumi
// secret (policies receive secrets unwrapped, pulumi/pulumi-policy#241). They reuse the pack's own
// recognition code and are reported under the pack policy they complete, at its configured level.
import type { RecordedResource } from "./mockRun";
import { isSecret, unwrapSecrets } from "./mockRun";
import { API_KEY_VAR, asArray, stackLanes, StackResourceView, violation } from "../policy/policies/model";
import { dataVolumes, NAME as PROTECTED_DATA } from "../policy/policies/protectedData";
import { NAME as API_KEY_SECRET } from "../policy/policies/apiKeySecret";
import { Diagnostic, PolicyConfigMap } from "./analyzerClient";

export const GATE_PACK = "policy-check-gate";

/** Stack views of the registrations with plain (unwrapped) props, as stack policies see them. */
export function stackViews(resources: RecordedResource[]): Map<StackResourceView, RecordedResource> {
  const views = new Map<string, StackResourceView>();
  const out = new Map<StackResourceView, RecordedResource>();
  for (const r of resources) {
    const v: StackResourceView = {
      type: r.type, name: r.name, urn: r.urn,
      props: unwrapSecrets(r.inputs) as Record<string, any>,
      opts: { protect: r.options.protect },
      dependencies: [], propertyDependencies: {},
    };
    views.set(r.urn, v);
    out.set(v, r);
  }
  for (const [v, r] of out) {
    v.parent = r.parent ? views.get(r.parent) : undefined;
    v.dependencies = r.dependencies.map((u) => views.get(u)).filter((d): d is StackResourceView => d !== undefined);
    for (const [k, urns] of Object.entries(r.propertyDependencies)) {
      v.propertyDependencies[k] = urns.map((u) => views.get(u)).filter((d): d is StackResourceView => d !== undefined);
    }
  }
  return out;
}

function diag(policy: string, description: string, level: Diagnostic["level"], urn: string, message: string): Diagnostic {
  return { policyName: policy, policyPackName: GATE_PACK, policyPackVersion: "0", description, message: `${description}\n${message}`, level, urn };
}

/** True when the env entry carrying the API key is a secret (the whole list, or that element). */
function apiKeyIsSecret(envs: unknown): boolean {
  if (isSecret(envs)) return true;
  return asArray(envs).every((e) => {
    const plain = unwrapSecrets(e);
    return typeof plain !== "string" || !plain.startsWith(`${API_KEY_VAR}=`) || isSecret(e);
  });
}

export function gateChecks(resources: RecordedResource[], config: PolicyConfigMap): Diagnostic[] {
  const views = stackViews(resources);
  const all = [...views.keys()];
  const out: Diagnostic[] = [];

  const protectLevel = config[PROTECTED_DATA]?.level ?? "mandatory";
  if (protectLevel !== "disabled") {
    for (const [v, why] of dataVolumes(all)) {
      if (!views.get(v)!.options.retainOnDelete) {
        out.push(diag(PROTECTED_DATA, "Data volumes are retained on delete (checked by the offline gate: retainOnDelete is not sent to policy packs).",
          protectLevel, v.urn, violation(PROTECTED_DATA, v, "options.retainOnDelete", `false (data volume: ${why})`, "register it with { protect: true, retainOnDelete: true }")));
      }
    }
  }

  const keyLevel = config[API_KEY_SECRET]?.level ?? "mandatory";
  if (keyLevel !== "disabled") {
    for (const lane of stackLanes(all)) {
      const raw = views.get(lane.container as StackResourceView)!.inputs.envs;
      if (raw !== undefined && !apiKeyIsSecret(raw)) {
        out.push(diag(API_KEY_SECRET, "The API key reaches containers only as a Pulumi secret (checked by the offline gate: policy packs see secrets unwrapped).",
          keyLevel, lane.container.urn, violation(API_KEY_SECRET, lane.container, `envs ${API_KEY_VAR}`, "[a plain, non-secret value]",
            "build the env from a secret Output (config apiKey set with --secret, or the generated RandomPassword result)")));
      }
    }
  }
  return out;
}
