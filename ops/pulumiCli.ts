// Runs the pulumi CLI for the operator tools: finds the executable (PATH first, then the project's
// node_modules/.bin/pulumi), always names the stack, parses JSON output with zod and turns every
// failure into an OpsError that says which command failed and what to check.
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { historyPageSchema, HistoryEntry } from "./historySchema";
import { OpsContext } from "./opsContext";
import { OpsError } from "./opsError";
import { policyPackArgs } from "./policyPackArgs";
import {
  ConfigJson,
  configJsonSchema,
  StackExport,
  stackExportSchema,
  StackOutputs,
  stackOutputsSchema,
} from "./pulumiSchemas";
import { runCommand, RunResult, tail, which } from "./runCommand";

const PULUMI_HINT =
  "run from the project directory, check the state backend is reachable (Pulumi.yaml backend.url) and that " +
  "PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE is set";

/**
 * The pulumi executable: the first `pulumi` on PATH, else the project's npm launcher in
 * node_modules/.bin. `npm run` puts that .bin first on PATH, so it is skipped in the PATH search:
 * an installed pulumi (or a test's fake) wins, the launcher is the fallback.
 */
export function resolvePulumi(ctx: Pick<OpsContext, "env" | "projectDir">): string {
  const localBin = path.join(ctx.projectDir, "node_modules", ".bin");
  const searchPath = (ctx.env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => dir && path.resolve(dir) !== localBin)
    .join(path.delimiter);
  const onPath = which("pulumi", { PATH: searchPath });
  if (onPath) return onPath;
  const local = path.join(localBin, "pulumi");
  if (fs.existsSync(local)) return local;
  throw new OpsError("the pulumi CLI was not found on PATH or in node_modules/.bin", "run `npm ci` in the project directory (it installs the pulumi launcher) or install pulumi");
}

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

  constructor(private readonly ctx: OpsContext) {
    this.bin = resolvePulumi(ctx);
  }

  /** Runs `pulumi <args> --stack <stack>` and captures its output. */
  async capture(args: string[]): Promise<RunResult> {
    return runCommand(this.bin, [...args, "--stack", this.ctx.stack], { env: this.ctx.env, cwd: this.ctx.projectDir });
  }

  /** Runs a command that must succeed; returns stdout. */
  async check(args: string[], what: string): Promise<string> {
    const res = await this.capture(args);
    if (res.code !== 0) {
      throw new OpsError(`\`pulumi ${args.join(" ")}\` (${what}) failed with exit code ${res.code}:\n    ${tail(res.stderr || res.stdout)}`, PULUMI_HINT);
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
      throw new OpsError(`\`pulumi ${args.join(" ")}\` (${what}) did not print JSON: ${sample}`, "check the pulumi CLI version (`pulumi version`); these tools need pulumi 3.x");
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
      throw new OpsError(`\`pulumi ${args.join(" ")}\` (${what}) printed JSON of an unexpected shape: ${issues}`, "check that the stack was deployed by this project's program (docs/architecture.md lists its outputs)");
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
  outputs(showSecrets: boolean): Promise<StackOutputs> {
    const args = ["stack", "output", "--json", "--non-interactive"];
    if (showSecrets) args.push("--show-secrets");
    return this.json(args, stackOutputsSchema, "reading the stack outputs");
  }

  /** The stack's configuration (secrets elided), project defaults applied. */
  config(): Promise<ConfigJson> {
    return this.json(["config", "--json", "--non-interactive"], configJsonSchema, "reading the stack configuration");
  }

  async configSet(key: string, value: string, opts: { path?: boolean } = {}): Promise<void> {
    const args = ["config", "set", ...(opts.path ? ["--path"] : []), key, value, "--non-interactive"];
    await this.check(args, `setting ${key}`);
  }

  async configRm(key: string): Promise<void> {
    await this.check(["config", "rm", key, "--non-interactive"], `removing ${key}`);
  }

  /**
   * `pulumi up --yes` with the policy pack, drawing on the terminal (or streaming into the
   * context's sinks). Returns pulumi's exit code.
   */
  async up(opts: { message: string; onOutput?: (text: string) => void }): Promise<number> {
    const args = ["up", "--yes", ...policyPackArgs(this.ctx.projectDir, this.ctx.stack), "--message", opts.message, "--stack", this.ctx.stack];
    const res = await runCommand(this.bin, args, {
      env: this.ctx.env,
      cwd: this.ctx.projectDir,
      inheritStdio: this.ctx.inheritStdio,
      onStdout: opts.onOutput,
      onStderr: opts.onOutput,
    });
    return res.code;
  }
}
