// protected-data (stack): the lanes' data volumes (labelled role=data, or mounted at a lane's data
// root) carry `protect`, so no preview/up/destroy can delete conversion jobs and results.
// retainOnDelete is not part of the Analyzer protocol (AnalyzerResourceOptions has no such field),
// so the offline gate checks it from the registration (policy/policies/gateOnly.ts, fed by gate/analyzerGateChecks.ts).
import type { StackValidationPolicy } from "@pulumi/policy";
import { asString, LABEL_ROLE, labelMap, laneDataRoot, mounts, pathWithin, type StackResourceView, stackLanes, VOLUME, violation } from "./model";

export const NAME = "protected-data";

/** Data volumes: labelled `org.sir-convert-a-lot.role=data`, or mounted at a service lane's data root. */
export function dataVolumes(resources: StackResourceView[]): Map<StackResourceView, string> {
  const out = new Map<StackResourceView, string>();
  const volumes = resources.filter((r) => r.type === VOLUME);
  for (const v of volumes) {
    if (labelMap(v.props.labels)[LABEL_ROLE] === "data") out.set(v, `label ${LABEL_ROLE}=data`);
  }
  for (const lane of stackLanes(resources)) {
    const root = laneDataRoot(lane).resolved;
    const c = lane.container as StackResourceView;
    for (const m of mounts(c.props)) {
      if (m.kind !== "volume" || m.target === undefined || !pathWithin(root, m.target)) continue;
      const byName = volumes.filter((v) => asString(v.props.name) === m.source || v.name === m.source);
      const byDep = (c.propertyDependencies.volumes ?? []).filter((d) => d.type === VOLUME && asString(d.props.name) === m.source);
      for (const v of [...byName, ...byDep]) if (!out.has(v)) out.set(v, `mounted at the ${lane.lane} data root ${root}`);
    }
  }
  return out;
}

export const protectedData: StackValidationPolicy = {
  name: NAME,
  description: "Data volumes are protected (protect: true) so no Pulumi operation can delete the lanes' jobs and results.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const volumes = dataVolumes(args.resources as unknown as StackResourceView[]);
    if (volumes.size === 0) return args.notApplicable("no data volumes in the stack");
    for (const [v, why] of volumes) {
      if (!v.opts.protect) {
        reportViolation(
          violation(NAME, v, "options.protect", `false (data volume: ${why})`, "register it with { protect: true, retainOnDelete: true }"),
          v.urn,
        );
      }
    }
  },
};
