// What a rollback does to the stack config: the target update's recorded config (from
// `pulumi stack history --json`) comes back for every key of this project's namespace, with
// `image.build` set to what the rollback needs. Secrets are never written: history holds them
// only as `{secret: true}`, so the current secret values stay. Pure.
//
// pulumi v3.248.0 pkg/cmd/pulumi/stack/stack_history.go (updateInfoJSON.Config, configValueJSON):
// every update records the whole stack config; objects carry `objectValue` and their JSON text in
// `value`; secrets have no `value` unless --show-secrets. pkg/cmd/pulumi/config/config.go
// newConfigSetAllCmd: `config set-all --json` takes that same shape and needs a value for every key.
import type { ConfigJson, ConfigValue } from "../pulumi/schemas";

export interface ConfigChange {
  key: string;
  from?: string;
  to?: string;
}

export interface ConfigRestore {
  /** Non-secret keys to write, in `pulumi config --json` shape (for `config set-all --json`). */
  set: ConfigJson;
  /** Non-secret keys of today's config that the target update did not have. */
  remove: string[];
  /** Secret keys left as they are today. */
  secretsKept: string[];
  /** Secret keys the target had that today's config lacks (cannot be restored from history). */
  secretsMissing: string[];
  /** Every difference, flattened to `key.path` for objects. */
  changes: ConfigChange[];
}

function configValueOf(v: ConfigValue): unknown {
  if (v.objectValue !== undefined) return v.objectValue;
  return v.value;
}

function flatten(prefix: string, value: unknown, out: Map<string, string>): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) out.set(prefix, "{}");
    for (const [k, v] of entries) flatten(`${prefix}.${k}`, v, out);
    return;
  }
  out.set(prefix, typeof value === "string" ? value : JSON.stringify(value));
}

function withBuild(v: ConfigValue, build: boolean): ConfigValue {
  const obj = { ...((v.objectValue as Record<string, unknown> | undefined) ?? {}), build };
  return { value: JSON.stringify(obj), objectValue: obj, secret: false };
}

/**
 * The config change that brings `today` back to `recorded` (both fully qualified keys) for keys
 * in `namespace`. `imageBuild` replaces the recorded `image.build`.
 */
export function planConfigRestore(recorded: ConfigJson, today: ConfigJson, namespace: string, imageBuild: boolean): ConfigRestore {
  const mine = (json: ConfigJson) => Object.entries(json).filter(([k]) => k.startsWith(`${namespace}:`));
  const target = new Map(mine(recorded));
  const now = new Map(mine(today));
  const imageKey = `${namespace}:image`;
  target.set(imageKey, withBuild(target.get(imageKey) ?? { secret: false }, imageBuild));

  const set: ConfigJson = {};
  const remove: string[] = [];
  const secretsKept: string[] = [];
  const secretsMissing: string[] = [];
  for (const [key, v] of target) {
    if (v.secret) {
      if (now.get(key)?.secret) secretsKept.push(key);
      else secretsMissing.push(key);
      continue;
    }
    if (v.value === undefined) continue;
    set[key] = v.objectValue !== undefined ? { value: v.value, objectValue: v.objectValue, secret: false } : { value: v.value, secret: false };
  }
  for (const [key, v] of now) {
    if (target.has(key)) continue;
    if (v.secret) secretsKept.push(key);
    else remove.push(key);
  }

  const before = new Map<string, string>();
  const after = new Map<string, string>();
  for (const [key, v] of now) if (!v.secret) flatten(key, configValueOf(v), before);
  for (const [key, v] of Object.entries(set)) flatten(key, configValueOf(v), after);
  const changes: ConfigChange[] = [];
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    if (before.get(key) !== after.get(key)) changes.push({ key, from: before.get(key), to: after.get(key) });
  }
  return { set, remove: remove.sort(), secretsKept: secretsKept.sort(), secretsMissing: secretsMissing.sort(), changes };
}

export function describeRestore(r: ConfigRestore, revision: string): string[] {
  const lines = [
    `  config         restored from the update that deployed ${revision.slice(0, 12)} (every ${r.changes.length === 0 ? "key already matches" : `difference below`}):`,
  ];
  for (const c of r.changes) lines.push(`                   ${c.key}: ${c.from ?? "(unset)"} -> ${c.to ?? "(unset)"}`);
  if (r.secretsKept.length > 0) lines.push(`  secrets        stay as they are (history keeps no secret values): ${r.secretsKept.join(", ")}`);
  if (r.secretsMissing.length > 0)
    lines.push(`  secrets        recorded with that update but not set today, so the program's default applies: ${r.secretsMissing.join(", ")}`);
  return lines;
}
