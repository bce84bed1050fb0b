// The committed hemma stack under mocks: every resource input that matters for running the
// service on Hemma's GPU, keeping data safe and staying on loopback.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RecordedResource } from "../../gate/mockRun";
import { runStack, type StackRun, scratchCheckout } from "../harness/stack";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const VOLUME = "docker:index/volume:Volume";

/** The API key is its own envs element, and that element is a secret (components/laneEnvironment.ts). */
function apiKeyElementIsSecret(run: StackRun, container: RecordedResource): boolean {
  const envs = container.inputs.envs as unknown[];
  const key = envs.filter((e) =>
    String((run.plain({ inputs: { e } } as unknown as RecordedResource) as { e: unknown }).e).startsWith("SIR_CONVERT_A_LOT_API_KEY="),
  );
  return key.length === 1 && run.isSecret(key[0]) && envs.filter((e) => run.isSecret(e)).length === 1;
}

function envMap(run: StackRun, container: RecordedResource): Record<string, string> {
  const envs = run.plain(container).envs as string[];
  return Object.fromEntries(envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

describe("committed hemma stack", () => {
  let run: StackRun;
  beforeAll(async () => {
    run = await runStack();
  });

  test("docker provider targets Hemma over SSH", () => {
    const provider = run.named("pulumi:providers:docker", "hemma-docker");
    expect(provider.inputs.host).toBe("ssh://hemma");
    expect(JSON.parse(provider.inputs.sshOpts as string)).toEqual(["-o", "ServerAliveInterval=30", "-o", "ConnectTimeout=15"]);
    for (const r of run.resources.filter((r) => r.type.startsWith("docker:index/"))) {
      expect(r.provider).toMatch(/::hemma-docker::/);
    }
  });

  test("runtime image is built on Hemma from the checkout, tagged and labelled with the revision", () => {
    const head = scratchCheckout().head;
    const image = run.named(IMAGE, "runtime-image-build");
    const inputs = run.plain(image);
    expect(inputs.name).toBe(`sir-convert-a-lot-runtime:${head}`);
    expect(inputs.name).not.toMatch(/:latest$/);
    expect(inputs.keepLocally).toBe(true);
    expect(inputs.build.context).toBe(scratchCheckout().dir);
    expect(inputs.build.dockerfile).toBe("Dockerfile");
    expect(inputs.build.tags).toEqual([`sir-convert-a-lot-runtime:${head}`]);
    expect(inputs.build.useLegacyBuilder).toBe(true);
    expect(inputs.build.labels["org.opencontainers.image.revision"]).toBe(head);
    expect(inputs.build.label).toEqual(inputs.build.labels);
    expect(inputs.build.buildArgs).toEqual({
      SIR_CONVERT_A_LOT_TORCH_ROCM_INDEX_URL: "https://download.pytorch.org/whl/rocm7.1",
      SIR_CONVERT_A_LOT_TORCH_VERSION: "2.10.0+rocm7.1",
      SIR_CONVERT_A_LOT_TORCHVISION_VERSION: "0.25.0+rocm7.1",
      SIR_CONVERT_A_LOT_TORCHAUDIO_VERSION: "2.10.0+rocm7.1",
    });
  });

  test("the lanes' image is the built tag, ordered after the build, never building itself", () => {
    const build = run.named(IMAGE, "runtime-image-build");
    const image = run.named(IMAGE, "runtime-image");
    expect(run.plain(image)).toEqual({ name: `sir-convert-a-lot-runtime:${scratchCheckout().head}`, keepLocally: true });
    expect(image.propertyDependencies.name).toEqual([build.urn]);
    expect(image.dependencies).toContain(build.urn);
    expect(run.ofType(IMAGE)).toHaveLength(2);
  });

  test("two lanes run the one runtime image by id with their own command", () => {
    const image = run.named(IMAGE, "runtime-image");
    const containers = run.ofType(CONTAINER);
    expect(containers.map((c) => c.name).sort()).toEqual(["eval", "prod"]);
    for (const c of containers) {
      expect(c.inputs.image).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(c.propertyDependencies.image).toEqual([image.urn]);
    }
    expect(run.plain(run.named(CONTAINER, "prod")).command).toEqual(["pdm", "run", "serve:sir-convert-a-lot"]);
    expect(run.plain(run.named(CONTAINER, "eval")).command).toEqual(["pdm", "run", "serve:sir-convert-a-lot-eval"]);
    expect(run.plain(run.named(CONTAINER, "prod")).name).toBe("sir_convert_a_lot_prod");
    expect(run.plain(run.named(CONTAINER, "eval")).name).toBe("sir_convert_a_lot_eval");
  });

  test.each(["prod", "eval"])("%s mounts the ROCm devices and joins video/render", (lane) => {
    const inputs = run.plain(run.named(CONTAINER, lane));
    expect(inputs.devices).toEqual([
      { hostPath: "/dev/kfd", containerPath: "/dev/kfd", permissions: "rwm" },
      { hostPath: "/dev/dri", containerPath: "/dev/dri", permissions: "rwm" },
    ]);
    expect(inputs.groupAdds).toEqual(["video", "render"]);
    expect(inputs.privileged).toBeUndefined();
  });

  test("ports are published on 127.0.0.1 only, 28085->8085 and 28086->8086", () => {
    expect(run.plain(run.named(CONTAINER, "prod")).ports).toEqual([{ internal: 8085, external: 28085, ip: "127.0.0.1", protocol: "tcp" }]);
    expect(run.plain(run.named(CONTAINER, "eval")).ports).toEqual([{ internal: 8086, external: 28086, ip: "127.0.0.1", protocol: "tcp" }]);
  });

  test("each lane mounts only its own data volume at its own data dir, plus the shared model cache", () => {
    const prod = run.plain(run.named(CONTAINER, "prod")).volumes;
    const evalVolumes = run.plain(run.named(CONTAINER, "eval")).volumes;
    expect(prod).toEqual([
      { volumeName: "sir-convert-a-lot-prod-data", containerPath: "/var/lib/sir-convert-a-lot/prod" },
      { volumeName: "sir-convert-a-lot-model-cache", containerPath: "/var/cache/sir-convert-a-lot" },
    ]);
    expect(evalVolumes).toEqual([
      { volumeName: "sir-convert-a-lot-eval-data", containerPath: "/var/lib/sir-convert-a-lot/eval" },
      { volumeName: "sir-convert-a-lot-model-cache", containerPath: "/var/cache/sir-convert-a-lot" },
    ]);
    const prodVolume = run.named(VOLUME, "sir-convert-a-lot-prod-data");
    expect(run.named(CONTAINER, "prod").propertyDependencies.volumes).toContain(prodVolume.urn);
    expect(run.named(CONTAINER, "eval").propertyDependencies.volumes).not.toContain(prodVolume.urn);
  });

  test("env pins the revision, both data roots, GPU-first and the model cache", () => {
    const head = scratchCheckout().head;
    for (const lane of ["prod", "eval"]) {
      const env = envMap(run, run.named(CONTAINER, lane));
      expect(env.SIR_CONVERT_A_LOT_SERVICE_REVISION).toBe(head);
      expect(env.SIR_CONVERT_A_LOT_EXPECTED_REVISION).toBe(head);
      expect(env.SIR_CONVERT_A_LOT_DATA_DIR).toBe("/var/lib/sir-convert-a-lot/prod");
      expect(env.SIR_CONVERT_A_LOT_EVAL_DATA_DIR).toBe("/var/lib/sir-convert-a-lot/eval");
      expect(env.SIR_CONVERT_A_LOT_GPU_AVAILABLE).toBe("1");
      expect(env.HF_HOME).toBe("/var/cache/sir-convert-a-lot/huggingface");
      expect(env.TORCH_HOME).toBe("/var/cache/sir-convert-a-lot/torch");
      expect(env.EASYOCR_MODULE_PATH).toBe("/var/cache/sir-convert-a-lot/easyocr");
      expect(env.XDG_CACHE_HOME).toBe("/var/cache/sir-convert-a-lot");
      expect(env.SIR_CONVERT_A_LOT_ALLOW_CPU_ONLY).toBeUndefined();
      expect(env.SIR_CONVERT_A_LOT_ALLOW_CPU_FALLBACK).toBeUndefined();
      expect(env.CONVERTER_STORAGE_ROOT).toBeUndefined();
    }
    const evalEnv = envMap(run, run.named(CONTAINER, "eval"));
    expect(evalEnv.SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY).toBe("0");
    expect(evalEnv.SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_FALLBACK).toBe("0");
    const prodEnv = envMap(run, run.named(CONTAINER, "prod"));
    expect(prodEnv.SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY).toBeUndefined();
  });

  test("the generated API key is a secret everywhere it travels", () => {
    const password = run.named("random:index/randomPassword:RandomPassword", "api-key");
    expect(password.options.additionalSecretOutputs).toContain("result");
    for (const lane of ["prod", "eval"]) {
      const container = run.named(CONTAINER, lane);
      expect(apiKeyElementIsSecret(run, container)).toBe(true);
      const env = envMap(run, container);
      expect(env.SIR_CONVERT_A_LOT_API_KEY).toMatch(/^mock-/);
      expect(env.SIR_CONVERT_A_LOT_API_KEY).not.toBe("dev-only-key");
    }
    expect(run.isSecret(run.result.outputs.apiKey)).toBe(true);
  });

  test("healthcheck on /readyz, restart unless-stopped, log rotation, bounded wait for health", () => {
    for (const [lane, port] of [
      ["prod", 8085],
      ["eval", 8086],
    ] as const) {
      const inputs = run.plain(run.named(CONTAINER, lane));
      expect(inputs.healthcheck.tests[0]).toBe("CMD");
      expect(inputs.healthcheck.tests.join(" ")).toContain(`http://127.0.0.1:${port}/readyz`);
      expect(inputs.healthcheck.retries).toBe(3);
      expect(inputs.restart).toBe("unless-stopped");
      expect(inputs.logDriver).toBe("json-file");
      expect(inputs.logOpts).toEqual({ "max-size": "50m", "max-file": "5" });
      expect(run.named(CONTAINER, lane).options.replaceOnChanges).toEqual(["*"]);
      expect(inputs.wait).toBe(true);
      expect(inputs.waitTimeout).toBe(180);
      expect(inputs.removeVolumes).toBe(false);
    }
  });

  test("containers are deleted before replacement (fixed name and host port)", () => {
    for (const lane of ["prod", "eval"]) {
      const container = run.named(CONTAINER, lane);
      expect(container.options.deleteBeforeReplace).toBe(true);
      expect(container.options.customTimeouts?.create).toBe("300s");
    }
  });

  test("data volumes are protected and retained; the model cache is retained", () => {
    for (const name of ["sir-convert-a-lot-prod-data", "sir-convert-a-lot-eval-data"]) {
      const volume = run.named(VOLUME, name);
      expect(volume.inputs.name).toBe(name);
      expect(volume.options.protect).toBe(true);
      expect(volume.options.retainOnDelete).toBe(true);
      expect(volume.options.ignoreChanges).toEqual(expect.arrayContaining(["labels"]));
    }
    const cache = run.named(VOLUME, "sir-convert-a-lot-model-cache");
    expect(cache.options.retainOnDelete).toBe(true);
    expect(run.ofType(VOLUME)).toHaveLength(3);
  });

  test("outputs: revision, image, per-lane URL and tunnel command, secret API key", () => {
    const head = scratchCheckout().head;
    const outputs = run.result.outputs as Record<string, any>;
    expect(outputs.revision).toBe(head);
    expect(outputs.image.name).toBe(`sir-convert-a-lot-runtime:${head}`);
    expect(outputs.image.id).toMatch(/^sha256:/);
    expect(outputs.lanes.prod).toEqual({
      containerName: "sir_convert_a_lot_prod",
      profile: "prod",
      dataDir: "/var/lib/sir-convert-a-lot/prod",
      url: "http://127.0.0.1:28085",
      hostPort: 28085,
      localPort: 28085,
      tunnelCommand: "ssh -N -L 28085:127.0.0.1:28085 -- hemma",
    });
    expect(outputs.lanes.eval.tunnelCommand).toBe("ssh -N -L 28086:127.0.0.1:28086 -- hemma");
  });
});

describe("stack variants", () => {
  test("image.build=false runs the image already on Hemma without a checkout", async () => {
    const revision = "0123456789abcdef0123456789abcdef01234567";
    const run = await runStack({
      set: { image: { name: "sir-convert-a-lot-runtime", build: false }, revision, source: { path: "/nonexistent/checkout" } },
    });
    expect(run.ofType(IMAGE).map((r) => r.name)).toEqual(["runtime-image"]);
    const image = run.plain(run.named(IMAGE, "runtime-image"));
    expect(image).toEqual({ name: `sir-convert-a-lot-runtime:${revision}`, keepLocally: true });
    expect(envMap(run, run.named(CONTAINER, "prod")).SIR_CONVERT_A_LOT_SERVICE_REVISION).toBe(revision);
  });

  test("a retired image.builder from an older update still deploys, on the stack's host", async () => {
    for (const builder of ["buildx", "legacy"]) {
      const run = await runStack({ set: { image: { builder } } });
      expect(run.plain(run.named(IMAGE, "runtime-image-build")).build.useLegacyBuilder).toBe(true);
    }
  });

  test("a configured secret API key is used instead of a generated one", async () => {
    const key = "k".repeat(40);
    const run = await runStack({ set: { apiKey: key }, secretKeys: ["apiKey"] });
    expect(run.ofType("random:index/randomPassword:RandomPassword")).toHaveLength(0);
    const container = run.named(CONTAINER, "prod");
    expect(apiKeyElementIsSecret(run, container)).toBe(true);
    expect(envMap(run, container).SIR_CONVERT_A_LOT_API_KEY).toBe(key);
    expect(run.isSecret(run.result.outputs.apiKey)).toBe(true);
  });

  test("a recorded eval CPU decision keeps eval's CPU-only default, prod stays locked", async () => {
    // The program accepts the decision only when the pack config records it too (policy/policies/invariants.ts).
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pack-config-")), "config.hemma.json");
    fs.writeFileSync(file, JSON.stringify({ "gpu-first-env": { evalCpuDecision: "ADR-0007" } }));
    process.env.SIR_CONVERT_A_LOT_POLICY_PACK_CONFIG = file;
    const run = await runStack({ set: { evalCpu: { cpuOnlyDecision: "ADR-0007" } } }).finally(() => delete process.env.SIR_CONVERT_A_LOT_POLICY_PACK_CONFIG);
    expect(envMap(run, run.named(CONTAINER, "eval")).SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY).toBe("1");
    expect(envMap(run, run.named(CONTAINER, "prod")).SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY).toBeUndefined();
  });

  test("disabling eval removes its container but keeps its data volume declared", async () => {
    const run = await runStack({
      set: {
        lanes: {
          prod: {},
          eval: { enabled: false },
        },
      },
    });
    expect(run.ofType(CONTAINER).map((c) => c.name)).toEqual(["prod"]);
    expect(run.named(VOLUME, "sir-convert-a-lot-eval-data").options.protect).toBe(true);
    expect(Object.keys((run.result.outputs as any).lanes)).toEqual(["prod"]);
  });

  test("renaming a lane's container keeps the data volume's identity", async () => {
    const base = await runStack();
    const renamed = await runStack({ set: { lanes: { prod: { containerName: "sir_convert_a_lot_prod_v2" }, eval: {} } } });
    const urn = (r: StackRun) => r.named(VOLUME, "sir-convert-a-lot-prod-data").urn;
    expect(urn(renamed)).toBe(urn(base));
  });

  test("host GIDs can replace group names", async () => {
    const run = await runStack({ set: { gpu: { devices: ["/dev/kfd", "/dev/dri"], groups: ["44", "992"] } } });
    expect(run.plain(run.named(CONTAINER, "prod")).groupAdds).toEqual(["44", "992"]);
  });

  test("an IPv6 loopback bind is refused before any resource (issue 12: tunnels are IPv4)", async () => {
    await expect(runStack({ set: { bindAddress: "::1" } })).rejects.toThrow(/bindAddress.*IPv4/s);
  });
});
