// Test harness: runs the real index.ts under mocks with the committed Pulumi.hemma.yaml values
// (plus per-test overrides) and gives typed access to the recorded registrations.
import * as path from "node:path";
import type { MockRunResult, PreviewCase, RecordedResource } from "../../gate/mockRun";
import { createScratchCheckout, type ScratchCheckout } from "../../gate/scratchCheckout";

export const PROGRAM_DIR = path.resolve(__dirname, "..", "..");
export const NS = "sir-convert-a-lot";

let checkout: ScratchCheckout | undefined;

/** One scratch service checkout per test file (removed at exit). */
export function scratchCheckout(): ScratchCheckout {
  if (!checkout) {
    checkout = createScratchCheckout();
    const made = checkout;
    process.on("exit", () => made.remove());
  }
  return checkout;
}

export interface StackRunOptions {
  /** Top-level config keys (without namespace) to set; objects are JSON-encoded. */
  set?: Record<string, unknown>;
  /** Top-level config keys to remove. */
  unset?: string[];
  secretKeys?: string[];
  preview?: boolean;
  /** With preview: which preview the engine runs (first deploy, new revision, unchanged stack). */
  previewCase?: PreviewCase;
}

/** The committed stack config with the source pointed at a scratch checkout. */
export function committedConfig(options: StackRunOptions = {}): Record<string, string> {
  // Loaded inside the call so each test sees the file as committed.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { readStackFile } = require("../../gate/mockRun") as typeof import("../../gate/mockRun");
  const config = readStackFile(PROGRAM_DIR, "hemma"); // encrypted values: secret stand-ins
  const src = scratchCheckout();
  const source = JSON.parse(config[`${NS}:source`] ?? "{}");
  config[`${NS}:source`] = JSON.stringify({ ...source, path: src.dir });
  for (const [key, value] of Object.entries(options.set ?? {})) {
    config[`${NS}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  for (const key of options.unset ?? []) delete config[`${NS}:${key}`];
  return config;
}

/**
 * A top-level key as the program sees it with the committed config: the committed value, or the
 * schema default when Pulumi.hemma.yaml leaves the key to it (the stack file restates no defaults).
 */
export function effectiveConfigValue(key: string): any {
  const raw = committedConfig()[`${NS}:${key}`];
  if (raw !== undefined) return JSON.parse(raw);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { configObject } = require("../../lib/config/schema") as typeof import("../../lib/config/schema");
  return (configObject.shape as Record<string, { parse(v: unknown): unknown }>)[key].parse(undefined);
}

/** Runs index.ts under mocks in an isolated module registry. */
export async function runStack(options: StackRunOptions = {}, onRegister?: (r: RecordedResource) => void): Promise<StackRun> {
  const config = committedConfig(options);
  let result: MockRunResult | undefined;
  let runner: typeof import("../../gate/mockRun") | undefined;
  // A fresh module registry per run, so index.ts executes again with this run's config.
  await jest.isolateModulesAsync(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    runner = require("../../gate/mockRun") as typeof import("../../gate/mockRun");
    result = await runner.runProgramUnderMocks({
      programDir: PROGRAM_DIR,
      stack: "hemma",
      config,
      secretConfigKeys: [
        ...(options.secretKeys ?? []).map((k) => `${NS}:${k}`),
        ...require("../../gate/mockRun").readStackConfig(PROGRAM_DIR, "hemma").secretKeys,
      ],
      preview: options.preview ?? false,
      previewCase: options.previewCase,
      onRegister,
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loadProgram: () => require(path.join(PROGRAM_DIR, "index.ts")),
    });
  });
  return new StackRun(result!, runner!);
}

export class StackRun {
  constructor(
    readonly result: MockRunResult,
    private readonly runner: typeof import("../../gate/mockRun"),
  ) {}

  get resources(): RecordedResource[] {
    return this.result.resources;
  }

  ofType(type: string): RecordedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  named(type: string, name: string): RecordedResource {
    const found = this.resources.find((r) => r.type === type && r.name === name);
    if (!found) throw new Error(`no ${type} named ${name}; have ${this.resources.map((r) => `${r.type}/${r.name}`).join(", ")}`);
    return found;
  }

  byUrn(urn: string): RecordedResource | undefined {
    return this.resources.find((r) => r.urn === urn);
  }

  /** Inputs with secret markers removed. */
  plain(resource: RecordedResource): Record<string, any> {
    return this.runner.unwrapSecrets(resource.inputs) as Record<string, any>;
  }

  isSecret(value: unknown): boolean {
    return this.runner.isSecret(value);
  }
}
