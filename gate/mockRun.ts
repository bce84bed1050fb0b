// Runs the real Pulumi program in-process against a mock resource monitor (no engine, no
// providers) and records every resource registration as the engine would see it: type, URN,
// serialized inputs (secrets stay secret), options, parent, provider and dependencies.
// Used by the tests and by the offline policy gate (`npm run policy:check`).

import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { runInPulumiStack } from "@pulumi/pulumi/runtime/stack";

// Runtime internals the SDK marks @internal (no typings); the automation API's inline programs use
// them the same way: a fresh async-local store per run, and a wait for outstanding RPCs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const state = require("@pulumi/pulumi/runtime/state") as {
  withLocalStorage<T>(callback: () => Promise<T>): Promise<T>;
  getStore(): Record<string, unknown>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rpcs = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent?: string;
  /** Provider reference, `<provider urn>::<provider id>`. */
  provider?: string;
  /** Serialized Pulumi property values, as the engine receives them (secrets and unknowns use Pulumi's wire markers). */
  inputs: Record<string, unknown>;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  options: {
    protect: boolean;
    retainOnDelete: boolean;
    deleteBeforeReplace: boolean;
    ignoreChanges: string[];
    replaceOnChanges: string[];
    additionalSecretOutputs: string[];
    aliases: string[];
    customTimeouts?: { create?: string; update?: string; delete?: string };
  };
}

export interface MockRunOptions {
  /** Directory holding the program's `index.ts` (and `Pulumi.yaml`). */
  programDir: string;
  stack: string;
  /** Full `namespace:key` -> raw string config, as `pulumi config` would hand it to the program. */
  config: Record<string, string>;
  secretConfigKeys?: string[];
  preview?: boolean;
  /**
   * What the engine knows at this preview (only with preview: true; default "unchanged"). See
   * PreviewCase and previewState below for the engine behaviour each case reproduces.
   */
  previewCase?: PreviewCase;
  /** Called for each registration as it happens (also when the run later fails). */
  onRegister?: (resource: RecordedResource) => void;
  /**
   * Called with each registration request just before the monitor hands it to `mocks.newResource`
   * (synchronously, so a stateful `mocks` can read the options newResource is not given).
   */
  onRequest?: (request: { type: string; name: string; parent: string; deleteBeforeReplace: boolean }) => void;
  /** Loads the program module; defaults to a fresh `require` of `<programDir>/index.ts`. */
  loadProgram?: () => unknown;
  /** Provider behaviour that replaces the preview-case model (a test's own stateful engine model). */
  mocks?: pulumi.runtime.Mocks;
}

export interface MockRunResult {
  resources: RecordedResource[];
  /** Stack outputs in wire form: secret outputs keep their secret marker (see unwrapSecrets). */
  outputs: Record<string, unknown>;
}

/**
 * The three previews the gate must decide in:
 * - first-deploy: nothing exists yet, every resource is a create;
 * - new-revision: the stack exists and a new source revision is deployed (the runtime image's tag
 *   changes, so the image, both lanes and their verification commands are replaced);
 * - unchanged: the stack exists and nothing changed (every step is a same).
 */
export type PreviewCase = "first-deploy" | "new-revision" | "unchanged";
export const PREVIEW_CASES: PreviewCase[] = ["first-deploy", "new-revision", "unchanged"];

/** The Pulumi wire marker of an unknown value (any type; @pulumi/pulumi runtime/rpc unknownValue). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The Pulumi wire marker of a secret value. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

function digest(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

/** Outputs the program reads that the provider computes (never part of the inputs). */
const COMPUTED: Record<string, string[]> = {
  "docker:index/remoteImage:RemoteImage": ["imageId", "repoDigest"],
  "random:index/randomPassword:RandomPassword": ["result", "bcryptHash"],
  "docker:index/container:Container": ["id", "exitCode", "networkDatas"],
  "docker:index/volume:Volume": ["mountpoint"],
  "command:local:Command": ["stdout", "stderr"],
};

/** Known (post-deploy) values of the computed outputs, as the provider reports them. */
function knownComputed(args: pulumi.runtime.MockResourceArgs, id: string): Record<string, unknown> {
  switch (args.type) {
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: `sha256:${digest(String(args.inputs.name))}`, repoDigest: "" };
    case "random:index/randomPassword:RandomPassword":
      return { result: `mock-${digest(args.name).slice(0, Number(args.inputs.length ?? 32) - 5)}` };
    case "docker:index/container:Container":
      return { id };
    case "command:local:Command":
      return { stdout: "", stderr: "" };
    default:
      return {};
  }
}

/** True when a serialized value holds the unknown marker anywhere. */
export function holdsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(holdsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value as Record<string, unknown>).some(holdsUnknown);
  return false;
}

/**
 * Whether the engine plans a create or replace for this registration at preview (then the
 * provider's preview reports its computed outputs and id as unknown), as pulumi v3.248.0 does:
 * step_generator.go plans a create for a URN with no old state (first deploy); a diff on a
 * replace-on-change input replaces, and an unknown input counts as changed (the docker
 * provider's `image` is ForceNew; pulumi-command v1.2.1's `triggers` is replaceOnChanges). In a
 * new revision, the runtime image's tag (the revision) changes, so it is replaced; what consumes
 * its id (the lanes) and theirs (the verification commands) follows through unknown inputs.
 */
function replacedAtPreview(previewCase: PreviewCase, type: string, serializedInputs: Record<string, unknown>): boolean {
  if (previewCase === "first-deploy") return true;
  if (previewCase === "unchanged") return false;
  return type === "docker:index/remoteImage:RemoteImage" || holdsUnknown(serializedInputs);
}

/** Fake provider behaviour: each resource echoes its inputs plus the computed outputs the program reads. */
function makeMocks(previewCase: PreviewCase | undefined, replaced: () => boolean): pulumi.runtime.Mocks {
  return {
    newResource(args) {
      const id = `${args.name}-${digest(args.type + args.name).slice(0, 12)}`;
      if (previewCase !== undefined && replaced()) {
        // A create/replace at preview: the provider's preview knows the inputs, not what it computes.
        const unknown = Object.fromEntries((COMPUTED[args.type] ?? []).map((k) => [k, UNKNOWN]));
        return { id: undefined, state: { ...args.inputs, ...unknown } } as unknown as { id: string; state: Record<string, unknown> };
      }
      return { id, state: { ...args.inputs, ...knownComputed(args, id) } };
    },
    call(args) {
      return args.inputs;
    },
  };
}

/** The provider behaviour of an update (every output known): the base a test's own model builds on. */
export const echoMocks: pulumi.runtime.Mocks = makeMocks(undefined, () => false);

/**
 * A stand-in for an encrypted (`secure:`) config value, which the offline gate cannot decrypt (it
 * has no passphrase): a value derived from the ciphertext, never the plaintext, that the program
 * gets as a secret. The gate thus treats it as what it is to the pack, a secret of unknown content;
 * the real program checks the decrypted value itself at every preview and up (lib/config/load.ts).
 */
export function secureStandIn(ciphertext: string): string {
  return `encrypted-config-${digest(ciphertext).slice(0, 40)}`;
}

export interface StackFile {
  /** `namespace:key` -> raw string, as `pulumi config` hands it to programs. */
  config: Record<string, string>;
  /** `namespace:key` of every encrypted value (their values are secureStandIn stand-ins). */
  secretKeys: string[];
}

/** Reads `Pulumi.<stack>.yaml`; encrypted values become secret stand-ins (see secureStandIn). */
export function readStackConfig(programDir: string, stack: string): StackFile {
  // js-yaml ships with @pulumi/pulumi.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require("js-yaml") as { load(text: string): unknown };
  const file = path.join(programDir, `Pulumi.${stack}.yaml`);
  const doc = (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    if (value !== null && typeof value === "object" && "secure" in (value as object)) {
      config[key] = secureStandIn(String((value as { secure: unknown }).secure));
      secretKeys.push(key);
      continue;
    }
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { config, secretKeys };
}

/** The config map of readStackConfig (encrypted values as stand-ins). */
export function readStackFile(programDir: string, stack: string): Record<string, string> {
  return readStackConfig(programDir, stack).config;
}

function readProjectName(programDir: string): string {
  const text = fs.readFileSync(path.join(programDir, "Pulumi.yaml"), "utf8");
  const match = /^name:\s*(\S+)\s*$/m.exec(text);
  if (!match) throw new Error(`${programDir}/Pulumi.yaml has no project name`);
  return match[1];
}

function defaultLoader(programDir: string): () => unknown {
  return () => {
    const root = path.resolve(programDir) + path.sep;
    for (const key of Object.keys(require.cache)) {
      if (key.startsWith(root) && !key.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[key];
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(programDir, "index.ts"));
  };
}

// The generated proto types are not exported as TypeScript; this is the part of the request we read.
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (v: { getUrnsList(): string[] }, k: string) => void): void };
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getAliasurnsList(): string[];
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
}

interface OutputsRequest {
  getUrn(): string;
  getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined;
}

function record(req: RegisterRequest, urn: string): RecordedResource {
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((v, k) => {
    propertyDependencies[k] = v.getUrnsList();
  });
  const timeouts = req.getCustomtimeouts();
  return {
    urn,
    type: req.getType(),
    name: req.getName(),
    custom: req.getCustom(),
    parent: req.getParent() || undefined,
    provider: req.getProvider() || undefined,
    inputs: req.getObject()?.toJavaScript() ?? {},
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    options: {
      protect: req.getProtect(),
      retainOnDelete: req.getRetainondelete(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      ignoreChanges: req.getIgnorechangesList(),
      replaceOnChanges: req.getReplaceonchangesList(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      aliases: req.getAliasurnsList(),
      customTimeouts: timeouts
        ? { create: timeouts.getCreate() || undefined, update: timeouts.getUpdate() || undefined, delete: timeouts.getDelete() || undefined }
        : undefined,
    },
  };
}

/** Runs the program once under mocks and returns every registration and the stack outputs. */
export async function runProgramUnderMocks(opts: MockRunOptions): Promise<MockRunResult> {
  const project = readProjectName(opts.programDir);
  const load = opts.loadProgram ?? defaultLoader(opts.programDir);
  return state.withLocalStorage(async () => {
    const resources: RecordedResource[] = [];
    const preview = opts.preview ?? true;
    const previewCase = preview ? (opts.previewCase ?? "unchanged") : undefined;
    // MockMonitor calls newResource synchronously inside registerResource, so the registration
    // being decided is the one set just before.
    let replacing = false;
    const monitor = new MockMonitor(opts.mocks ?? makeMocks(previewCase, () => replacing));
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = async (req: RegisterRequest, callback: (err: unknown, resp: unknown) => void) => {
      // Providers and components have no provider-computed outputs the program reads.
      opts.onRequest?.({ type: req.getType(), name: req.getName(), parent: req.getParent(), deleteBeforeReplace: req.getDeletebeforereplace() });
      replacing =
        previewCase !== undefined &&
        req.getCustom() &&
        !req.getType().startsWith("pulumi:providers:") &&
        replacedAtPreview(previewCase, req.getType(), req.getObject()?.toJavaScript() ?? {});
      await register(req, (err: unknown, resp: unknown) => {
        if (!err && resp) {
          const recorded = record(req, (resp as { getUrn(): string }).getUrn());
          resources.push(recorded);
          opts.onRegister?.(recorded);
        }
        callback(err, resp);
      });
    };
    let stackOutputs: Record<string, unknown> = {};
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req: OutputsRequest, callback: (err: unknown, resp: unknown) => void) => {
      if (req.getUrn().includes("::pulumi:pulumi:Stack::")) stackOutputs = req.getOutputs()?.toJavaScript() ?? {};
      registerOutputs(req, callback);
    };
    settings.setMockOptions(monitor, project, opts.stack, preview);
    const store = state.getStore();
    // The same feature set `pulumi.runtime.setMocks` enables.
    Object.assign(store, {
      supportsSecrets: true,
      supportsResourceReferences: true,
      supportsOutputValues: false,
      supportsDeletedWith: true,
      supportsAliasSpecs: true,
      supportsTransforms: true,
    });
    runtimeConfig.setAllConfig(opts.config, opts.secretConfigKeys ?? []);
    const cwd = process.cwd();
    process.chdir(opts.programDir);
    try {
      // A program that throws while loading (a bad config) must surface here, not as an unhandled rejection.
      let loadError: unknown;
      await runInPulumiStack(async () => {
        try {
          return load();
        } catch (err) {
          loadError = err;
          return {};
        }
      });
      await rpcs.waitForRPCs();
      if (loadError !== undefined) throw loadError;
      return { resources, outputs: stackOutputs };
    } finally {
      process.chdir(cwd);
    }
  });
}

/** Unwraps Pulumi's secret markers, for readers that want plain values (tests). */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG] === SECRET_SIG_VALUE) return unwrapSecrets(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** True when the serialized value is (or sits inside) a secret marker. */
export function isSecret(value: unknown): boolean {
  return value !== null && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG] === SECRET_SIG_VALUE;
}
