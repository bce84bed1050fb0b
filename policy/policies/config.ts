// Policy config: each policy declares its JSON schema (with the same defaults the code uses) and
// reads its config through readConfig, so the pack behaves the same whether or not the engine
// sent config (`--policy-pack-config`) or filled in schema defaults.
import type { PolicyConfigSchema } from "@pulumi/policy";

/** Merges the config the engine sent over the policy's defaults (unset and null keys keep the default). */
export function readConfig<T extends object>(args: { getConfig<U extends object>(): U }, defaults: T): T {
  const given = args.getConfig<Record<string, unknown>>();
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(given)) if (v !== undefined && v !== null) out[k] = v;
  return out as T;
}

/** Builds a config schema whose `default`s are exactly the given defaults. */
export function schemaWithDefaults(defaults: Record<string, unknown>, properties: PolicyConfigSchema["properties"]): PolicyConfigSchema {
  const withDefaults: PolicyConfigSchema["properties"] = {};
  for (const [k, schema] of Object.entries(properties)) {
    withDefaults[k] = k in defaults ? { ...schema, default: defaults[k] as never } : schema;
  }
  return { properties: withDefaults };
}
