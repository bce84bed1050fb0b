// loopback-only: every published port binds the host's loopback (127.0.0.1 or ::1); the service is
// reached through an SSH tunnel. Any other exposure needs an allowlist entry with a reason.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig, schemaWithDefaults } from "./config";
import { asString, CONTAINER, portBindings, show, violation } from "./model";

export const NAME = "loopback-only";
export { LOOPBACK } from "./invariants";

import { LOOPBACK } from "./invariants";

export interface Exposure {
  /** Docker container name (input `name`) or Pulumi resource name. */
  container: string;
  /** The host address the port may bind; "0.0.0.0" means all interfaces. */
  ip: string;
  /** Host port; omitted: any port of that container on that address. */
  external?: number;
  /** Why (required; a ticket or decision reference). */
  reason: string;
}

export interface LoopbackOnlyConfig {
  allowedExposures: Exposure[];
}

export const DEFAULTS: LoopbackOnlyConfig = { allowedExposures: [] };

function normalizeIp(ip: string): string {
  return ip.replace(/^\[(.*)\]$/, "$1");
}

export const loopbackOnly: ResourceValidationPolicy = {
  name: NAME,
  description: "Every published port binds 127.0.0.1 or ::1; anything else needs an allowedExposures entry in the policy config.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(DEFAULTS as unknown as Record<string, unknown>, {
    allowedExposures: {
      type: "array",
      items: {
        type: "object",
        required: ["container", "ip", "reason"],
        properties: {
          container: { type: "string", minLength: 1 },
          ip: { type: "string", minLength: 1 },
          external: { type: "integer" },
          reason: { type: "string", minLength: 1 },
        },
      },
    },
  }),
  validateResource: (args, reportViolation) => {
    if (args.type !== CONTAINER) return args.notApplicable("not a container");
    const cfg = readConfig(args, DEFAULTS);
    const names = [args.name, asString(args.props.name)].filter((n): n is string => n !== undefined);
    const allowed = (ip: string, external: number | undefined) =>
      cfg.allowedExposures.some(
        (e) =>
          names.includes(e.container) &&
          normalizeIp(e.ip) === ip &&
          (e.external === undefined || e.external === external) &&
          typeof e.reason === "string" &&
          e.reason.trim() !== "",
      );

    if (asString(args.props.networkMode) === "host" && !allowed("host", undefined)) {
      reportViolation(
        violation(
          NAME,
          args,
          "networkMode",
          show("host"),
          `use the default bridge network and publish ports on 127.0.0.1 (host networking exposes every listening port on all interfaces)`,
        ),
      );
    }
    for (const p of portBindings(args.props)) {
      const ip = normalizeIp(p.ip ?? "0.0.0.0");
      if (LOOPBACK.includes(ip) || allowed(ip, p.external)) continue;
      const bad = p.ip === undefined ? `unset (docker binds 0.0.0.0, all interfaces)` : show(p.ip);
      reportViolation(
        violation(
          NAME,
          args,
          `${p.field}.ip`,
          `${bad} for host port ${p.external ?? "(random)"}`,
          `set ip "127.0.0.1" and reach it through the SSH tunnel, or add {container, ip, external, reason} to the ${NAME} config allowedExposures`,
        ),
      );
    }
  },
};
