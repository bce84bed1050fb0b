// `npm run policy:check`: the offline policy gate for machines without a Pulumi engine. Runs the
// real program under mocks with the committed stack config (source pointed at a scratch git
// checkout unless --source is given) once for each preview the engine runs (first deploy, new
// revision, unchanged stack: gate/mockRun.ts sends unknowns where the engine does), starts the
// policy pack the way the engine does, sends every registration through the Analyzer gRPC API and
// prints violations like `pulumi preview`. It fails when a mandatory policy is violated or could not
// decide at a preview. Exit 0: passed; 1: refused; 2: usage error or the gate itself failed.

import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import { ConfigError } from "../lib/config/load";
import { DEFAULT_STACK, NAMESPACE } from "../lib/projectFacts";
import { describeError, OpsError } from "../ops/tool/error";
import { AnalyzerClient } from "./analyzerClient";
import { type PolicyPackConfigFile, readPolicyConfigFile } from "./analyzerConfig";
import { type GateResult, runGate } from "./analyzerGate";
import { startPolicyPack } from "./analyzerPack";
import { PREVIEW_CASES, type PreviewCase, type RecordedResource, readStackConfig, runProgramUnderMocks } from "./mockRun";
import { stackPolicyConfigFile } from "./policyPackArgs";
import { createScratchCheckout } from "./scratchCheckout";

export const PROJECT_DIR = path.resolve(__dirname, "..");
export const PACK_DIR = path.join(PROJECT_DIR, "policy");
const NS = NAMESPACE;

export interface PolicyCheckOptions {
  stack: string;
  programDir: string;
  packDir: string;
  /** `--policy-pack-config` file; default `policy/config.<stack>.json` if present, else the pack's defaults. */
  policyConfigFile?: string;
  /** Service checkout the program builds from; none: a scratch checkout. */
  sourceDir?: string;
  /** Previews to check (default: all three). */
  previewCases?: PreviewCase[];
}

function program(): Command {
  return new Command()
    .name("npm run policy:check --")
    .description("Offline policy gate: the program under mocks, in the three previews the engine runs, through the real policy pack.")
    .option("--stack <name>", "stack whose Pulumi.<stack>.yaml is checked", DEFAULT_STACK)
    .option("--policy-pack-config <file.json>", "policy pack config (default: policy/config.<stack>.json when present)")
    .option("--source <dir>", "service checkout to build from (default: a scratch git checkout)")
    .option("--pack <dir>", "policy pack directory", "policy")
    .option("--preview <case>", `only this preview: ${PREVIEW_CASES.join(", ")} (default: all three)`)
    .helpOption("-h, --help", "show this help")
    .allowExcessArguments(false)
    .showHelpAfterError()
    .exitOverride();
}

/** Parses the flags. Throws CommanderError (help: exit 0; usage error: exit 2). */
export function parseArgs(
  argv: string[],
  out: { log(s: string): void; err(s: string): void } = { log: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
): PolicyCheckOptions {
  const cmd = program().configureOutput({ writeOut: out.log, writeErr: out.err });
  cmd.parse(argv, { from: "user" });
  const o = cmd.opts<{ stack: string; policyPackConfig?: string; source?: string; pack: string; preview?: string }>();
  if (o.preview !== undefined && !(PREVIEW_CASES as string[]).includes(o.preview)) {
    throw new OpsError(`--preview ${o.preview} is not one of ${PREVIEW_CASES.join(", ")}`, "npm run policy:check -- --help", 2);
  }
  const opts: PolicyCheckOptions = {
    stack: o.stack,
    programDir: PROJECT_DIR,
    packDir: path.resolve(PROJECT_DIR, o.pack),
    policyConfigFile: o.policyPackConfig ? path.resolve(o.policyPackConfig) : undefined,
    sourceDir: o.source ? path.resolve(o.source) : undefined,
    previewCases: o.preview ? [o.preview as PreviewCase] : PREVIEW_CASES,
  };
  opts.policyConfigFile ??= stackPolicyConfigFile(opts.programDir, opts.stack);
  return opts;
}

/** Runs the program under mocks with the stack's committed config and the given source checkout. */
export async function recordStack(opts: PolicyCheckOptions, previewCase: PreviewCase = "unchanged"): Promise<RecordedResource[]> {
  const stackFile = path.join(opts.programDir, `Pulumi.${opts.stack}.yaml`);
  if (!fs.existsSync(stackFile))
    throw new OpsError(`no stack config ${path.relative(process.cwd(), stackFile)}`, "pass --stack <name> of a stack created with npm run init", 2);
  const { config, secretKeys } = readStackConfig(opts.programDir, opts.stack);
  const scratch = opts.sourceDir ? undefined : createScratchCheckout();
  try {
    const source = JSON.parse(config[`${NS}:source`] ?? "{}") as Record<string, unknown>;
    config[`${NS}:source`] = JSON.stringify({ ...source, path: opts.sourceDir ?? scratch!.dir });
    const { resources } = await runProgramUnderMocks({
      programDir: opts.programDir,
      stack: opts.stack,
      config,
      secretConfigKeys: secretKeys,
      preview: true,
      previewCase,
    });
    return resources;
  } catch (err) {
    const message = (err as Error).message ?? "";
    if (err instanceof ConfigError || /Invalid stack configuration/.test(message)) {
      throw new OpsError(
        message,
        `fix the keys named above in Pulumi.${opts.stack}.yaml (npm run pulumi -- config set ...), then run npm run policy:check again`,
        1,
      );
    }
    throw err;
  } finally {
    scratch?.remove();
  }
}

/** Starts the pack once, runs the gate over each preview's registrations, stops the pack. */
export async function checkPreviews(
  previews: { previewCase: PreviewCase; resources: RecordedResource[] }[],
  packDir: string,
  policyConfig?: PolicyPackConfigFile,
): Promise<GateResult[]> {
  const pack = await startPolicyPack({ packDir });
  const client = new AnalyzerClient(pack.port);
  try {
    const results: GateResult[] = [];
    for (const p of previews) {
      results.push(await runGate(client, p.resources, { policyConfig, packSource: path.relative(process.cwd(), packDir) || ".", previewCase: p.previewCase }));
    }
    return results;
  } catch (err) {
    if (/policy pack config/.test((err as Error).message))
      throw new OpsError((err as Error).message, "fix the policy pack config file (docs/policy.md lists every policy and its settings)", 2);
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
    if (err instanceof CommanderError) return err.code === "commander.helpDisplayed" || err.code === "commander.help" ? 0 : 2;
    console.error(describeError(err));
    return 2;
  }
  try {
    if (opts.sourceDir && !fs.existsSync(opts.sourceDir))
      throw new OpsError(
        `--source ${opts.sourceDir} does not exist`,
        "pass the path of a checkout of the service repository, or leave --source out to use a scratch checkout",
        2,
      );
    let policyConfig: PolicyPackConfigFile | undefined;
    if (opts.policyConfigFile) {
      try {
        policyConfig = readPolicyConfigFile(opts.policyConfigFile);
      } catch (err) {
        throw new OpsError(
          `policy pack config ${opts.policyConfigFile}: ${(err as Error).message}`,
          "give a JSON object of policy names to levels or settings (docs/policy.md)",
          2,
        );
      }
    }
    const previews = [];
    for (const previewCase of opts.previewCases ?? PREVIEW_CASES) {
      const resources = await recordStack(opts, previewCase);
      console.log(
        `Recorded ${resources.length} resources of stack ${opts.stack} under mocks at the ${previewCase} preview${opts.sourceDir ? "" : " (scratch source checkout)"}.`,
      );
      previews.push({ previewCase, resources });
    }
    const results = await checkPreviews(previews, opts.packDir, policyConfig);
    for (const r of results) console.log(`${r.report}\n`);
    const refused = results.filter((r) => r.refused);
    if (refused.length) {
      const undecided = [...new Set(refused.flatMap((r) => r.undecided))];
      console.error(
        describeError(
          new OpsError(
            `the stack is refused at the ${refused.map((r) => r.report.match(/preview: ([\w-]+)/)?.[1] ?? "?").join(", ")} preview${refused.length === 1 ? "" : "s"}` +
              (undecided.length ? ` (mandatory policies that could not decide: ${undecided.join(", ")})` : ""),
            "fix each mandatory violation listed above; a policy that could not decide read a value unknown at preview, so build that value from config (docs/policy.md#what-happens-at-preview-and-at-up)",
          ),
        ),
      );
    }
    return refused.length ? 1 : 0;
  } catch (err) {
    console.error(describeError(err));
    return err instanceof OpsError ? err.exitCode : 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
