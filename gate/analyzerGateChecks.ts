// The engine-side half of the checks the Analyzer protocol does not carry to a policy pack: the gate
// hands the pack's own code (policy/policies/gateOnly.ts) what the registrations show
// (retainOnDelete, secret markers) and reports its findings under the pack policy they complete,
// at that policy's configured level. No policy decision is made here.

import { gateOnlyFindings, type RegistrationFacts } from "../policy/policies/gateOnly";
import type { StackResourceView } from "../policy/policies/model";
import type { Diagnostic, PolicyConfigMap } from "./analyzerClient";
import type { RecordedResource } from "./mockRun";
import { unwrapSecrets } from "./mockRun";

export const GATE_PACK = "policy-check-gate";

/** Stack views of the registrations with plain (unwrapped) props, as stack policies see them. */
export function stackViews(resources: RecordedResource[]): Map<StackResourceView, RecordedResource> {
  const views = new Map<string, StackResourceView>();
  const out = new Map<StackResourceView, RecordedResource>();
  for (const r of resources) {
    const v: StackResourceView = {
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: unwrapSecrets(r.inputs) as Record<string, unknown>,
      opts: { protect: r.options.protect },
      dependencies: [],
      propertyDependencies: {},
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

export function gateChecks(resources: RecordedResource[], config: PolicyConfigMap): Diagnostic[] {
  const views = stackViews(resources);
  const facts = new Map<StackResourceView, RegistrationFacts>();
  for (const [v, r] of views) facts.set(v, { retainOnDelete: r.options.retainOnDelete, wireEnvs: r.inputs.envs });
  const out: Diagnostic[] = [];
  for (const f of gateOnlyFindings(facts)) {
    const level = config[f.policy]?.level ?? "mandatory";
    if (level === "disabled") continue;
    out.push({
      policyName: f.policy,
      policyPackName: GATE_PACK,
      policyPackVersion: "0",
      description: f.description,
      message: `${f.description}\n${f.message}`,
      level,
      urn: f.urn,
    });
  }
  return out;
}
