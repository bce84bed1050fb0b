// Loads the stack configuration once: reads every key in the project's config namespace, parses it
// with the zod schema, checks the source checkout, and fails with one message listing every bad
// key, its value (redacted when secret) and why.

import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import {
  apiKeyProblem,
  dataVolumeSeparationProblems,
  evalCpuUnlockProblem,
  gpuDeviceProblems,
  gpuGroupProblems,
  laneOwnershipProblems,
  loopbackProblem,
  type Problem,
  rocmPinProblems,
} from "../../policy/policies/invariants";
import { readCheckoutState } from "../git";
import { configSchema, KNOWN_KEYS, LANES, type ParsedConfig, SECRET_KEYS, STRING_KEYS } from "./schema";

export interface ConfigIssue {
  key: string;
  value: string;
  reason: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      `Invalid stack configuration (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
        issues.map((i) => `  - ${i.key} = ${i.value}: ${i.reason}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** The validated configuration plus the facts derived from it. */
export interface StackConfig extends Omit<ParsedConfig, "apiKey" | "revision"> {
  project: string;
  stack: string;
  /** The 40-hex revision this deploy runs. */
  revision: string;
  /** Absolute path of the source checkout (only meaningful when image.build is true). */
  sourceDir: string;
  /** The API key from config, as a secret; undefined when the stack generates one. */
  apiKey?: pulumi.Output<string>;
}

const REDACTED = "[secret]";

function isSecretKey(fullKey: string): boolean {
  const probe = (runtimeConfig as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  return probe ? probe(fullKey) : false;
}

function show(key: string, value: unknown): string {
  if (SECRET_KEYS.has(key.split(".")[0])) return REDACTED;
  if (value === undefined) return "(unset)";
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function valueAt(obj: unknown, pathParts: PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const p of pathParts) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** Turns the raw `namespace:key` -> string map into the object the schema parses. */
function decodeRaw(namespace: string, raw: Record<string, string>, issues: ConfigIssue[]): Record<string, unknown> {
  const decoded: Record<string, unknown> = {};
  for (const [fullKey, text] of Object.entries(raw)) {
    const sep = fullKey.indexOf(":");
    const ns = fullKey.slice(0, sep);
    const key = fullKey.slice(sep + 1);
    if (ns !== namespace) continue;
    if (!(KNOWN_KEYS as string[]).includes(key)) {
      issues.push({ key, value: show(key, text), reason: `unknown key; known keys are ${KNOWN_KEYS.join(", ")}` });
      continue;
    }
    if (STRING_KEYS.has(key)) {
      decoded[key] = text;
      continue;
    }
    try {
      decoded[key] = JSON.parse(text);
    } catch {
      issues.push({ key, value: show(key, text), reason: "is not valid structured config (expected a YAML object, list, number or boolean)" });
    }
  }
  return decoded;
}

function checkSource(cfg: ParsedConfig, sourceDir: string, issues: ConfigIssue[]): string | undefined {
  if (!fs.existsSync(sourceDir)) {
    issues.push({
      key: "source.path",
      value: show("source.path", cfg.source.path),
      reason: `no such directory (${sourceDir}); clone the service repository there, or set image.build=false to run an image already on the host`,
    });
    return undefined;
  }
  let state: ReturnType<typeof readCheckoutState>;
  try {
    state = readCheckoutState(sourceDir);
  } catch (err) {
    issues.push({ key: "source.path", value: show("source.path", cfg.source.path), reason: `is not a git checkout: ${(err as Error).message.split("\n")[0]}` });
    return undefined;
  }
  const revision = cfg.revision ?? state.head;
  if (revision !== state.head && !cfg.source.allowRevisionMismatch) {
    issues.push({
      key: "revision",
      value: show("revision", revision),
      reason: `is not the checkout's HEAD (${state.head}); check out ${revision} in ${sourceDir}, set image.build=false if its image is already on the host (npm run deploy does this after a deploy), or set source.allowRevisionMismatch=true to build HEAD's tree under this revision`,
    });
  }
  if (state.dirty && !cfg.source.allowDirty) {
    const sample = state.changes.slice(0, 5).join("; ");
    issues.push({
      key: "source.path",
      value: show("source.path", cfg.source.path),
      reason: `checkout has uncommitted changes (${sample}${state.changes.length > 5 ? "; ..." : ""}); commit or stash them, set image.build=false if the revision's image is already on the host, or set source.allowDirty=true`,
    });
  }
  return revision;
}

/** Names the policy pack config file instead of policy/config.<stack>.json (tests, other checkouts). */
export const POLICY_CONFIG_ENV = "SIR_CONVERT_A_LOT_POLICY_PACK_CONFIG";

/** The recorded eval CPU decision of the stack's policy pack config (policy/config.<stack>.json), if any. */
function packEvalCpuDecision(projectDir: string, stack: string): string | undefined {
  const file = process.env[POLICY_CONFIG_ENV] || path.join(projectDir, "policy", `config.${stack}.json`);
  if (!fs.existsSync(file)) return undefined;
  try {
    const doc = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, { evalCpuDecision?: unknown } | undefined>;
    const v = doc["gpu-first-env"]?.evalCpuDecision;
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined; // the gate and the engine report a broken pack config themselves
  }
}

/**
 * The pack's mandatory invariants that config alone decides (policy/policies/invariants.ts, the
 * definitions the pack uses), so a `pulumi up` without `--policy-pack` refuses them too.
 */
function invariantIssues(cfg: ParsedConfig, projectDir: string, stack: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (key: string, value: unknown, problems: (Problem | undefined)[]) => {
    for (const p of problems) if (p) issues.push({ key, value: show(key, value), reason: `${p.bad}: ${p.fix} (mandatory policy invariant)` });
  };
  add("gpu.devices", cfg.gpu.devices, gpuDeviceProblems(cfg.gpu.devices));
  add("gpu.groups", cfg.gpu.groups, gpuGroupProblems(cfg.gpu.groups));
  add("bindAddress", cfg.bindAddress, [loopbackProblem(cfg.bindAddress)]);
  const pins = rocmPinProblems(cfg.torch.indexUrl, {
    torchVersion: cfg.torch.torchVersion,
    torchvisionVersion: cfg.torch.torchvisionVersion,
    torchaudioVersion: cfg.torch.torchaudioVersion,
  });
  for (const p of pins) add(p.field === "index" ? "torch.indexUrl" : p.field === "versions" ? "torch" : `torch.${p.field}`, undefined, [p]);
  add("lanes", undefined, dataVolumeSeparationProblems(Object.fromEntries(LANES.map((l) => [l, cfg.lanes[l].dataVolume])), cfg.modelCache.volume));
  for (const lane of LANES) {
    for (const p of laneOwnershipProblems(lane, cfg.lanes[lane].profile, cfg.lanes[lane].dataVolume)) {
      add(`lanes.${lane}.${p.field}`, cfg.lanes[lane][p.field as "profile" | "dataVolume"], [p]);
    }
  }
  if (cfg.apiKey !== undefined) add("apiKey", undefined, [apiKeyProblem(cfg.apiKey)]);
  add("evalCpu.cpuOnlyDecision", cfg.evalCpu.cpuOnlyDecision, [evalCpuUnlockProblem(cfg.evalCpu.cpuOnlyDecision, packEvalCpuDecision(projectDir, stack))]);
  return issues;
}

/**
 * Parses the given raw config (defaults to the running program's config) into a StackConfig.
 * Throws ConfigError, before any resource is registered, when anything is wrong.
 */
export function loadStackConfig(options: { raw?: Record<string, string>; project?: string; stack?: string; projectDir?: string } = {}): StackConfig {
  const project = options.project ?? pulumi.getProject();
  const stack = options.stack ?? pulumi.getStack();
  const projectDir = options.projectDir ?? process.cwd();
  const raw = options.raw ?? runtimeConfig.allConfig();
  const issues: ConfigIssue[] = [];

  const decoded = decodeRaw(project, raw, issues);
  if (decoded.apiKey !== undefined && !isSecretKey(`${project}:apiKey`) && options.raw === undefined) {
    issues.push({
      key: "apiKey",
      value: REDACTED,
      reason: "is stored in plain text; set it with `pulumi config set --secret apiKey` (or remove it to let the stack generate one)",
    });
  }
  const parsed = configSchema.safeParse(decoded);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.map(String).join(".") || "(root)";
      issues.push({ key, value: show(key, valueAt(decoded, issue.path)), reason: issue.message });
    }
    throw new ConfigError(issues);
  }
  const cfg = parsed.data;
  issues.push(...invariantIssues(cfg, projectDir, stack));
  const sourceDir = path.resolve(projectDir, cfg.source.path);
  const revision = cfg.image.build ? checkSource(cfg, sourceDir, issues) : cfg.revision;
  if (issues.length > 0 || revision === undefined) throw new ConfigError(issues);

  const { apiKey, ...rest } = cfg;
  return { ...rest, project, stack, revision, sourceDir, apiKey: apiKey === undefined ? undefined : pulumi.secret(apiKey) };
}

/**
 * For the program: like loadStackConfig, but a bad config ends the run with a clean error
 * (Pulumi prints the message without a stack trace).
 */
export function loadProgramConfig(): StackConfig {
  try {
    return loadStackConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}
