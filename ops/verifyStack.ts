// `npm run verify` without --service-url: re-runs the post-deploy verification against the
// current stack outputs, changing nothing. Runs the verifier CLI (verify/cli.ts) once per deployed
// lane, concurrently, with the API key passed in the environment (never on the command line).
// Flags: --lane <name> (repeatable), --checks <list>, --evidence-dir <dir>, --timeout-seconds <n>, --stack <name>.
import * as fs from "fs";
import * as path from "path";
import { isSshUrl } from "./hemmaSsh";
import { API_KEY_ENV, dataDirFor } from "../lib/serviceContract";
import { verifierCliArgs } from "../verify/invocation";
import { Redactor } from "../verify/redact";
import { OpsContext, processContext, PROJECT_NAMESPACE } from "./opsContext";
import { OpsError } from "./opsError";
import { parseToolFlags, runTool } from "./toolMain";
import { PulumiCli, requirePassphrase } from "./pulumiCli";
import { StackOutputs } from "./pulumiSchemas";
import { runCommand } from "./runCommand";
import { OpsConfig, parseOpsConfig } from "./stackConfig";


export interface VerifyStackOptions {
  lanes?: string[];
  checks?: string;
  /** Base folder; each lane writes to <base>/<lane>. Default .verification/on-demand/<UTC time>. */
  evidenceDir?: string;
  timeoutSeconds?: string;
  stack?: string;
}

export interface VerifyStackDeps {
  /** argv prefix that starts the verifier CLI; default the compiled verify/cli via launch.js. */
  verifierCommand?: string[];
  now?: () => Date;
}

const USAGE = "usage: npm run verify -- [--lane prod|eval]... [--checks <list>] [--evidence-dir <dir>] [--timeout-seconds <n>] [--stack <name>]";

export function parseVerifyStackArgs(argv: string[]): VerifyStackOptions {
  const values = parseToolFlags(
    argv,
    {
      lane: { type: "string", multiple: true },
      checks: { type: "string" },
      "evidence-dir": { type: "string" },
      "timeout-seconds": { type: "string" },
      stack: { type: "string" },
    },
    USAGE,
  );
  if (values["timeout-seconds"] !== undefined && !/^\d+$/.test(values["timeout-seconds"])) {
    throw new OpsError(`--timeout-seconds must be a whole number, got ${values["timeout-seconds"]}`, USAGE, 2);
  }
  return { lanes: values.lane, checks: values.checks, evidenceDir: values["evidence-dir"], timeoutSeconds: values["timeout-seconds"], stack: values.stack };
}

function defaultVerifier(projectDir: string): string[] {
  const cli = path.join(projectDir, "verify", "cli.ts");
  if (!fs.existsSync(cli)) throw new OpsError(`the verifier CLI ${cli} is missing`, "restore verify/ from git; `npm run verify` needs it");
  // The compiled verifier (launch.js rebuilds dist/ first when the sources changed).
  return [process.execPath, path.join(projectDir, "launch.js"), "verify/cli"];
}

/** Verifier arguments for one lane; the key travels in API_KEY_ENV, so it never appears here. */
export function verifierArgs(lane: string, outputs: StackOutputs, cfg: OpsConfig, evidenceDir: string, opts: VerifyStackOptions): string[] {
  const l = outputs.lanes[lane];
  return verifierCliArgs({
    serviceUrl: l.url,
    profile: l.profile,
    lane,
    expectedRevision: outputs.revision,
    container: l.containerName,
    dataDir: l.dataDir ?? dataDirFor(l.profile),
    torchVersion: cfg.torch.torchVersion,
    evidenceDir,
    evidenceRoot: cfg.verification.evidenceRoot,
    dockerHost: cfg.dockerHost,
    sshOpts: cfg.sshOpts,
    checks: opts.checks?.split(","),
    timeoutSeconds: opts.timeoutSeconds === undefined ? undefined : Number(opts.timeoutSeconds),
  });
}

/** Splits streamed output into lines, prefixes them and hides the secret. */
function lineSink(prefix: string, secret: string, write: (line: string) => void): { push(text: string): void; flush(): void } {
  let partial = "";
  const redactor = new Redactor([secret]);
  const emit = (line: string) => write(`${prefix}${redactor.text(line)}`);
  return {
    push(text) {
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      lines.forEach(emit);
    },
    flush() {
      if (partial) emit(partial);
      partial = "";
    },
  };
}

export async function verifyStack(opts: VerifyStackOptions, ctx: OpsContext, deps: VerifyStackDeps = {}): Promise<number> {
  requirePassphrase(ctx);
  const pulumi = new PulumiCli(ctx);
  const cfg = parseOpsConfig(await pulumi.config(), PROJECT_NAMESPACE);
  const outputs = await pulumi.outputs(true);
  const apiKey = outputs.apiKey;
  if (!apiKey || apiKey === "[secret]") {
    throw new OpsError("the stack outputs carry no API key", "deploy the stack with `npm run deploy` (the program exports apiKey), and set PULUMI_CONFIG_PASSPHRASE(_FILE) so --show-secrets can decrypt it");
  }
  const lanes = opts.lanes ?? Object.keys(outputs.lanes);
  const missing = lanes.filter((l) => !outputs.lanes[l]);
  if (lanes.length === 0 || missing.length > 0) {
    throw new OpsError(
      lanes.length === 0 ? "the stack outputs list no lanes to verify" : `lane(s) ${missing.join(", ")} are not deployed (deployed: ${Object.keys(outputs.lanes).join(", ")})`,
      "deploy with the lane enabled, or pass --lane with a deployed lane",
    );
  }
  const verifier = deps.verifierCommand ?? defaultVerifier(ctx.projectDir);
  const stamp = (deps.now ?? (() => new Date()))().toISOString().replace(/[:.]/g, "-");
  const base = path.resolve(ctx.projectDir, opts.evidenceDir ?? path.join(".verification", "on-demand", stamp));
  const via = isSshUrl(cfg.dockerHost) ? cfg.dockerHost : undefined;

  ctx.out(`Verifying revision ${outputs.revision} on lane(s) ${lanes.join(", ")}${via ? ` via ${via}` : ""}; evidence under ${base}`);
  const results = await Promise.all(
    lanes.map(async (lane) => {
      const evidence = path.join(base, lane);
      const prefix = `[${lane}] `;
      const out = lineSink(prefix, apiKey, ctx.out);
      const err = lineSink(prefix, apiKey, ctx.err);
      const args = [...verifier.slice(1), ...verifierArgs(lane, outputs, cfg, evidence, opts)];
      const res = await runCommand(verifier[0], args, {
        env: { ...ctx.env, [API_KEY_ENV]: apiKey },
        cwd: ctx.projectDir,
        onStdout: (t) => out.push(t),
        onStderr: (t) => err.push(t),
      });
      out.flush();
      err.flush();
      return { lane, code: res.code, evidence };
    }),
  );
  ctx.out("Verification summary:");
  for (const r of results) ctx.out(`  ${r.lane.padEnd(5)} ${r.code === 0 ? "PASS" : `FAIL (exit ${r.code})`}  evidence: ${r.evidence}`);
  const failed = results.filter((r) => r.code !== 0);
  if (failed.length > 0) {
    throw new OpsError(
      `verification failed on lane(s) ${failed.map((r) => r.lane).join(", ")}`,
      "read the evidence folder(s) above (docs/runbook.md, Failed verification); roll back with `npm run rollback` if the deploy is bad",
    );
  }
  return 0;
}

export async function main(argv: string[], ctx: OpsContext = processContext(), deps: VerifyStackDeps = {}): Promise<number> {
  return runTool(ctx, async () => {
    const opts = parseVerifyStackArgs(argv);
    return await verifyStack(opts, { ...ctx, stack: opts.stack ?? ctx.stack }, deps);
  });
}

// Started by ops/verifyEntry.ts (`npm run verify`); no runAsScript here: bundled into that entry
// point, it would start a second time.
