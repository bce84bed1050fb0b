// `npm run policy:check`: the offline policy gate for machines without a Pulumi engine. Runs the
// real program under mocks with the committed stack config (source pointed at a scratch git
// checkout unless --source is given), starts the policy pack the way the engine does, sends every
// registration through the Analyzer gRPC API and prints violations like `pulumi preview`.
// Exit 0: no mandatory violation; 1: refused; 2: the gate itself failed.
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../lib/projectRoot";
import { readStackFile, RecordedResource, runProgramUnderMocks } from "../lib/mockRun";
import { createScratchCheckout } from "../lib/scratchCheckout";
import { AnalyzerClient } from "./analyzerClient";
import { PolicyPackConfigFile, readPolicyConfigFile } from "./analyzerConfig";
import { GateResult, runGate } from "./analyzerGate";
import { startPolicyPack } from "./analyzerPack";
import { stackPolicyConfigFile } from "./policyPackArgs";

export const PROJECT_DIR = projectRoot(__dirname);
export const PACK_DIR = path.join(PROJECT_DIR, "policy");
const NS = "sir-convert-a-lot";

export interface PolicyCheckOptions {
  stack: string;
  programDir: string;
  packDir: string;
  /** `--policy-pack-config` file; default `policy/config.<stack>.json` if present, else the pack's defaults. */
  policyConfigFile?: string;
  /** Service checkout the program builds from; none: a scratch checkout. */
  sourceDir?: string;
}

const USAGE = `usage: npm run policy:check -- [--stack hemma] [--policy-pack-config <file.json>] [--source <service checkout>] [--pack <dir>]`;

export function parseArgs(argv: string[]): PolicyCheckOptions {
  const opts: PolicyCheckOptions = { stack: "hemma", programDir: PROJECT_DIR, packDir: PACK_DIR };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs a value\n${USAGE}`);
    i++;
    switch (flag) {
      case "--stack": opts.stack = value; break;
      case "--policy-pack-config": opts.policyConfigFile = path.resolve(value); break;
      case "--source": opts.sourceDir = path.resolve(value); break;
      case "--pack": opts.packDir = path.resolve(value); break;
      default: throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  opts.policyConfigFile ??= stackPolicyConfigFile(opts.programDir, opts.stack);
  return opts;
}

/** Runs the program under mocks with the stack's committed config and the given source checkout. */
export async function recordStack(opts: PolicyCheckOptions): Promise<RecordedResource[]> {
  const config = readStackFile(opts.programDir, opts.stack);
  const scratch = opts.sourceDir ? undefined : createScratchCheckout();
  try {
    const source = JSON.parse(config[`${NS}:source`] ?? "{}") as Record<string, unknown>;
    config[`${NS}:source`] = JSON.stringify({ ...source, path: opts.sourceDir ?? scratch!.dir });
    const { resources } = await runProgramUnderMocks({ programDir: opts.programDir, stack: opts.stack, config, preview: true });
    return resources;
  } finally {
    scratch?.remove();
  }
}

/** Starts the pack, runs the gate over the registrations, stops the pack. */
export async function checkResources(
  resources: RecordedResource[],
  packDir: string,
  policyConfig?: PolicyPackConfigFile,
): Promise<GateResult> {
  const pack = await startPolicyPack({ packDir });
  const client = new AnalyzerClient(pack.port);
  try {
    return await runGate(client, resources, { policyConfig, packSource: path.relative(process.cwd(), packDir) || "." });
  } catch (err) {
    throw new Error(`${(err as Error).message}\npolicy pack output:\n${pack.output()}`);
  } finally {
    client.close();
    await pack.stop();
  }
}

export async function main(argv: string[]): Promise<number> {
  let opts: PolicyCheckOptions;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  try {
    if (opts.sourceDir && !fs.existsSync(opts.sourceDir)) throw new Error(`--source ${opts.sourceDir} does not exist`);
    const policyConfig = opts.policyConfigFile ? readPolicyConfigFile(opts.policyConfigFile) : undefined;
    const resources = await recordStack(opts);
    console.log(`Recorded ${resources.length} resources of stack ${opts.stack} under mocks${opts.sourceDir ? "" : " (scratch source checkout)"}.`);
    const result = await checkResources(resources, opts.packDir, policyConfig);
    console.log(result.report);
    if (result.refused) console.error("error: preview failed: mandatory policy violations refuse this stack");
    return result.refused ? 1 : 0;
  } catch (err) {
    console.error(`policy:check failed: ${(err as Error).stack ?? err}`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
