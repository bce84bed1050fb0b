// api-key-secret: every service container gets a real API key through its env and nowhere else; the
// service's built-in fallback key (`dev-only-key`) is refused. Messages never contain the key.
// Whether the env input is a Pulumi secret cannot be seen from a policy (policies receive secrets
// unwrapped, pulumi/pulumi-policy#241); that check lives in gateOnly.ts, which the offline gate runs.
// At a first-deploy preview the generated key is unknown; api-key-source decides where it comes from.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig, schemaWithDefaults } from "./config";
import { apiKeyProblem } from "./invariants";
import { API_KEY_VAR, envEntries, known, laneOf, SERVICE_FALLBACK_API_KEY, unknownEnvIndexes, violation } from "./model";

export const NAME = "api-key-secret";

export interface ApiKeySecretConfig {
  minLength: number;
}

export const DEFAULTS: ApiKeySecretConfig = { minLength: 24 };

/**
 * Every known string in the container's inputs outside `envs`, with its field path. Values unknown
 * at preview (the image id of a new build) are skipped: they come from a provider, not from the key.
 */
function otherStrings(props: Record<string, unknown>): { field: string; text: string }[] {
  const out: { field: string; text: string }[] = [];
  const walk = (read: () => unknown, field: string) => {
    const v = known(read);
    if (typeof v === "string") out.push({ field, text: v });
    else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) walk(() => v[i], `${field}[${i}]`);
    else if (v !== null && typeof v === "object") for (const k of Object.keys(v)) walk(() => (v as Record<string, unknown>)[k], field ? `${field}.${k}` : k);
  };
  for (const k of Object.keys(props)) if (k !== "envs") walk(() => props[k], k);
  return out;
}

export const apiKeySecret: ResourceValidationPolicy = {
  name: NAME,
  description: "Service containers get a real API key (never the built-in fallback dev-only-key) only through envs, which the stack keeps secret.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(DEFAULTS as unknown as Record<string, unknown>, {
    minLength: { type: "integer", minimum: 1 },
  }),
  validateResource: (args, reportViolation) => {
    const lane = laneOf(args);
    if (!lane) return args.notApplicable("not a service container");
    const cfg = readConfig(args, DEFAULTS);
    const keys = envEntries(args.props).filter((e) => e.key === API_KEY_VAR);
    // At a first-deploy preview the generated key is unknown: only its own element may be.
    const unknown = unknownEnvIndexes(args.props);
    if (unknown.length > 1 || (unknown.length === 1 && keys.length > 0)) {
      reportViolation(
        violation(
          NAME,
          args,
          `envs[${unknown.join(",")}]`,
          `unknown at preview (${unknown.length} element${unknown.length === 1 ? "" : "s"}${keys.length ? `, besides a known ${API_KEY_VAR}` : ""})`,
          `build every variable but ${API_KEY_VAR} from config, so the pack can read it at preview; only the key's own element may be unknown`,
        ),
      );
      return;
    }
    if (keys.length === 0 && unknown.length === 1) return; // the unknown key: api-key-source traces it
    if (keys.length === 0) {
      reportViolation(
        violation(
          NAME,
          args,
          `envs ${API_KEY_VAR}`,
          `(unset, so the service accepts its built-in key "${SERVICE_FALLBACK_API_KEY}")`,
          "pass the stack's secret API key (config apiKey as a secret, or the generated one)",
        ),
      );
      return;
    }
    for (const e of keys) {
      const field = `envs[${e.index}] ${API_KEY_VAR}`;
      const p = apiKeyProblem(e.value, cfg.minLength);
      if (p) reportViolation(violation(NAME, args, field, p.bad, p.fix));
    }
    // The key must not leak into inputs that docker shows in `docker inspect` labels or process lists.
    const secrets = keys.map((k) => k.value).filter((v) => v.trim().length >= 8 && v !== SERVICE_FALLBACK_API_KEY);
    for (const { field, text } of otherStrings(args.props)) {
      if (secrets.some((s) => text.includes(s))) {
        reportViolation(violation(NAME, args, field, "[contains the API key]", `pass the key only through envs ${API_KEY_VAR}`));
      }
    }
  },
};
