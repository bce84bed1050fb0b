// On-demand verification: reads the stack outputs (with secrets), runs the verifier once per lane
// concurrently with the API key only in the environment, and aggregates the results.
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "../../ops/cli/verify/stack";
import { BIN_DIR, captureContext, laneOutput, makeSandbox, NS, type Sandbox, SHA, stackConfig } from "./helpers";

const API_KEY = "s3cr3t-api-key-0123456789abcdef";
let sb: Sandbox;
afterEach(() => sb?.cleanup());

function setup(extraEnv: Record<string, string> = {}, config = stackConfig(SHA.C)) {
  // The project dir is the sandbox, so default evidence folders land there, not in the repo.
  sb = makeSandbox({
    config,
    outputs: {
      revision: SHA.C,
      image: { name: `sir-convert-a-lot-runtime:${SHA.C}`, id: "sha256:1" },
      lanes: { prod: laneOutput("prod", 28085), eval: laneOutput("eval", 28086) },
      apiKey: API_KEY,
    },
  });
  const env = { ...sb.env, FAKE_VERIFIER_LOG: path.join(sb.dir, "verifier.jsonl"), FAKE_VERIFIER_DIR: sb.dir, FAKE_VERIFIER_EXPECT: "prod,eval", ...extraEnv };
  const cap = captureContext(env, { projectDir: sb.project });
  const calls = () =>
    fs
      .readFileSync(path.join(sb.dir, "verifier.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { argv: string[]; apiKey?: string });
  return { cap, calls };
}

const deps = { verifierCommand: [path.join(BIN_DIR, "fake-verifier")], now: () => new Date("2025-03-15T10:00:00.000Z") };
const arg = (argv: string[], name: string) => argv[argv.indexOf(name) + 1];

describe("verifyStack", () => {
  it("runs the verifier for every lane at once, with the stack's facts and the key only in the environment", async () => {
    const { cap, calls } = setup();
    const evidence = path.join(sb.dir, "evidence");
    expect(await main(["--evidence-dir", evidence], cap.ctx, deps)).toBe(0);

    const byProfile = Object.fromEntries(calls().map((c) => [arg(c.argv, "--profile"), c]));
    expect(Object.keys(byProfile).sort()).toEqual(["eval", "prod"]);
    const prod = byProfile.prod;
    expect(arg(prod.argv, "--service-url")).toBe("http://127.0.0.1:28085");
    expect(arg(prod.argv, "--expected-revision")).toBe(SHA.C);
    expect(arg(prod.argv, "--container")).toBe("sir_convert_a_lot_prod");
    expect(arg(prod.argv, "--via")).toBe("ssh://hemma");
    expect(arg(prod.argv, "--lane")).toBe("prod");
    expect(arg(prod.argv, "--data-dir")).toBe("/var/lib/sir-convert-a-lot/prod");
    // config sshOpts default (-o ServerAliveInterval=30 -o ConnectTimeout=15) reach the verifier's ssh
    expect(prod.argv.filter((_, i) => prod.argv[i - 1] === "--ssh-opt")).toEqual(["ServerAliveInterval=30", "ConnectTimeout=15"]);
    expect(arg(prod.argv, "--api-key-env")).toBe("SIR_CONVERT_A_LOT_API_KEY");
    expect(arg(prod.argv, "--torch-version")).toBe("2.10.0+rocm7.1");
    // both lanes share the deploy's GPU lock file, so their GPU jobs take turns
    expect(arg(prod.argv, "--gpu-lock-file")).toBe(".verification/gpu.lock");
    expect(arg(byProfile.eval.argv, "--gpu-lock-file")).toBe(".verification/gpu.lock");
    expect(arg(prod.argv, "--evidence-dir")).toBe(path.join(evidence, "prod"));
    expect(prod.apiKey).toBe(API_KEY);
    for (const c of calls()) expect(c.argv.join(" ")).not.toContain(API_KEY);

    expect(fs.existsSync(path.join(evidence, "eval", "report.json"))).toBe(true);
    expect(cap.out).toContain("[prod] health ok for prod at http://127.0.0.1:28085");
    expect(cap.out).toContain("[eval] partial line without newline");
    expect(cap.text()).toMatch(/prod\s+PASS/);
    const outputCall = sb.pulumiCalls().find((c) => c.argv[1] === "output")!;
    expect(outputCall.argv).toEqual(expect.arrayContaining(["--json", "--show-secrets", "--stack", "hemma"]));
  });

  it("fails when one lane fails, naming it, and keeps the key out of the printed output", async () => {
    const { cap } = setup({ FAKE_VERIFIER_EXIT_EVAL: "1", FAKE_VERIFIER_LEAK: "1" });
    expect(await main(["--evidence-dir", path.join(sb.dir, "ev")], cap.ctx, deps)).toBe(1);
    expect(cap.text()).toMatch(/eval\s+FAIL \(exit 1\)/);
    expect(cap.text()).toMatch(/prod\s+PASS/);
    expect(cap.text()).toMatch(/verification failed on lane\(s\) eval/);
    expect(cap.text()).toContain("[eval] debug: key is [REDACTED]");
    expect(cap.text()).not.toContain(API_KEY);
  });

  it("verifies only the lanes asked for, passes --checks, and omits --via for a non-ssh docker host", async () => {
    const { cap, calls } = setup(
      { FAKE_VERIFIER_EXPECT: "eval" },
      stackConfig(SHA.C, { [`${NS}:dockerHost`]: { value: "unix:///var/run/docker.sock", secret: false } }),
    );
    expect(await main(["--lane", "eval", "--checks", "readiness,gpu"], cap.ctx, deps)).toBe(0);
    const [only] = calls();
    expect(calls()).toHaveLength(1);
    expect(arg(only.argv, "--checks")).toBe("readiness,gpu");
    expect(only.argv).not.toContain("--via");
    expect(only.argv).not.toContain("--ssh-opt");
    expect(arg(only.argv, "--docker-command")).toBe("docker -H unix:///var/run/docker.sock");
    expect(arg(only.argv, "--evidence-dir")).toBe(path.join(cap.ctx.projectDir, ".verification", "on-demand", "2025-03-15T10-00-00-000Z", "eval"));
  });

  it("refuses an unknown lane", async () => {
    const { cap } = setup();
    expect(await main(["--lane", "staging"], cap.ctx, deps)).toBe(1);
    expect(cap.text()).toMatch(/staging are not deployed \(deployed: prod, eval\)/);
  });
});
