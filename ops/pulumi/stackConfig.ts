// The stack config as the operator tools see it: `pulumi config --json` decoded and parsed with
// the program's own schema (lib/config/schema.ts), so the tools and the program agree on every
// default and rule. Secret values are never read here.
import * as path from "node:path";
import { configSchema, type ParsedConfig, SECRET_KEYS, STRING_KEYS } from "../../lib/config/schema";
import { OpsError } from "../tool/error";
import type { ConfigJson, ConfigValue } from "./schemas";

export type OpsConfig = Omit<ParsedConfig, "apiKey">;

function decode(key: string, v: ConfigValue): unknown {
  if (STRING_KEYS.has(key)) return v.value;
  if (v.objectValue !== undefined) return v.objectValue;
  if (v.value === undefined) return undefined;
  try {
    return JSON.parse(v.value);
  } catch {
    return v.value;
  }
}

/** Picks this project's keys out of `pulumi config --json` and applies the program's defaults and rules. */
export function parseOpsConfig(json: ConfigJson, namespace: string): OpsConfig {
  const raw: Record<string, unknown> = {};
  for (const [fullKey, entry] of Object.entries(json)) {
    if (!fullKey.startsWith(`${namespace}:`)) continue;
    const key = fullKey.slice(namespace.length + 1);
    if (SECRET_KEYS.has(key) || entry.secret) continue;
    raw[key] = decode(key, entry);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${namespace}:${i.path.join(".")}: ${i.message}`).join("; ");
    throw new OpsError(
      `the stack configuration is invalid: ${issues}`,
      "fix it with `npm run pulumi -- config set ... --stack hemma` (README, Configuration reference)",
    );
  }
  const { apiKey: _secret, ...cfg } = parsed.data;
  return cfg;
}

/** The current revision, or a refusal saying nothing was ever deployed. */
/**
 * The config a restore (ops/plan/rollbackConfig.ts) would leave, parsed with today's schema: what a
 * rollback runs with. Throws the schema's error when the restored config fails today's rules.
 */
export function parseRestoredConfig(today: ConfigJson, restore: { set: ConfigJson; remove: string[] }, namespace: string): OpsConfig {
  const merged: ConfigJson = { ...today, ...restore.set };
  for (const key of restore.remove) delete merged[key];
  return parseOpsConfig(merged, namespace);
}

export function requireRevision(cfg: OpsConfig, namespace: string): string {
  if (!cfg.revision) {
    throw new OpsError(
      `config ${namespace}:revision is not set, so this stack has no current revision`,
      "deploy first with `npm run deploy` (docs/runbook.md, 2. First deploy)",
    );
  }
  return cfg.revision;
}

/** Absolute path of the source checkout (relative config paths resolve against the project dir). */
export function sourceDir(cfg: OpsConfig, projectDir: string): string {
  return path.resolve(projectDir, cfg.source.path);
}
