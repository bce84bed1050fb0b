// Each kind of pulumi failure gets its own `what to do` (ops/pulumi/failure.ts), seen through a real
// tool run with the fake pulumi failing the way the real CLI does; a deploy that changed nothing
// (declined prompt) never suggests a rollback; "verification passed" only when verification ran.
import { main as deployMain } from "../../ops/cli/deploy";
import { main as verifyMain } from "../../ops/cli/verify/stack";
import { classifyPulumiFailure } from "../../ops/pulumi/failure";
import { captureContext, gitRepoPerTest, makeSandbox, NS, type Sandbox, SHA, sourceConfig, stackConfig } from "./helpers";

let sb: Sandbox;
const repo = gitRepoPerTest(() => sb?.cleanup());

const CASES: [string, string, number, RegExp][] = [
  [
    "locked",
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.",
    255,
    /another pulumi update holds stack hemma.*npm run pulumi -- cancel --stack hemma/,
  ],
  [
    "missing-passphrase",
    "error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables",
    255,
    /export PULUMI_CONFIG_PASSPHRASE_FILE=/,
  ],
  [
    "wrong-passphrase",
    "error: getting secrets manager: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the correct passphrase",
    255,
    /does not open stack hemma's secrets/,
  ],
  ["missing-stack", "error: no stack named 'hemma' found", 6, /npm run init -- --stack hemma/],
];

describe("pulumi failures, each with its own what to do", () => {
  it.each(CASES)("%s", async (kind, stderr, code, hint) => {
    expect(classifyPulumiFailure(code, stderr, "hemma").kind).toBe(kind);
    sb = makeSandbox({ config: stackConfig(SHA.C), fail: { config: { stderr, code } } });
    const cap = captureContext(sb.env);
    expect(await verifyMain([], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(new RegExp(`what to do: .*${hint.source}`));
    // none of them falls back to the general backend hint
    expect(cap.text()).not.toContain("check that the state backend in Pulumi.yaml");
  });

  it("a declined or cancelled prompt is sorted by its text whatever the exit code (1 since pulumi v3.226)", () => {
    for (const code of [1, 255]) expect(classifyPulumiFailure(code, "confirmation declined, not proceeding with the update", "hemma").kind).toBe("declined");
    expect(classifyPulumiFailure(1, "confirmation cancelled, not proceeding with the update: interrupt", "hemma").kind).toBe("declined");
  });

  it("anything else keeps the general hint", () => {
    expect(classifyPulumiFailure(1, "error: open /x/.pulumi/meta.yaml: permission denied", "hemma").kind).toBe("other");
  });
});

describe("deploy messages that are true", () => {
  it("a deploy declined at pulumi's prompt says nothing was deployed and suggests no rollback", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), upDeclined: true });
    const cap = captureContext(sb.env);
    expect(await deployMain([], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/error: pulumi up ended with exit code 1 before any change .*nothing was deployed/);
    expect(cap.text()).toContain("nothing to roll back");
    expect(cap.text()).not.toContain("npm run rollback");
  });

  it("with verification.enabled=false a deploy says it was not verified", async () => {
    sb = makeSandbox({
      config: stackConfig(SHA.C, {
        ...sourceConfig({ path: repo.dir }),
        [`${NS}:verification`]: { value: JSON.stringify({ enabled: false }), objectValue: { enabled: false }, secret: false },
      }),
    });
    const cap = captureContext(sb.env);
    expect(await deployMain(["--yes"], cap.ctx)).toBe(0);
    expect(cap.text()).toContain("NOT verified (config verification.enabled is false)");
    expect(cap.text()).not.toContain("verification passed");
  });

  it("a failed update that ran points at the evidence and the rollback", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), upExitCode: 1 });
    const cap = captureContext(sb.env);
    expect(await deployMain(["--yes"], cap.ctx)).toBe(1);
    expect(cap.text()).toContain("docs/runbook.md, 12.3 A verification failed");
    expect(cap.text()).toContain("npm run rollback");
  });
});
