// Runs the real Pulumi program in-process against a mock resource monitor (no engine, no
// providers) and records every resource registration as the engine would see it: type, URN,
// serialized inputs (secrets stay secret), options, parent, provider and dependencies.
// Used by the tests and by the offline policy gate (`npm run policy:check`).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
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
  /** Called for each registration as it happens (also when the run later fails). */
  onRegister?: (resource: RecordedResource) => void;
  /** Loads the program module; defaults to a fresh `require` of `<programDir>/index.ts`. */
  loadProgram?: () => unknown;
}

export interface MockRunResult {
  resources: RecordedResource[];
  /** Stack outputs in wire form: secret outputs keep their secret marker (see unwrapSecrets). */
  outputs: Record<string, unknown>;
}

/** The Pulumi wire marker of a secret value. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

function digest(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

/** Fake provider behaviour: each resource echoes its inputs plus the computed outputs the program reads. */
const mocks: pulumi.runtime.Mocks = {
  newResource(args) {
    const id = `${args.name}-${digest(args.type + args.name).slice(0, 12)}`;
    const computed: Record<string, unknown> = {};
    if (args.type === "docker:index/remoteImage:RemoteImage") {
      computed.imageId = `sha256:${digest(String(args.inputs.name))}`;
      computed.repoDigest = "";
    } else if (args.type === "random:index/randomPassword:RandomPassword") {
      computed.result = `mock-${digest(args.name).slice(0, Number(args.inputs.length ?? 32) - 5)}`;
    } else if (args.type === "docker:index/container:Container") {
      computed.id = id;
    } else if (args.type === "command:local:Command") {
      computed.stdout = "";
      computed.stderr = "";
    }
    return { id, state: { ...args.inputs, ...computed } };
  },
  call(args) {
    return args.inputs;
  },
};

/** Reads `Pulumi.<stack>.yaml` into the `namespace:key` -> raw string map Pulumi hands to programs. */
export function readStackFile(programDir: string, stack: string): Record<string, string> {
  // js-yaml ships with @pulumi/pulumi.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require("js-yaml") as { load(text: string): unknown };
  const file = path.join(programDir, `Pulumi.${stack}.yaml`);
  const doc = (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    if (value !== null && typeof value === "object" && "secure" in (value as object)) {
      throw new Error(`${file}: ${key} is an encrypted secret; the mock runner cannot decrypt it, pass it in config instead`);
    }
    out[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
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
    const monitor = new MockMonitor(mocks);
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = async (req: RegisterRequest, callback: (err: unknown, resp: unknown) => void) => {
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
    settings.setMockOptions(monitor, project, opts.stack, opts.preview ?? true);
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
