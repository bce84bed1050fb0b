// unique-host-ports (stack): no two published ports claim the same host port, and none takes a
// port other stacks on Hemma already use.
import type { StackValidationPolicy } from "@pulumi/policy";
import { readConfig, schemaWithDefaults } from "./config";
import { CONTAINER, portBindings, violation } from "./model";

export const NAME = "unique-host-ports";

export interface UniqueHostPortsConfig {
  /** Host ports owned by other stacks on the host. */
  reservedPorts: number[];
}

export const DEFAULTS: UniqueHostPortsConfig = { reservedPorts: [80, 443, 8085, 9000] };

export const uniqueHostPorts: StackValidationPolicy = {
  name: NAME,
  description: "No two containers publish the same host port, and none uses a port reserved by other stacks on the host.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(DEFAULTS as unknown as Record<string, unknown>, {
    reservedPorts: { type: "array", items: { type: "integer", minimum: 1, maximum: 65535 } },
  }),
  validateStack: (args, reportViolation) => {
    const cfg = readConfig(args, DEFAULTS);
    const reserved = new Set(cfg.reservedPorts.map(Number));
    const claimed = new Map<string, string>();
    const containers = args.resources.filter((r) => r.type === CONTAINER);
    if (containers.length === 0) return args.notApplicable("no containers in the stack");
    for (const r of containers) {
      for (const p of portBindings(r.props)) {
        if (p.external === undefined) continue;
        const key = `${p.external}/${p.protocol}`;
        if (reserved.has(p.external)) {
          reportViolation(
            violation(
              NAME,
              r,
              `${p.field}.external`,
              `${p.external} (reserved by another stack on the host)`,
              `pick a free host port; reserved: ${[...reserved].sort((a, b) => a - b).join(", ")} (${NAME} config reservedPorts)`,
            ),
            r.urn,
          );
        }
        const owner = claimed.get(key);
        if (owner !== undefined) {
          reportViolation(
            violation(
              NAME,
              r,
              `${p.field}.external`,
              `${p.external}/${p.protocol} (already published by ${owner})`,
              "give every published port its own host port",
            ),
            r.urn,
          );
        } else {
          claimed.set(key, `${r.name} ${p.field}`);
        }
      }
    }
  },
};
