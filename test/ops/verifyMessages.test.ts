// `npm run verify` messages that are true: arguments validated before any work, one line per lane
// when Hemma is unreachable, no doubled `[lane]` prefix, "nothing is deployed" for a stack without
// outputs, no rollback advice from an on-demand run, config verification.timeoutSeconds and
// evidenceRoot honoured, and the one-URL mode's warning when the gpu check would run here.
import * as path from "node:path";
import { main } from "../../ops/cli/verify/stack";
import { gpuChecksRunHere } from "../../verify/cliArgs";
import { BIN_DIR, captureContext, laneOutput, makeSandbox, NS, type Sandbox, SHA, stackConfig } from "./helpers";

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const OUTPUTS = {
  revision: SHA.C,
  image: { name: `sir-convert-a-lot-runtime:${SHA.C}`, id: "sha256:1" },
  lanes: { prod: laneOutput("prod", 28085), eval: laneOutput("eval", 28086) },
  apiKey: "s3cr3t-api-key-0123456789abcdef",
};
const deps = { verifierCommand: [path.join(BIN_DIR, "fake-verifier")], now: () => new Date("2025-03-15T10:00:00.000Z") };

function setup(pulumi: Record<string, unknown>, hemma: Record<string, unknown> = {}, extra: Record<string, string> = {}) {
  sb = makeSandbox({ config: stackConfig(SHA.C), outputs: OUTPUTS, ...pulumi }, hemma);
  const env = { ...sb.env, FAKE_VERIFIER_LOG: path.join(sb.dir, "verifier.jsonl"), FAKE_VERIFIER_DIR: sb.dir, FAKE_VERIFIER_EXPECT: "prod,eval", ...extra };
  return captureContext(env, { projectDir: sb.project });
}

describe("npm run verify (stack mode)", () => {
  it("--checks gpus is a usage error before any work (no pulumi, no ssh)", async () => {
    const cap = setup({});
    expect(await main(["--checks", "gpus"], cap.ctx, deps)).toBe(2);
    expect(cap.text()).toMatch(/error: --checks: unknown check\(s\) gpus; the checks are readiness, liveness, metrics, gpu, smoke/);
    expect(cap.text()).not.toMatch(/rollback/);
    expect(sb.pulumiCalls()).toHaveLength(0);
  });

  it("an unreachable Hemma is one line per lane and one error, with no verifier started", async () => {
    const cap = setup({}, { unreachable: true });
    expect(await main([], cap.ctx, deps)).toBe(1);
    const laneLines = cap.err.filter((l) => /^\[(prod|eval)\] /.test(l));
    expect(laneLines).toHaveLength(2);
    expect(laneLines[0]).toMatch(/not verified: Hemma is unreachable \(ssh hemma\): ssh: connect to host hemma port 22: Connection refused/);
    expect(cap.text().match(/Connection refused/g)).toHaveLength(2);
    expect(cap.text()).toContain("error: could not reach Hemma (ssh hemma); no lane was verified");
  });

  it("prints the verifier's own [lane] prefix once", async () => {
    const cap = setup({}, {}, { FAKE_VERIFIER_PREFIXED: "1" });
    expect(await main(["--evidence-dir", path.join(sb.dir, "ev")], cap.ctx, deps)).toBe(0);
    expect(cap.out).toContain("[prod] PASS readiness");
    expect(cap.text()).not.toContain("[prod] [prod]");
  });

  it("a stack with no outputs says nothing is deployed yet", async () => {
    const cap = setup({ outputs: {} });
    expect(await main([], cap.ctx, deps)).toBe(1);
    expect(cap.text()).toContain("error: nothing is deployed on stack hemma yet");
    expect(cap.text()).toContain("npm run deploy");
    expect(cap.text()).not.toMatch(/unexpected shape|schema/);
  });

  it("a failed on-demand run suggests no rollback (it changed nothing)", async () => {
    const cap = setup({}, {}, { FAKE_VERIFIER_EXIT_EVAL: "1" });
    expect(await main(["--evidence-dir", path.join(sb.dir, "ev")], cap.ctx, deps)).toBe(1);
    expect(cap.text()).toContain("verification failed on lane(s) eval");
    expect(cap.text()).not.toContain("npm run rollback");
  });

  it("uses config verification.timeoutSeconds and evidenceRoot by default", async () => {
    const cap = setup({
      config: stackConfig(SHA.C, { [`${NS}:verification`]: { value: "{}", objectValue: { timeoutSeconds: 77, evidenceRoot: "proof" }, secret: false } }),
    });
    expect(await main([], cap.ctx, deps)).toBe(0);
    const fs = await import("node:fs");
    const calls = fs
      .readFileSync(path.join(sb.dir, "verifier.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).argv as string[]);
    for (const argv of calls) {
      expect(argv[argv.indexOf("--timeout-seconds") + 1]).toBe("77");
      expect(argv[argv.indexOf("--evidence-dir") + 1]).toMatch(new RegExp(`^${sb.project}/proof/on-demand/`));
    }
  });
});

describe("npm run verify (one-URL mode)", () => {
  it("warns when the gpu check would run on this machine", () => {
    expect(gpuChecksRunHere({})).toMatch(/runs rocm-smi and docker on THIS machine/);
    expect(gpuChecksRunHere({ checks: ["gpu", "smoke"] })).toBeDefined();
    expect(gpuChecksRunHere({ via: "ssh://hemma" })).toBeUndefined();
    expect(gpuChecksRunHere({ checks: ["readiness", "smoke"] })).toBeUndefined();
    expect(gpuChecksRunHere({ dockerCommand: ["docker", "-H", "unix:///x"] })).toBeUndefined();
  });
});
