// `npm run verify` without --service-url: re-runs the post-deploy verification against the
// current stack outputs, changing nothing. Runs the verifier CLI (verify/cli.ts) once per deployed
// lane, concurrently, with the API key passed in the environment (never on the command line).
// Flags: --lane <name> (repeatable), --checks <list>, --evidence-dir <dir>, --timeout-seconds <n>, --stack <name>.

import * as fs from "node:fs";
import * as path from "node:path";
import { sshArgs, sshCommandLine } from "../../../lib/commands/ssh";
import { API_KEY_ENV, dataDirFor } from "../../../lib/serviceContract";
import { verifierCliArgs } from "../../../verify/invocation";
import { Redactor } from "../../../verify/redact";
import { CHECK_NAMES } from "../../../verify/types";
import { isSshUrl, sshTargetFromDockerHost } from "../../hemma/ssh";
import { requirePassphrase } from "../../pulumi/cli";
import type { StackOutputs } from "../../pulumi/schemas";
import type { OpsConfig } from "../../pulumi/stackConfig";
import { type OpsContext, processContext } from "../../tool/context";
import { OpsError } from "../../tool/error";
import { ToolRun } from "../../tool/run";
import { runCommand, which } from "../../tool/runCommand";
import { parseToolArgs, runTool, STACK_FLAG, type ToolSpec, usageError } from "../../tool/shell";

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

export const VERIFY_STACK_SPEC: ToolSpec = {
  name: "npm run verify --",
  summary: "Re-run the post-deploy verification against every deployed lane of the stack (changes nothing).",
  flags: [
    {
      flags: "--lane <name>",
      description: "only this lane (prod or eval; repeat for both; default every deployed lane)",
      repeatable: true,
      choices: ["prod", "eval"],
    },
    { flags: "--checks <list>", description: `comma-separated checks to run (${CHECK_NAMES.join(",")}; default all)` },
    { flags: "--evidence-dir <dir>", description: "base folder for the evidence, one subfolder per lane (default .verification/on-demand/<UTC time>)" },
    { flags: "--timeout-seconds <n>", description: "deadline per lane in seconds (default config verification.timeoutSeconds)" },
    STACK_FLAG,
  ],
  epilog: "To verify one service URL instead (what a deploy runs), pass --service-url: `npm run verify -- --service-url <url> --help` lists that mode's flags.",
};

export function parseVerifyStackArgs(argv: string[]): VerifyStackOptions {
  const values = parseToolArgs(argv, VERIFY_STACK_SPEC) as { lane?: string[]; checks?: string; evidenceDir?: string; timeoutSeconds?: string; stack?: string };
  if (values.timeoutSeconds !== undefined && (!/^\d+$/.test(values.timeoutSeconds) || Number(values.timeoutSeconds) < 1)) {
    throw usageError(`--timeout-seconds must be a whole number of at least 1, got ${values.timeoutSeconds}`, VERIFY_STACK_SPEC);
  }
  if (values.checks !== undefined) {
    const names = values.checks.split(",").map((c) => c.trim());
    const unknown = names.filter((c) => !(CHECK_NAMES as readonly string[]).includes(c));
    if (unknown.length > 0)
      throw usageError(
        `--checks: unknown check(s) ${unknown.map((c) => c || "(empty)").join(", ")}; the checks are ${CHECK_NAMES.join(", ")}`,
        VERIFY_STACK_SPEC,
      );
  }
  return { lanes: values.lane, checks: values.checks, evidenceDir: values.evidenceDir, timeoutSeconds: values.timeoutSeconds, stack: values.stack };
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
    timeoutSeconds: opts.timeoutSeconds === undefined ? cfg.verification.timeoutSeconds : Number(opts.timeoutSeconds),
  });
}

/** Splits streamed output into lines, prefixes them and hides the secret. */
function lineSink(prefix: string, secret: string, write: (line: string) => void): { push(text: string): void; flush(): void } {
  let partial = "";
  const redactor = new Redactor([secret]);
  // The verifier already starts its own lines with `[lane] `: never print it twice.
  const emit = (line: string) => write(`${line.startsWith(prefix) ? "" : prefix}${redactor.text(line)}`);
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

/** One ssh round trip before the lanes start: an unreachable Hemma is one line per lane, not each verifier's ssh errors. */
async function refuseUnreachable(cfg: OpsConfig, lanes: string[], ctx: OpsContext): Promise<void> {
  const target = sshTargetFromDockerHost(cfg.dockerHost, cfg.sshOpts);
  const ssh = which("ssh", ctx.env);
  if (!ssh) throw new OpsError("ssh was not found on PATH", "install an OpenSSH client");
  const res = await runCommand(ssh, sshArgs(target, ["-o", "BatchMode=yes"], ["true"]), { env: ctx.env, timeoutMs: 60_000 });
  if (res.code === 0) return;
  const why = (res.stderr || res.stdout).trim().split("\n").filter(Boolean).pop() ?? `ssh exit code ${res.code}`;
  for (const lane of lanes) ctx.err(`[${lane}] not verified: Hemma is unreachable (ssh ${target.destination}): ${why}`);
  throw new OpsError(
    `could not reach Hemma (ssh ${target.destination}); no lane was verified`,
    `check that \`${sshCommandLine(target, ["true"])}\` works without a password prompt (key in ssh-agent, host alias in ~/.ssh/config)`,
  );
}

export async function verifyStack(opts: VerifyStackOptions, ctx: OpsContext, deps: VerifyStackDeps = {}): Promise<number> {
  requirePassphrase(ctx);
  const run = new ToolRun(ctx);
  const cfg = await run.config();
  const outputs = await run.pulumi.outputs(true, "verify");
  const apiKey = outputs.apiKey;
  if (!apiKey || apiKey === "[secret]") {
    throw new OpsError(
      "the stack outputs carry no API key",
      "deploy the stack with `npm run deploy` (the program exports apiKey), and set PULUMI_CONFIG_PASSPHRASE(_FILE) so --show-secrets can decrypt it",
    );
  }
  const lanes = opts.lanes ?? Object.keys(outputs.lanes);
  const missing = lanes.filter((l) => !outputs.lanes[l]);
  if (lanes.length === 0 || missing.length > 0) {
    throw new OpsError(
      lanes.length === 0
        ? "the stack outputs list no lanes to verify"
        : `lane(s) ${missing.join(", ")} are not deployed (deployed: ${Object.keys(outputs.lanes).join(", ")})`,
      "deploy with the lane enabled, or pass --lane with a deployed lane",
    );
  }
  const verifier = deps.verifierCommand ?? defaultVerifier(ctx.projectDir);
  const stamp = (deps.now ?? (() => new Date()))().toISOString().replace(/[:.]/g, "-");
  const base = path.resolve(ctx.projectDir, opts.evidenceDir ?? path.join(cfg.verification.evidenceRoot, "on-demand", stamp));
  const via = isSshUrl(cfg.dockerHost) ? cfg.dockerHost : undefined;
  if (via) await refuseUnreachable(cfg, lanes, ctx);

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
      "read the evidence folder(s) above (docs/runbook.md, 12.3 A verification failed); this run changed nothing on Hemma, so fix the cause it names before anything else",
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

// Started by ops/cli/verify.ts (`npm run verify`); no runAsScript here: bundled into that entry
// point, it would start a second time.
