// Every operator tool answers --help (exit 0, every flag with a one-line description) and turns an
// unknown flag into its usage with exit 2; flags are parsed by commander through ops/tool/shell.ts.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { DEPLOY_SPEC, main as deployMain, PREVIEW_SPEC } from "../../ops/cli/deploy";
import { INIT_SPEC, main as initMain } from "../../ops/cli/init";
import { PRUNE_SPEC, main as pruneMain } from "../../ops/cli/prune";
import { ROLLBACK_SPEC, main as rollbackMain } from "../../ops/cli/rollback";
import { TUNNEL_SPEC, main as tunnelMain } from "../../ops/cli/tunnel";
import { VERIFY_STACK_SPEC, main as verifyStackMain } from "../../ops/cli/verify/stack";
import type { ToolSpec } from "../../ops/tool/shell";
import { VERIFY_URL_SPEC } from "../../verify/cliArgs";
import { captureContext, REPO_ROOT } from "./helpers";

type Main = (argv: string[], ctx: ReturnType<typeof captureContext>["ctx"]) => Promise<number>;
const TOOLS: [string, ToolSpec, Main, string[]][] = [
  ["deploy", DEPLOY_SPEC, deployMain, []],
  ["preview", PREVIEW_SPEC, deployMain, ["--preview"]],
  ["rollback", ROLLBACK_SPEC, rollbackMain, []],
  ["prune", PRUNE_SPEC, pruneMain, []],
  ["tunnel", TUNNEL_SPEC, tunnelMain, []],
  ["init", INIT_SPEC, initMain, []],
  ["verify", VERIFY_STACK_SPEC, verifyStackMain, []],
];

const longFlag = (flags: string) => flags.split(", ").pop()!.split(" ")[0];

describe.each(TOOLS)("npm run %s", (name, spec, main, prefix) => {
  // No pulumi, no ssh: help and usage errors happen before any work.
  const env = { PATH: "/nonexistent" };

  it("--help exits 0 and lists every flag with a one-line description", async () => {
    const cap = captureContext(env);
    expect(await main([...prefix, "--help"], cap.ctx)).toBe(0);
    const help = cap.out.join("\n");
    expect(help).toContain(`Usage: npm run ${name} --`);
    for (const f of spec.flags.filter((x) => !x.hidden)) {
      expect(f.description).toMatch(/^[^\n]{10,}$/);
      expect(help).toContain(longFlag(f.flags));
      expect(help.replace(/\s+/g, " ")).toContain(f.description.replace(/\s+/g, " "));
    }
    expect(help).toContain("--help");
    expect(cap.err).toEqual([]);
  });

  it("an unknown flag prints the usage and exits 2", async () => {
    const cap = captureContext(env);
    expect(await main([...prefix, "--bogus"], cap.ctx)).toBe(2);
    expect(cap.text()).toContain("error: unknown option '--bogus'");
    expect(cap.text()).toContain(`what to do: usage: npm run ${name} --`);
    expect(cap.text()).toContain("--help");
  });

  it("a stray positional argument is a usage error too", async () => {
    const cap = captureContext(env);
    expect(await main([...prefix, "oops"], cap.ctx)).toBe(2);
    expect(cap.text()).toContain(`usage: npm run ${name} --`);
  });
});

describe("npm run verify, both modes as real processes (ops/cli/verify.ts)", () => {
  const run = (args: string[]) =>
    spawnSync(path.join(REPO_ROOT, "node_modules", ".bin", "ts-node"), ["--transpile-only", "ops/cli/verify.ts", ...args], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      env: { ...process.env, PATH: process.env.PATH },
    });

  it("stack mode and one-URL mode answer --help with exit 0", () => {
    const stack = run(["--help"]);
    expect(stack.status).toBe(0);
    expect(stack.stdout).toContain("--evidence-dir");
    expect(stack.stdout).toContain("--service-url <url> --help");
    const url = run(["--service-url", "http://127.0.0.1:1", "--help"]);
    expect(url.status).toBe(0);
    for (const f of VERIFY_URL_SPEC.flags.filter((x) => !x.hidden)) expect(url.stdout).toContain(longFlag(f.flags));
    expect(url.stderr).toBe("");
  }, 60_000);

  it("an unknown flag in the one-URL mode prints the usage and exits 2", () => {
    const res = run(["--service-url", "http://127.0.0.1:1", "--bogus"]);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain("unknown option '--bogus'");
    expect(res.stderr).toContain("Usage: npm run verify --");
  }, 60_000);
});
