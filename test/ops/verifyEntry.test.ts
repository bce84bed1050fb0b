// `npm run verify` dispatch: with --service-url it is the verifier CLI for that URL; without it,
// it re-verifies the deployed lanes from the stack outputs.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { makeSandbox, type Sandbox, SHA, stackConfig } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");
let sb: Sandbox;
afterEach(() => sb?.cleanup());

function runEntry(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(path.join(ROOT, "node_modules", ".bin", "ts-node"), ["--transpile-only", path.join(ROOT, "ops", "cli", "verify.ts"), ...args], {
    cwd: ROOT,
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
}

test("with --service-url it runs the verifier CLI for that URL", () => {
  sb = makeSandbox({ config: stackConfig(SHA.C) });
  const res = runEntry(["--service-url", "http://127.0.0.1:9", "--profile", "prod", "--expected-revision", SHA.C, "--api-key-env", "NO_SUCH_KEY_VAR"], sb.env);
  expect(res.status).toBe(2);
  expect(res.stderr).toMatch(/environment variable NO_SUCH_KEY_VAR \(the API key\) is not set/);
  expect(sb.pulumiCalls()).toHaveLength(0);
});

test("without --service-url it verifies the stack's lanes (reading the stack outputs)", () => {
  sb = makeSandbox({ config: stackConfig(SHA.C), outputs: { revision: SHA.C, lanes: {} } });
  const res = runEntry(["--lane", "prod"], sb.env);
  expect(res.status).toBe(1);
  expect(sb.pulumiCalls().map((c) => c.argv.slice(0, 2).join(" "))).toEqual(expect.arrayContaining(["stack output"]));
  expect(res.stderr).toMatch(/error: /);
});
