// api-key-secret: every service container gets a real API key through its env and nowhere else; the
// service's built-in fallback key (`dev-only-key`) is refused. Messages never contain the key.
// Whether the env input is a Pulumi secret cannot be seen from a policy (policies receive secrets
// unwrapped, pulumi/pulumi-policy#241); the offline gate checks that part (gate/analyzerGateChecks.ts).
import { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig, schemaWithDefaults } from "./config";
import { API_KEY_VAR, envEntries, laneOf, SERVICE_FALLBACK_API_KEY, violation } from "./model";

export const NAME = "api-key-secret";

export interface ApiKeySecretConfig {
  minLength: number;
}

export const DEFAULTS: ApiKeySecretConfig = { minLength: 24 };

/** Every string in the container's inputs outside `envs`, with its field path. */
function otherStrings(props: Record<string, any>): { field: string; text: string }[] {
  const out: { field: string; text: string }[] = [];
  const walk = (v: unknown, field: string) => {
    if (typeof v === "string") out.push({ field, text: v });
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${field}[${i}]`));
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, field ? `${field}.${k}` : k);
  };
  for (const [k, v] of Object.entries(props)) if (k !== "envs") walk(v, k);
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
    if (keys.length === 0) {
      reportViolation(violation(NAME, args, `envs ${API_KEY_VAR}`, `(unset, so the service accepts its built-in key "${SERVICE_FALLBACK_API_KEY}")`,
        "pass the stack's secret API key (config apiKey as a secret, or the generated one)"));
      return;
    }
    for (const e of keys) {
      const field = `envs[${e.index}] ${API_KEY_VAR}`;
      if (e.value.trim() === SERVICE_FALLBACK_API_KEY) {
        reportViolation(violation(NAME, args, field, `the service's built-in fallback key "${SERVICE_FALLBACK_API_KEY}"`,
          "set a real key with `pulumi config set --secret apiKey`, or unset apiKey to let the stack generate one"));
      } else if (e.value.trim().length < cfg.minLength) {
        reportViolation(violation(NAME, args, field, `[secret, ${e.value.trim().length} characters]`,
          `use a key of at least ${cfg.minLength} characters`));
      }
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
