// `npm run policy:check` end to end, as CI runs it: the committed stack passes (exit 0); a policy
// config that makes the committed stack non-compliant is refused (exit 1) with pulumi-preview-style
// output; a usage error exits 2.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "../../gate/policyCheck";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: PROJECT_DIR, timeout: 90000, env: { ...process.env, NO_COLOR: "1" } }, (err, stdout, stderr) => {
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
  expect(ok.stdout).toContain("0 mandatory and 0 advisory policy violations.");

  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain("❌ sir-convert-a-lot-hemma@v0.1.0");
  expect(refused.stdout).toContain(`- [mandatory]  unique-host-ports  (docker:index/container:Container: eval)`);
  expect(refused.stdout).toContain("unique-host-ports: eval (docker:index/container:Container) field ports[0].external is 28086 (reserved by another stack on the host)");
  expect(refused.stdout).toContain("1 mandatory and 0 advisory policy violation");
  expect(refused.stderr).toContain("mandatory policy violations refuse this stack");
}, 120000);

test("a usage error exits 2", async () => {
  const bad = await run(tsNode, ["--transpile-only", "gate/policyCheck.ts", "--bogus", "x"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("unknown option --bogus");
});
