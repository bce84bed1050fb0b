// data-root-separation (stack): prod and eval keep their jobs in different storage. Each lane's
// data root (from its env, as the service resolves it) is a dedicated mount; no volume or host
// path is writable by two lanes (except the allow-listed model cache) and no lane's host path
// lies inside another's.
import type { StackValidationPolicy } from "@pulumi/policy";
import { readConfig, schemaWithDefaults } from "./config";
import { laneOwnershipProblems } from "./invariants";
import { evalRoot, type Lane, laneDataRoot, type Mount, mounts, pathWithin, prodRoot, type StackResourceView, show, stackLanes, violation } from "./model";

export const NAME = "data-root-separation";

export interface DataRootSeparationConfig {
  /** Volume names or host paths that several lanes may mount writable (shared caches). */
  sharedVolumes: string[];
}

export const DEFAULTS: DataRootSeparationConfig = { sharedVolumes: ["sir-convert-a-lot-model-cache"] };

interface LaneMounts {
  lane: Lane;
  mounts: Mount[];
}

export const dataRootSeparation: StackValidationPolicy = {
  name: NAME,
  description:
    "prod and eval use different data volumes mounted at their data-dir paths; no volume or host path is writable by both lanes except an allow-listed cache.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(DEFAULTS as unknown as Record<string, unknown>, {
    sharedVolumes: { type: "array", items: { type: "string" } },
  }),
  validateStack: (args, reportViolation) => {
    const cfg = readConfig(args, DEFAULTS);
    const lanes: LaneMounts[] = stackLanes(args.resources as unknown as StackResourceView[]).map((lane) => ({
      lane,
      mounts: mounts(lane.container.props),
    }));
    if (lanes.length === 0) return args.notApplicable("no service lanes in the stack");

    // 1. Each lane's data root is its own mount, at exactly the path its env names.
    for (const { lane, mounts: ms } of lanes) {
      const c = lane.container;
      const root = laneDataRoot(lane);
      const atRoot = ms.find((m) => m.target !== undefined && pathWithin(m.target, root.resolved) && pathWithin(root.resolved, m.target));
      if (!atRoot) {
        const targets = ms.map((m) => m.target).filter((t) => t !== undefined);
        reportViolation(
          violation(
            NAME,
            c,
            `envs ${root.source}`,
            `${show(root.value)} (resolves to ${root.resolved}; mounts are at ${show(targets)})`,
            `mount the ${lane.lane} data volume at ${root.resolved}, or point ${root.source === "(default)" ? "the data-dir variable" : root.source} at the path the data volume is mounted on`,
          ),
          c.urn,
        );
      } else if (atRoot.readOnly) {
        reportViolation(violation(NAME, c, `${atRoot.field}.readOnly`, "true", `the ${lane.lane} data root must be writable`), c.urn);
      } else if (cfg.sharedVolumes.includes(atRoot.source ?? "")) {
        reportViolation(
          violation(NAME, c, `${atRoot.field}.source`, show(atRoot.source), `the data root must be a lane-owned volume, not the shared cache`),
          c.urn,
        );
      }
      // The service itself refuses prod root == eval root (data_root_configuration_collision).
      const p = prodRoot(c.props);
      const e = evalRoot(c.props);
      if (p.resolved === e.resolved) {
        reportViolation(
          violation(
            NAME,
            c,
            `envs ${e.source}`,
            `${show(e.value)} (same as the prod root from ${p.source})`,
            "give prod and eval different data directories (readiness reports data_root_configuration_collision otherwise)",
          ),
          c.urn,
        );
      }
    }

    // 1b. A lane's profile and data volume belong to it (invariants.ts laneOwnershipProblems).
    for (const { lane, mounts: ms } of lanes) {
      const c = lane.container;
      const root = laneDataRoot(lane);
      const data = ms.find((m) => m.kind === "volume" && m.target !== undefined && pathWithin(root.resolved, m.target));
      for (const p of laneOwnershipProblems(lane.lane, lane.profile, data?.source ?? "")) {
        const field = p.field === "profile" ? "command (profile)" : `${data?.field ?? "volumes"}.volumeName`;
        reportViolation(violation(NAME, c, field, p.bad, p.fix), c.urn);
      }
    }

    // 2. Lanes never share data paths or writable storage.
    for (let i = 0; i < lanes.length; i++) {
      for (let j = i + 1; j < lanes.length; j++) {
        const a = lanes[i];
        const b = lanes[j];
        const ra = laneDataRoot(a.lane).resolved;
        const rb = laneDataRoot(b.lane).resolved;
        const bc = b.lane.container;
        if (ra === rb) {
          reportViolation(violation(NAME, bc, "data root", show(rb), `lanes ${a.lane.lane} and ${b.lane.lane} must use different data directories`), bc.urn);
        }
        for (const mb of b.mounts) {
          if (!mb.source) continue;
          for (const ma of a.mounts) {
            if (!ma.source || ma.kind !== mb.kind) continue;
            const shared = cfg.sharedVolumes.includes(mb.source);
            if (ma.source === mb.source) {
              if (shared || (ma.readOnly && mb.readOnly)) continue;
              reportViolation(
                violation(
                  NAME,
                  bc,
                  `${mb.field}.source`,
                  `${show(mb.source)} (also mounted writable by lane ${a.lane.lane} at ${ma.field})`,
                  `give lane ${b.lane.lane} its own ${mb.kind === "volume" ? "volume" : "host path"}, or list it in the ${NAME} config sharedVolumes if it is a cache`,
                ),
                bc.urn,
              );
            } else if (mb.kind === "bind" && (pathWithin(mb.source, ma.source) || pathWithin(ma.source, mb.source))) {
              if (shared || cfg.sharedVolumes.includes(ma.source)) continue;
              reportViolation(
                violation(
                  NAME,
                  bc,
                  `${mb.field}.source`,
                  `${show(mb.source)} (nested with lane ${a.lane.lane}'s host path ${show(ma.source)})`,
                  `use host paths for lanes ${a.lane.lane} and ${b.lane.lane} that do not contain each other`,
                ),
                bc.urn,
              );
            }
          }
        }
      }
    }
  },
};
