// Post-deploy verification commands under mocks: one per lane and check group, ordered after the
// container (and after readiness for GPU and smoke), re-run on image or container change only,
// with the API key only in the (secret) environment.
import { runStack, StackRun } from "../harness/stack";

const COMMAND = "command:local:Command";
const CONTAINER = "docker:index/container:Container";

describe("verification commands", () => {
  let run: StackRun;
  beforeAll(async () => {
    run = await runStack();
  });

  test("three check groups per lane", () => {
    expect(run.ofType(COMMAND).map((c) => c.name).sort()).toEqual([
      "eval-verify-gpu",
      "eval-verify-health",
      "eval-verify-smoke",
      "prod-verify-gpu",
      "prod-verify-health",
      "prod-verify-smoke",
    ]);
  });

  test.each(["prod", "eval"])("%s: health depends on the container, gpu and smoke on health too", (lane) => {
    const container = run.named(CONTAINER, lane);
    const health = run.named(COMMAND, `${lane}-verify-health`);
    expect(health.dependencies).toContain(container.urn);
    for (const group of ["gpu", "smoke"]) {
      const cmd = run.named(COMMAND, `${lane}-verify-${group}`);
      expect(cmd.dependencies).toEqual(expect.arrayContaining([container.urn, health.urn]));
    }
  });

  test.each(["prod", "eval"])("%s: triggers are the image id and the container id", (lane) => {
    const container = run.named(CONTAINER, lane);
    const image = run.named("docker:index/remoteImage:RemoteImage", "runtime-image");
    const imageId = `sha256:${require("crypto").createHash("sha256").update(run.plain(image).name).digest("hex")}`;
    for (const group of ["health", "gpu", "smoke"]) {
      const cmd = run.named(COMMAND, `${lane}-verify-${group}`);
      expect(run.plain(cmd).triggers).toEqual([imageId, expect.stringMatching(new RegExp(`^${lane}-`))]);
      expect(cmd.propertyDependencies.triggers).toEqual(expect.arrayContaining([image.urn, container.urn]));
    }
  });

  test("the verifier command names the lane's facts and carries no secret", () => {
    const cmd = run.named(COMMAND, "prod-verify-health");
    const create = run.plain(cmd).create as string;
    const revision = (run.result.outputs as any).revision;
    expect(create).toContain("npm run --silent verify --");
    expect(create).toContain("--service-url http://127.0.0.1:28085");
    expect(create).toContain("--profile prod");
    expect(create).toContain(`--expected-revision ${revision}`);
    expect(create).toContain("--checks readiness,liveness,metrics");
    expect(create).toContain("--container sir_convert_a_lot_prod");
    expect(create).toContain("--data-dir /var/lib/sir-convert-a-lot/prod");
    expect(create).toContain("--torch-version 2.10.0+rocm7.1");
    expect(create).toContain("--via ssh://hemma --ssh-opt ServerAliveInterval=30 --ssh-opt ConnectTimeout=15");
    expect(create).toContain("--api-key-env SIR_CONVERT_A_LOT_API_KEY");
    expect(create).toContain("--gpu-lock-file .verification/gpu.lock");
    expect(create).toMatch(/--evidence-dir \.verification\/prod-[0-9a-z-]{1,12}\/health/);
    expect(run.plain(run.named(COMMAND, "eval-verify-gpu")).create).toContain("--checks gpu");
    expect(run.plain(run.named(COMMAND, "eval-verify-smoke")).create).toContain("--checks smoke");

    for (const c of run.ofType(COMMAND)) {
      const env = c.inputs.environment as Record<string, unknown>;
      expect(run.isSecret(env.SIR_CONVERT_A_LOT_API_KEY) || run.isSecret(env)).toBe(true);
      expect(JSON.stringify(run.plain(c).create)).not.toContain(String(run.plain(c).environment.SIR_CONVERT_A_LOT_API_KEY));
    }
  });

  test("a change of only the verification settings does not re-run the checks (update is a no-op)", () => {
    for (const c of run.ofType(COMMAND)) {
      const update = run.plain(c).update as string;
      expect(update).toMatch(/^echo '.*re-runs when the image or the container changes'$/);
      expect(update).not.toContain("npm run");
    }
  });

  test("evidence folders are stack outputs", () => {
    const outputs = run.result.outputs as any;
    expect(outputs.verification.prod.evidenceDirs.health).toMatch(/^\.verification\/prod-.+\/health$/);
    expect(outputs.verification.eval.evidenceDirs.smoke).toMatch(/^\.verification\/eval-.+\/smoke$/);
  });

  test("verification can be switched off", async () => {
    const off = await runStack({ set: { verification: { enabled: false } } });
    expect(off.ofType(COMMAND)).toHaveLength(0);
  });

  test("a local docker host verifies without an SSH tunnel", async () => {
    const local = await runStack({ set: { dockerHost: "unix:///var/run/docker.sock" } });
    const create = local.plain(local.named(COMMAND, "prod-verify-health")).create as string;
    expect(create).not.toContain("--via");
    expect(create).toContain("--docker-command 'docker -H unix:///var/run/docker.sock'");
  });
});
