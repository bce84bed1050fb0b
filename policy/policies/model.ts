// Shared reading of the stack's resources: resource type tokens, tolerant readers for docker
// container inputs (envs, labels, ports, mounts), service-lane recognition and the message format
// every policy uses. No policy decisions live here.
import * as path from "node:path";

export const CONTAINER = "docker:index/container:Container";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
export const VOLUME = "docker:index/volume:Volume";
export const LOCAL_COMMAND = "command:local:Command";
export const REMOTE_COMMAND = "command:remote:Command";
export const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

export const LABEL_LANE = "org.sir-convert-a-lot.lane";
export const LABEL_PROFILE = "org.sir-convert-a-lot.profile";
export const LABEL_ROLE = "org.sir-convert-a-lot.role";
export const LABEL_REVISION = "org.opencontainers.image.revision";

export const API_KEY_VAR = "SIR_CONVERT_A_LOT_API_KEY";
export const SERVICE_FALLBACK_API_KEY = "dev-only-key";

/** The part of a resource every policy reads; both ResourceValidationArgs and PolicyResource fit. */
export interface ResourceView {
  type: string;
  name: string;
  urn: string;
  props: Record<string, unknown>;
}

export type Profile = "prod" | "eval";

/** A service lane: one container running the service in one profile. */
export interface Lane {
  /** Lane name as the stack declares it (label), else the profile. */
  lane: string;
  profile: Profile;
  container: ResourceView;
}

// ---------------------------------------------------------------------------------------------
// Unknown values. @pulumi/policy throws its (unexported) UnknownValueError when a policy touches
// a value that is not known during preview; the engine then reports "can't run policy during
// preview" as advisory. Recognition code may skip unknowns; checks let the error propagate.

export function isUnknownValueError(err: unknown): boolean {
  return err instanceof Error && /value at \..* can't be known during preview$/.test(err.message);
}

/** Reads a value, or returns undefined when it is unknown during preview. */
export function known<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (isUnknownValueError(err)) return undefined;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Value helpers.

export function asString(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? (v as unknown[]) : [];
}

export function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function isTruthy(v: string): boolean {
  return /^(1|true|yes|on)$/i.test(v.trim());
}

export function isFalsy(v: string): boolean {
  return /^(0|false|no|off)$/i.test(v.trim());
}

/** Renders a value for a message: JSON, truncated. Never call it with a secret. */
export function show(v: unknown): string {
  if (v === undefined) return "(unset)";
  const text = JSON.stringify(v);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** The one message format: `<policy>: <resource name> (<type>) field <path> is <bad value>; <fix>`. */
export function violation(policy: string, r: { name: string; type: string }, field: string, bad: string, fix: string): string {
  return `${policy}: ${r.name} (${r.type}) field ${field} is ${bad}; ${fix}`;
}

// ---------------------------------------------------------------------------------------------
// Container inputs.

export interface EnvEntry {
  key: string;
  value: string;
  index: number;
}

/**
 * `envs` as KEY=value entries (all occurrences, in order), skipping elements unknown at preview
 * (the program keeps only the API key in an element of its own that can be unknown; api-key-secret
 * and api-key-source decide those). A wholly unknown `envs` still throws: nothing can be decided.
 */
export function envEntries(props: Record<string, unknown>): EnvEntry[] {
  const out: EnvEntry[] = [];
  const list = asArray(props.envs);
  for (let index = 0; index < list.length; index++) {
    const text = known(() => asString(list[index]));
    if (text === undefined) continue;
    const eq = text.indexOf("=");
    if (eq <= 0) continue;
    out.push({ key: text.slice(0, eq), value: text.slice(eq + 1), index });
  }
  return out;
}

/** Indexes of the `envs` elements that are unknown at preview. */
export function unknownEnvIndexes(props: Record<string, unknown>): number[] {
  const list = asArray(props.envs);
  const out: number[] = [];
  for (let index = 0; index < list.length; index++) {
    let unknown = false;
    try {
      void list[index];
    } catch (err) {
      if (!isUnknownValueError(err)) throw err;
      unknown = true;
    }
    if (unknown) out.push(index);
  }
  return out;
}

/** The value the process sees (docker keeps the last occurrence), or undefined. */
export function envValue(props: Record<string, unknown>, key: string): string | undefined {
  const all = envEntries(props).filter((e) => e.key === key);
  return all.length ? all[all.length - 1].value : undefined;
}

/** Labels as a map; accepts docker's `[{label, value}]` list and a plain map. */
export function labelMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      const rec = asRecord(item);
      const k = asString(rec.label);
      const val = asString(rec.value);
      if (k !== undefined && val !== undefined) out[k] = val;
    }
  } else {
    for (const [k, val] of Object.entries(asRecord(v))) if (typeof val === "string") out[k] = val;
  }
  return out;
}

export function commandText(props: Record<string, unknown>): string {
  return [...asArray(props.entrypoints), ...asArray(props.command)].filter((c) => typeof c === "string").join(" ");
}

export interface PortBinding {
  field: string;
  internal: number | undefined;
  external: number | undefined;
  ip: string | undefined;
  protocol: string;
}

export function portBindings(props: Record<string, unknown>): PortBinding[] {
  return asArray(props.ports).map((raw, i) => {
    const p = asRecord(raw);
    return {
      field: `ports[${i}]`,
      internal: typeof p.internal === "number" ? p.internal : undefined,
      external: typeof p.external === "number" ? p.external : undefined,
      ip: asString(p.ip),
      protocol: (asString(p.protocol) ?? "tcp").toLowerCase(),
    };
  });
}

export interface Mount {
  field: string;
  kind: "volume" | "bind" | "other";
  /** Volume name or host path. */
  source: string | undefined;
  target: string | undefined;
  readOnly: boolean;
}

/** Both `volumes` (`{volumeName|hostPath, containerPath}`) and `mounts` (`{type, source, target}`). */
export function mounts(props: Record<string, unknown>): Mount[] {
  const out: Mount[] = [];
  asArray(props.volumes).forEach((raw, i) => {
    const v = asRecord(raw);
    const volumeName = asString(v.volumeName);
    const hostPath = asString(v.hostPath);
    out.push({
      field: `volumes[${i}]`,
      kind: volumeName ? "volume" : hostPath ? "bind" : "other",
      source: volumeName ?? hostPath,
      target: asString(v.containerPath),
      readOnly: v.readOnly === true,
    });
  });
  asArray(props.mounts).forEach((raw, i) => {
    const m = asRecord(raw);
    const type = asString(m.type);
    out.push({
      field: `mounts[${i}]`,
      kind: type === "volume" ? "volume" : type === "bind" ? "bind" : "other",
      source: asString(m.source),
      target: asString(m.target),
      readOnly: m.readOnly === true,
    });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Service-lane recognition (from what the stack declares, never from resource names).

const SERVE_EVAL = /serve:sir-convert-a-lot-eval\b|scripts\.sir_convert_a_lot\.service_eval:app/;
const SERVE_PROD = /serve:sir-convert-a-lot(?![-\w])|scripts\.sir_convert_a_lot\.service:app/;
const RUNTIME_IMAGE_REPO = /(^|\/)sir-convert-a-lot[\w.-]*$/;

/** Repository part of an image reference (`repo:tag`, `repo@sha256:...`). */
export function imageRepository(ref: string): string {
  const at = ref.indexOf("@");
  const noDigest = at >= 0 ? ref.slice(0, at) : ref;
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** The service's runtime image: built with the service's build args, or named after the service. */
export function isRuntimeImage(r: ResourceView): boolean {
  if (r.type !== REMOTE_IMAGE) return false;
  const args = known(() => asRecord(asRecord(r.props.build).buildArgs)) ?? {};
  if (Object.keys(args).some((k) => k.startsWith("SIR_CONVERT_A_LOT_"))) return true;
  const name = known(() => asString(r.props.name));
  return name !== undefined && RUNTIME_IMAGE_REPO.test(imageRepository(name));
}

function profileOf(props: Record<string, unknown>, labels: Record<string, string>): Profile | undefined {
  const cmd = known(() => commandText(props)) ?? "";
  if (SERVE_EVAL.test(cmd)) return "eval";
  if (SERVE_PROD.test(cmd)) return "prod";
  const label = labels[LABEL_PROFILE];
  if (label === "prod" || label === "eval") return label;
  return undefined;
}

/**
 * The lane a container runs, or undefined when it is not a service container. Signals: the lane
 * labels, a command that serves the app, an image reference naming the runtime image, or (stack
 * policies) an `image` property dependency on the runtime RemoteImage.
 */
export function laneOf(r: ResourceView, dependsOnRuntimeImage = false): Lane | undefined {
  if (r.type !== CONTAINER) return undefined;
  const labels = known(() => labelMap(r.props.labels)) ?? {};
  const profile = profileOf(r.props, labels);
  const image = known(() => asString(r.props.image));
  const namedRuntime = image !== undefined && !image.startsWith("sha256:") && RUNTIME_IMAGE_REPO.test(imageRepository(image));
  const isService = LABEL_LANE in labels || LABEL_PROFILE in labels || profile !== undefined || namedRuntime || dependsOnRuntimeImage;
  if (!isService) return undefined;
  // The image's default CMD serves prod, so a service container without a profile signal is prod.
  const resolved = profile ?? "prod";
  return { lane: labels[LABEL_LANE] ?? resolved, profile: resolved, container: r };
}

/** Resource shape stack policies get (dependencies resolved to resources). */
export interface StackResourceView extends ResourceView {
  opts: { protect: boolean };
  parent?: StackResourceView;
  dependencies: StackResourceView[];
  propertyDependencies: Record<string, StackResourceView[]>;
}

/** Every service lane in the stack, including containers recognised only by their image dependency. */
export function stackLanes(resources: StackResourceView[]): Lane[] {
  const out: Lane[] = [];
  for (const r of resources) {
    if (r.type !== CONTAINER) continue;
    const imageDeps = r.propertyDependencies.image ?? [];
    const lane = laneOf(r, imageDeps.some(isRuntimeImage));
    if (lane) out.push(lane);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Data roots (contract §1.1/§2.2): relative roots resolve against the image's WORKDIR /app.

const WORKDIR = "/app";

export function resolveRoot(value: string): string {
  return path.posix.resolve(WORKDIR, value);
}

export interface DataRoot {
  /** The env var that decides it, or "(default)". */
  source: string;
  value: string;
  resolved: string;
}

function firstSet(props: Record<string, unknown>, keys: string[], fallback: string): DataRoot {
  for (const key of keys) {
    const v = envValue(props, key);
    if (v !== undefined && v !== "") return { source: key, value: v, resolved: resolveRoot(v) };
  }
  return { source: "(default)", value: fallback, resolved: resolveRoot(fallback) };
}

/** The prod root as the service resolves it: CONVERTER_STORAGE_ROOT, else SIR_CONVERT_A_LOT_DATA_DIR, else default. */
export function prodRoot(props: Record<string, unknown>): DataRoot {
  return firstSet(props, ["CONVERTER_STORAGE_ROOT", "SIR_CONVERT_A_LOT_DATA_DIR"], "build/sir_convert_a_lot");
}

export function evalRoot(props: Record<string, unknown>): DataRoot {
  return firstSet(props, ["SIR_CONVERT_A_LOT_EVAL_DATA_DIR"], "build/sir_convert_a_lot_eval");
}

/** The data root the lane's process writes to. */
export function laneDataRoot(lane: Lane): DataRoot {
  return lane.profile === "prod" ? prodRoot(lane.container.props) : evalRoot(lane.container.props);
}

/** True when `inner` equals `outer` or lies below it (POSIX paths). */
export function pathWithin(inner: string, outer: string): boolean {
  const a = path.posix.normalize(inner).replace(/\/+$/, "") || "/";
  const b = path.posix.normalize(outer).replace(/\/+$/, "") || "/";
  return a === b || a.startsWith(b === "/" ? "/" : `${b}/`);
}
