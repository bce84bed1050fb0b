// Runs the pulumi CLI for the operator tools: the pinned CLI (ops/pulumi/binary.ts) with the
// neutralised environment and absolute backend URL (ops/pulumi/env.ts), always naming the stack;
// parses JSON output with zod and turns every failure into an OpsError that says which command
// failed and what to check.
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { policyPackArgs } from "../../gate/policyPackArgs";
import type { OpsContext } from "../tool/context";
import { OpsError } from "../tool/error";
import { type RunResult, runCommand, tail } from "../tool/runCommand";
import { resolvePinnedPulumi } from "./binary";
import { pulumiEnvironment } from "./env";
import { classifyPulumiFailure } from "./failure";
import { type HistoryEntry, historyPageSchema } from "./historySchema";
import { type ConfigJson, configJsonSchema, type StackExport, type StackOutputs, stackExportSchema, stackOutputsSchema } from "./schemas";

/**
 * The stack's secrets are encrypted with a passphrase unless its stack file names another secrets
 * provider; the tools run pulumi non-interactively, so the passphrase must come from the
 * environment. Fails early, saying how, instead of letting pulumi fail mid-way.
 */
export function requirePassphrase(ctx: Pick<OpsContext, "env" | "projectDir" | "stack">): void {
  const stackFile = path.join(ctx.projectDir, `Pulumi.${ctx.stack}.yaml`);
  const text = fs.existsSync(stackFile) ? fs.readFileSync(stackFile, "utf8") : "";
  const provider = /^secretsprovider:\s*(\S+)/m.exec(text)?.[1];
  if (provider !== undefined && provider !== "passphrase") return;
  if (ctx.env.PULUMI_CONFIG_PASSPHRASE || ctx.env.PULUMI_CONFIG_PASSPHRASE_FILE) return;
  throw new OpsError(
    `the ${ctx.stack} stack's secrets need its passphrase, and neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set`,
    "export PULUMI_CONFIG_PASSPHRASE_FILE=<file holding the passphrase> (README, State and secrets); on the very first run this sets the passphrase",
  );
}

export class PulumiCli {
  readonly bin: string;
  /** The environment pulumi runs with (see pulumiEnvironment). */
  readonly env: NodeJS.ProcessEnv;
  readonly backendUrl?: string;

  constructor(private readonly ctx: OpsContext) {
    const prepared = pulumiEnvironment(ctx.env, ctx.projectDir);
    for (const note of prepared.notes) ctx.err(note);
    this.env = prepared.env;
    this.backendUrl = prepared.backendUrl;
    this.bin = resolvePinnedPulumi(this.env, ctx.projectDir);
  }

  /** Runs `pulumi <args> --stack <stack>` and captures its output. */
  async capture(args: string[]): Promise<RunResult> {
    return runCommand(this.bin, [...args, "--stack", this.ctx.stack], { env: this.env, cwd: this.ctx.projectDir });
  }

  /**
   * Selects the stack, refusing one that does not exist (a typo or a missing state would otherwise
   * create a new, empty stack pointed at Hemma). Only `npm run init` creates stacks.
   */
  async requireStack(): Promise<void> {
    const res = await this.capture(["stack", "select", "--non-interactive"]);
    if (res.code === 0) return;
    const failure = classifyPulumiFailure(res.code, `${res.stderr}\n${res.stdout}`, this.ctx.stack);
    if (failure.kind === "missing-stack")
      throw new OpsError(`stack ${this.ctx.stack} does not exist in ${this.backendUrl ?? "the current backend"}`, failure.hint);
    throw new OpsError(`\`pulumi stack select\` failed with exit code ${res.code}:\n    ${tail(res.stderr || res.stdout)}`, failure.hint);
  }

  /** Runs a command that must succeed; returns stdout. */
  async check(args: string[], what: string): Promise<string> {
    const res = await this.capture(args);
    if (res.code !== 0) {
      const failure = classifyPulumiFailure(res.code, `${res.stderr}\n${res.stdout}`, this.ctx.stack);
      // With --show-secrets stdout may hold the API key even when the command fails: show stderr only.
      const shown = args.includes("--show-secrets")
        ? res.stderr.trim() || "(no error output; stdout not shown: it may contain secrets)"
        : res.stderr || res.stdout;
      throw new OpsError(`\`pulumi ${args.join(" ")}\` (${what}) failed with exit code ${res.code}:\n    ${tail(shown)}`, failure.hint);
    }
    return res.stdout;
  }

  async json<T>(args: string[], schema: z.ZodType<T>, what: string): Promise<T> {
    const stdout = await this.check(args, what);
    let raw: unknown;
    try {
      raw = JSON.parse(stdout);
    } catch {
      // With --show-secrets the output may hold the API key: never echo it.
      const sample = args.includes("--show-secrets") ? "(output not shown: it may contain secrets)" : stdout.slice(0, 200);
      throw new OpsError(
        `\`pulumi ${args.join(" ")}\` (${what}) did not print JSON: ${sample}`,
        "check the pulumi CLI version (`pulumi version`); these tools need pulumi 3.x",
      );
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
      throw new OpsError(
        `\`pulumi ${args.join(" ")}\` (${what}) printed JSON of an unexpected shape: ${issues}`,
        "check that the stack was deployed by this project's program (docs/architecture.md lists its outputs)",
      );
    }
    return parsed.data;
  }

  historyPage(page: number, pageSize: number): Promise<HistoryEntry[]> {
    return this.json(
      ["stack", "history", "--json", "--page-size", String(pageSize), "--page", String(page), "--non-interactive"],
      historyPageSchema,
      "reading the stack's update history",
    );
  }

  stackExport(): Promise<StackExport> {
    return this.json(["stack", "export", "--non-interactive"], stackExportSchema, "exporting the stack's state");
  }

  /** Stack outputs; with showSecrets the API key is plain text, so never print the result. */
  async outputs(showSecrets: boolean, forWhat = "this"): Promise<StackOutputs> {
    const args = ["stack", "output", "--json", "--non-interactive"];
    if (showSecrets) args.push("--show-secrets");
    const raw = await this.json(args, z.unknown(), "reading the stack outputs");
    if (raw !== null && typeof raw === "object" && Object.keys(raw).length === 0) {
      throw new OpsError(
        `nothing is deployed on stack ${this.ctx.stack} yet (it has no outputs), so there is nothing to ${forWhat === "this" ? "work on" : forWhat}`,
        "deploy first: `npm run deploy` (docs/runbook.md, 2. First deploy)",
      );
    }
    const parsed = stackOutputsSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
      throw new OpsError(
        `the outputs of stack ${this.ctx.stack} have an unexpected shape: ${issues}`,
        "check that the stack was deployed by this project's program (docs/architecture.md, Stack outputs); redeploy with `npm run deploy`",
      );
    }
    return parsed.data;
  }

  /** The stack's configuration (secrets elided), project defaults applied. */
  config(): Promise<ConfigJson> {
    return this.json(["config", "--json", "--non-interactive"], configJsonSchema, "reading the stack configuration");
  }

  async configSet(key: string, value: string, opts: { path?: boolean } = {}): Promise<void> {
    const args = ["config", "set", ...(opts.path ? ["--path"] : []), key, value, "--non-interactive"];
    await this.check(args, `setting ${key}`);
  }

  /** Writes several non-secret values at once (`config set-all --json`, the `config --json` shape). */
  async configSetAll(values: ConfigJson): Promise<void> {
    if (Object.values(values).some((v) => v.secret)) throw new OpsError("internal: configSetAll never writes secrets", "report this as a bug");
    if (Object.keys(values).length === 0) return;
    await this.check(["config", "set-all", "--json", JSON.stringify(values), "--non-interactive"], `setting ${Object.keys(values).length} config value(s)`);
  }

  async configRm(key: string): Promise<void> {
    await this.check(["config", "rm", key, "--non-interactive"], `removing ${key}`);
  }

  /**
   * Runs a long pulumi command (up, preview) in the foreground, drawing on the terminal or
   * streaming into `onOutput`, and waits for the CLI itself to end. Signals: SIGTERM is passed on
   * as one SIGINT (pulumi's graceful cancel: it finishes the step in flight and records the
   * update); SIGINT is passed on too unless pulumi shares our terminal, where Ctrl-C already
   * reached it (a second SIGINT would make pulumi terminate at once). This process never dies
   * while pulumi runs. Returns pulumi's exit code.
   */
  async foreground(args: string[], onOutput?: { out: (text: string) => void; err: (text: string) => void }): Promise<number> {
    let child: import("child_process").ChildProcess | undefined;
    const forward = (signal: NodeJS.Signals) => (): void => {
      const passOn = signal === "SIGTERM" || !this.ctx.inheritStdio;
      this.ctx.err(
        `received ${signal}: ${passOn ? "asking pulumi to cancel" : "pulumi got it too and cancels"}; waiting for pulumi to finish the step it is in (do not kill it: that leaves pending operations)`,
      );
      if (passOn && child && child.exitCode === null) child.kill("SIGINT");
    };
    const onInt = forward("SIGINT");
    const onTerm = forward("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    try {
      const res = await runCommand(this.bin, args, {
        env: this.env,
        cwd: this.ctx.projectDir,
        inheritStdio: this.ctx.inheritStdio,
        onStdout: onOutput?.out,
        onStderr: onOutput?.err,
        onSpawn: (c) => (child = c),
      });
      return res.code;
    } finally {
      process.removeListener("SIGINT", onInt);
      process.removeListener("SIGTERM", onTerm);
    }
  }

  /** `pulumi up --yes` with the policy pack (see foreground). Returns pulumi's exit code. */
  async up(opts: { message: string; onOutput?: (text: string) => void }): Promise<number> {
    const args = ["up", "--yes", ...policyPackArgs(this.ctx.projectDir, this.ctx.stack), "--message", opts.message, "--stack", this.ctx.stack];
    return this.foreground(args, opts.onOutput ? { out: opts.onOutput, err: opts.onOutput } : undefined);
  }
}
