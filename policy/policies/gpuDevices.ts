// gpu-devices: every service container gets every GPU device node and joins the groups that own
// them, so torch inside the container can reach the AMD GPU (the upstream failure: containers
// without /dev/kfd and /dev/dri reported ready and ran nothing on the GPU).
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig, schemaWithDefaults } from "./config";
import { gpuGroupProblems, REQUIRED_GPU_DEVICES, REQUIRED_GPU_GROUPS } from "./invariants";
import { asArray, asRecord, asString, laneOf, show, violation } from "./model";

export const NAME = "gpu-devices";

export interface GpuDevicesConfig {
  /** Device nodes every service container must map (host path = container path). */
  devices: string[];
  /** Groups every service container must join. */
  groups: string[];
  /** Numeric GIDs tied to a group name, e.g. {"render": ["992"]}. Optional: any numeric GID stands for one missing group (invariants.ts). */
  acceptedGids: Record<string, (string | number)[]>;
}

export const DEFAULTS: GpuDevicesConfig = {
  devices: REQUIRED_GPU_DEVICES,
  groups: REQUIRED_GPU_GROUPS,
  acceptedGids: {},
};

export const gpuDevices: ResourceValidationPolicy = {
  name: NAME,
  description: "Every service container maps every GPU device node (/dev/kfd, /dev/dri) and joins the video and render groups.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(DEFAULTS as unknown as Record<string, unknown>, {
    devices: { type: "array", items: { type: "string", pattern: "^/dev/" } },
    groups: { type: "array", items: { type: "string" } },
    acceptedGids: { type: "object", additionalProperties: { type: "array", items: { type: ["string", "number"] } } },
  }),
  validateResource: (args, reportViolation) => {
    const lane = laneOf(args);
    if (!lane) return args.notApplicable("not a service container");
    const cfg = readConfig(args, DEFAULTS);
    const devices = asArray(args.props.devices).map((raw) => asRecord(raw));
    for (const wanted of cfg.devices) {
      const mapped = devices.find((d) => asString(d.hostPath) === wanted);
      if (!mapped) {
        const have = devices.map((d) => asString(d.hostPath)).filter((p) => p !== undefined);
        reportViolation(
          violation(
            NAME,
            args,
            "devices",
            `missing ${wanted} (mapped: ${show(have)})`,
            `add {hostPath: "${wanted}", containerPath: "${wanted}", permissions: "rwm"} so the ${lane.lane} lane can reach the GPU`,
          ),
        );
        continue;
      }
      const containerPath = asString(mapped.containerPath) ?? wanted;
      if (containerPath !== wanted) {
        reportViolation(
          violation(
            NAME,
            args,
            `devices[hostPath=${wanted}].containerPath`,
            show(containerPath),
            `map ${wanted} at the same path inside the container (ROCm looks for ${wanted})`,
          ),
        );
      }
      const perms = asString(mapped.permissions) ?? "rwm";
      if (!perms.includes("r") || !perms.includes("w")) {
        reportViolation(violation(NAME, args, `devices[hostPath=${wanted}].permissions`, show(perms), `use "rwm" (ROCm opens the device nodes read-write)`));
      }
    }
    const joined = asArray(args.props.groupAdds).map((g) => String(g));
    const accepted = Object.fromEntries(Object.entries(cfg.acceptedGids).map(([g, ids]) => [g, ids.map(String)]));
    for (const p of gpuGroupProblems(joined, cfg.groups, accepted)) reportViolation(violation(NAME, args, p.field, p.bad, p.fix));
  },
};
