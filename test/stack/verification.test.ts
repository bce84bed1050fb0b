// Post-deploy verification commands under mocks: one per lane and check group, ordered after the
// container (and after readiness for GPU and smoke), re-run on image or container change only,
// with the API key only in the (secret) environment. Judged by pulumi-command@v1.2.1
// (provider/pkg/provider/common/inputs.go: `triggers` is replaceOnChanges; local/commandController.go:
// Create runs `create`, Update runs `update`, a failed Create stores nothing; local/commandOutputs.go:
// /bin/sh -c <create> with os.Environ() plus `environment`, stdout/stderr streamed to the engine's
// log unless `logging` says otherwise).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runStack, type StackRun, scratchCheckout } from "../harness/stack";
import { commandPlan } from "./providerModel";

const COMMAND = "command:local:Command";
const CONTAINER = "docker:index/container:Container";

describe("verification commands", () => {
  let run: StackRun;
  beforeAll(async () => {
    run = await runStack();
  });

  test("three check groups per lane", () => {
    expect(
      run
        .ofType(COMMAND)
        .map((c) => c.name)
        .sort(),
    ).toEqual(["eval-verify-gpu", "eval-verify-health", "eval-verify-smoke", "prod-verify-gpu", "prod-verify-health", "prod-verify-smoke"]);
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
    const imageId = `sha256:${require("node:crypto").createHash("sha256").update(run.plain(image).name).digest("hex")}`;
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
    expect(create).toContain("node launch.js verify/cli --");
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
    expect(create).toContain(`--evidence-dir "$run"`);
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

  test("evidence folders are stack outputs, known from config alone", () => {
    const outputs = run.result.outputs as any;
    const rev = scratchCheckout().head.slice(0, 12);
    expect(outputs.verification.prod.evidenceDirs.health).toBe(`.verification/prod-${rev}/health/latest`);
    expect(outputs.verification.eval.evidenceDirs.smoke).toBe(`.verification/eval-${rev}/smoke/latest`);
  });

  test("create is a plain string known at preview: no container or image id flows into it", () => {
    const container = run.named(CONTAINER, "prod");
    const image = run.named("docker:index/remoteImage:RemoteImage", "runtime-image");
    for (const c of run.ofType(COMMAND)) {
      expect(typeof c.inputs.create).toBe("string");
      expect(c.propertyDependencies.create ?? []).toEqual([]);
      expect(c.inputs.create).not.toContain(String(run.plain(c).triggers[1]));
      expect(c.inputs.create).not.toContain("sha256:");
    }
    expect(run.plain(run.named(COMMAND, "prod-verify-health")).triggers[1]).toMatch(/^prod-/);
    expect(container.urn).not.toBe(image.urn);
  });

  test("the verifier's progress is logged during pulumi up (stdout and stderr)", () => {
    for (const c of run.ofType(COMMAND)) expect(c.inputs.logging).toBe("stdoutAndStderr");
  });

  test("the API key is the environment's only entry, and it is secret", () => {
    for (const c of run.ofType(COMMAND)) {
      const env = c.inputs.environment as Record<string, unknown>;
      expect(Object.keys(env)).toEqual(["SIR_CONVERT_A_LOT_API_KEY"]);
      expect(run.isSecret(env.SIR_CONVERT_A_LOT_API_KEY)).toBe(true);
    }
  });

  test("a new container replaces (re-runs) the checks; a verification-settings change only updates (no re-run)", async () => {
    const cmd = run.plain(run.named(COMMAND, "prod-verify-gpu"));
    expect(commandPlan(cmd, cmd)).toBe("same");
    expect(commandPlan({ ...cmd, triggers: [cmd.triggers[0], "prod-0000replaced"] }, cmd)).toBe("replace");
    const slower = await runStack({ set: { verification: { timeoutSeconds: 900 } } });
    const next = slower.plain(slower.named(COMMAND, "prod-verify-gpu"));
    expect(commandPlan(cmd, next)).toBe("update");
  });

  test("create, run by /bin/sh as the provider does, writes one timestamped evidence folder and points latest at it", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "verify-create-"));
    try {
      const bin = path.join(work, "bin");
      fs.mkdirSync(bin);
      // A stand-in launch.js (create runs `node launch.js verify/cli ...` in the project dir): records
      // its argv and creates the evidence dir it was given, like the verifier.
      fs.writeFileSync(
        path.join(work, "launch.js"),
        'const fs = require("fs"); const a = process.argv.slice(2); fs.writeFileSync(process.env.VERIFY_ARGV, a.join("\\n") + "\\n");\n' +
          'const i = a.indexOf("--evidence-dir"); if (i >= 0) fs.mkdirSync(a[i + 1], { recursive: true }); process.exit(Number(process.env.VERIFY_EXIT || 0));\n',
      );
      const create = run.plain(run.named(COMMAND, "prod-verify-health")).create as string;
      const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, VERIFY_ARGV: path.join(work, "argv"), SIR_CONVERT_A_LOT_API_KEY: "k".repeat(40) };
      execFileSync("/bin/sh", ["-c", create], { cwd: work, env });
      const argv = fs.readFileSync(path.join(work, "argv"), "utf8").split("\n");
      const dir = argv[argv.indexOf("--evidence-dir") + 1];
      const rev = scratchCheckout().head.slice(0, 12);
      expect(dir).toMatch(new RegExp(`^\\.verification/prod-${rev}/health/\\d{8}T\\d{6}Z$`));
      expect(fs.realpathSync(path.join(work, `.verification/prod-${rev}/health/latest`))).toBe(fs.realpathSync(path.join(work, dir)));
      expect(argv).not.toContain("k".repeat(40));
      // A failing verifier fails the command (and a failed Create leaves no state: it re-runs next up).
      expect(() => execFileSync("/bin/sh", ["-c", create], { cwd: work, env: { ...env, VERIFY_EXIT: "3" }, stdio: "pipe" })).toThrow();
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
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
