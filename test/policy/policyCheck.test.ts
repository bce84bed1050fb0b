// `npm run policy:check` end to end, as CI runs it: the committed stack passes (exit 0) at all three
// previews; a policy config that makes the committed stack non-compliant is refused (exit 1) with
// pulumi-preview-style output and `error:` / `what to do:`; --help exits 0 listing every flag; a
// usage error prints the usage and exits 2 (flags parsed by commander).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "../../gate/policyCheck";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: PROJECT_DIR, timeout: 280000, env: { ...process.env, NO_COLOR: "1" } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 99) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const tsNode = path.join(PROJECT_DIR, "node_modules", ".bin", "ts-node");
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "policy-check-test-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("npm run policy:check passes the committed stack and refuses it under a stricter config", async () => {
  const strict = path.join(tmp, "strict.json");
  fs.writeFileSync(strict, JSON.stringify({ "unique-host-ports": { reservedPorts: [28086] }, "no-privileged": "mandatory" }));
  const [ok, refused] = await Promise.all([
    run("npm", ["run", "--silent", "policy:check"]),
    run(tsNode, ["--transpile-only", "gate/policyCheck.ts", "--policy-pack-config", strict]),
  ]);

  expect(ok.stderr).not.toMatch(/policy:check failed/);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/Recorded \d+ resources of stack hemma under mocks/);
  expect(ok.stdout).toContain("✅ sir-convert-a-lot-hemma@v0.1.0 (local: policy)");
  for (const c of ["first-deploy", "new-revision", "unchanged"]) expect(ok.stdout).toContain(`Policies (preview: ${c}):`);
  expect(ok.stdout.match(/0 mandatory and 0 advisory policy violations\./g)).toHaveLength(3);

  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain("❌ sir-convert-a-lot-hemma@v0.1.0");
  expect(refused.stdout).toContain(`- [mandatory]  unique-host-ports  (docker:index/container:Container: eval)`);
  expect(refused.stdout).toContain(
    "unique-host-ports: eval (docker:index/container:Container) field ports[0].external is 28086 (reserved by another stack on the host)",
  );
  expect(refused.stdout).toContain("1 mandatory and 0 advisory policy violation");
  expect(refused.stderr).toMatch(/^error: the stack is refused at the first-deploy, new-revision, unchanged previews/m);
  expect(refused.stderr).toMatch(/^ {2}what to do: /m);
  expect(refused.stderr).not.toMatch(/\n\s+at /);
}, 300000);

test("--help exits 0 and lists every flag; an unknown flag prints the usage and exits 2", async () => {
  const [help, bad, badValue] = await Promise.all([
    run(tsNode, ["--transpile-only", "gate/policyCheck.ts", "--help"]),
    run(tsNode, ["--transpile-only", "gate/policyCheck.ts", "--bogus"]),
    run(tsNode, ["--transpile-only", "gate/policyCheck.ts", "--preview", "sometimes"]),
  ]);
  expect(help.code).toBe(0);
  for (const flag of ["--stack", "--policy-pack-config", "--source", "--pack", "--preview", "--help"]) expect(help.stdout).toContain(flag);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("error: unknown option '--bogus'");
  expect(bad.stderr).toContain("Usage: npm run policy:check --");
  expect(bad.stderr).not.toContain("needs a value");
  expect(badValue.code).toBe(2);
  expect(badValue.stderr).toMatch(/^error: --preview sometimes is not one of first-deploy, new-revision, unchanged\n {2}what to do: /m);
}, 120000);

test("a missing --source is an error with what to do, not a stack trace", async () => {
  const r = await run(tsNode, ["--transpile-only", "gate/policyCheck.ts", "--source", path.join(tmp, "nope")]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^error: --source .* does not exist\n {2}what to do: /m);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}, 120000);
