// Policy pack config for Configure, built the way the CLI builds it from `--policy-pack-config`:
// `{"all": <level>, "<policy>": <level> | {"enforcementLevel": <level>, ...properties}}`, checked
// against the pack's policies and config schemas, with schema defaults filled in.
import * as fs from "node:fs";
import type { Level, PackInfo, PolicyConfigMap } from "./analyzerClient";

const LEVELS: Level[] = ["advisory", "mandatory", "remediate", "disabled"];

export type PolicyPackConfigFile = Record<string, unknown>;

export function readPolicyConfigFile(file: string): PolicyPackConfigFile {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`${file}: policy pack config must be a JSON object`);
  return parsed as PolicyPackConfigFile;
}

function level(value: unknown, where: string): Level {
  if (typeof value !== "string" || !LEVELS.includes(value as Level)) {
    throw new Error(`${where}: enforcement level ${JSON.stringify(value)} is not one of ${LEVELS.join(", ")}`);
  }
  return value as Level;
}

function typeMatches(schemaType: unknown, value: unknown): boolean {
  if (schemaType === undefined) return true;
  const types = Array.isArray(schemaType) ? schemaType : [schemaType];
  return types.some((t) => {
    switch (t) {
      case "string":
        return typeof value === "string";
      case "integer":
        return Number.isInteger(value);
      case "number":
        return typeof value === "number";
      case "boolean":
        return typeof value === "boolean";
      case "array":
        return Array.isArray(value);
      case "object":
        return value !== null && typeof value === "object" && !Array.isArray(value);
      case "null":
        return value === null;
      default:
        return true;
    }
  });
}

export function buildPolicyConfig(info: PackInfo, file: PolicyPackConfigFile = {}): PolicyConfigMap {
  const names = new Set(info.policies.map((p) => p.name));
  for (const key of Object.keys(file)) {
    if (key !== "all" && !names.has(key)) throw new Error(`policy pack config: unknown policy ${JSON.stringify(key)}; the pack has ${[...names].join(", ")}`);
  }
  const all = file.all === undefined ? undefined : level(file.all, "policy pack config all");
  const out: PolicyConfigMap = {};
  for (const p of info.policies) {
    const given = file[p.name];
    const properties: Record<string, unknown> = {};
    for (const [k, schema] of Object.entries(p.configProperties)) if (schema.default !== undefined) properties[k] = schema.default;
    let lvl = all ?? p.level;
    if (typeof given === "string") {
      lvl = level(given, `policy pack config ${p.name}`);
    } else if (given !== undefined) {
      if (given === null || typeof given !== "object" || Array.isArray(given)) throw new Error(`policy pack config ${p.name}: must be a level or an object`);
      for (const [k, v] of Object.entries(given as Record<string, unknown>)) {
        if (k === "enforcementLevel") {
          lvl = level(v, `policy pack config ${p.name}.enforcementLevel`);
          continue;
        }
        const schema = p.configProperties[k];
        if (!schema)
          throw new Error(
            `policy pack config ${p.name}: unknown property ${JSON.stringify(k)}; known: ${Object.keys(p.configProperties).join(", ") || "(none)"}`,
          );
        if (!typeMatches(schema.type, v))
          throw new Error(`policy pack config ${p.name}.${k}: ${JSON.stringify(v)} is not of type ${JSON.stringify(schema.type)}`);
        properties[k] = v;
      }
    }
    out[p.name] = { level: lvl, properties };
  }
  return out;
}
