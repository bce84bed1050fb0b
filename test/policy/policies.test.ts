// Every policy through the real analyzer path (pack process + Analyzer gRPC), on a synthetic stack
// shaped like docs/architecture.md: the compliant stack passes, each violation is reported by the
// right policy at the right level with resource, field, value and fix, and the API key never
// appears in any output.

import type { GateResult } from "../../gate/analyzerGate";
import type { RecordedResource } from "../../gate/mockRun";
import { unwrapSecrets } from "../../gate/mockRun";
import { API_KEY, find, mutate, REVISION, setEnv, syntheticStack, T, without } from "./fixtures";
import { of, openPack, type PackSession, refusedBy } from "./packHarness";

let session: PackSession;
const base = syntheticStack();

beforeAll(async () => {
  session = await openPack();
}, 200000);
afterAll(async () => {
  await session?.close();
});

async function check(resources: RecordedResource[], config?: Record<string, unknown>): Promise<GateResult> {
  const result = await session.check(resources, config);
  expect(result.report).not.toContain(API_KEY);
  for (const d of result.diagnostics) expect(d.message).not.toContain(API_KEY);
  return result;
}

/** Asserts exactly the given policy refuses, and returns its messages. */
async function refused(resources: RecordedResource[], policy: string, config?: Record<string, unknown>): Promise<string[]> {
  const result = await check(resources, config);
  expect(refusedBy(result)).toEqual([policy]);
  expect(result.refused).toBe(true);
  return of(result, policy).map((d) => d.message);
}

test("the pack describes its policies with their default levels", async () => {
  const info = await session.client.getAnalyzerInfo();
  const levels = Object.fromEntries(info.policies.map((p) => [p.name, `${p.kind}:${p.level}`]));
  expect(levels).toEqual({
    "gpu-devices": "resource:mandatory",
    "gpu-first-env": "resource:mandatory",
    "rocm-torch-pins": "resource:mandatory",
    "data-root-separation": "stack:mandatory",
    "loopback-only": "resource:mandatory",
    "unique-host-ports": "stack:mandatory",
    "immutable-image": "stack:mandatory",
    "protected-data": "stack:mandatory",
    "verification-present": "stack:mandatory",
    "api-key-secret": "resource:mandatory",
    "api-key-source": "stack:mandatory",
    "readyz-healthcheck": "resource:advisory",
    "restart-policy": "resource:advisory",
    "log-rotation": "resource:advisory",
    "no-privileged": "resource:advisory",
  });
  expect(info.policies.every((p) => p.description.length > 20)).toBe(true);
});

test("the compliant synthetic stack passes every policy", async () => {
  const result = await check(base);
  expect(result.diagnostics).toEqual([]);
  expect(result.refused).toBe(false);
});

describe("gpu-devices", () => {
  test("a lane without /dev/kfd is refused with the fix", async () => {
    const [msg] = await refused(
      mutate(base, T.container, "prod", (i) => (i.devices = i.devices.filter((d: any) => d.hostPath !== "/dev/kfd"))),
      "gpu-devices",
    );
    expect(msg).toContain(`gpu-devices: prod (${T.container}) field devices is missing /dev/kfd`);
    expect(msg).toContain(`add {hostPath: "/dev/kfd"`);
  });
  test("a lane missing the render group is refused; a numeric GID (README advice) passes without a policy setting (issue 11)", async () => {
    const missing = mutate(base, T.container, "eval", (i) => (i.groupAdds = ["video"]));
    const [msg] = await refused(missing, "gpu-devices");
    expect(msg).toContain(`field groupAdds is ["video"] (missing render)`);
    const numeric = mutate(base, T.container, "eval", (i) => (i.groupAdds = ["44", "992"]));
    expect(of(await check(numeric), "gpu-devices")).toEqual([]);
    // One GID stands for one group: a single GID cannot cover both.
    const [one] = await refused(
      mutate(base, T.container, "eval", (i) => (i.groupAdds = ["992"])),
      "gpu-devices",
    );
    expect(one).toContain("(missing render)");
  });
  test("a device mapped to another container path is refused", async () => {
    const msgs = await refused(
      mutate(base, T.container, "prod", (i) => (i.devices[1].containerPath = "/dev/gpu")),
      "gpu-devices",
    );
    expect(msgs[0]).toContain(`field devices[hostPath=/dev/dri].containerPath is "/dev/gpu"`);
  });
});

describe("gpu-first-env", () => {
  test("a truthy CPU unlock on prod is refused", async () => {
    const [msg] = await refused(
      mutate(base, T.container, "prod", (i) => setEnv(i, "SIR_CONVERT_A_LOT_ALLOW_CPU_FALLBACK", " Yes ")),
      "gpu-first-env",
    );
    expect(msg).toMatch(/gpu-first-env: prod \(docker:index\/container:Container\) field envs\[\d+\] SIR_CONVERT_A_LOT_ALLOW_CPU_FALLBACK is " Yes "; remove/);
  });
  test("a falsy unlock value is fine", async () => {
    const result = await check(mutate(base, T.container, "prod", (i) => setEnv(i, "SIR_CONVERT_A_LOT_ALLOW_CPU_ONLY", "off")));
    expect(result.diagnostics).toEqual([]);
  });
  test("declaring the GPU unavailable is refused (only exactly 1 counts)", async () => {
    const [msg] = await refused(
      mutate(base, T.container, "prod", (i) => setEnv(i, "SIR_CONVERT_A_LOT_GPU_AVAILABLE", "true")),
      "gpu-first-env",
    );
    expect(msg).toContain(`SIR_CONVERT_A_LOT_GPU_AVAILABLE is "true"; set it to exactly "1"`);
  });
  test("eval without an explicit CPU-only switch is refused unless a decision is recorded", async () => {
    const unset = mutate(base, T.container, "eval", (i) => setEnv(i, "SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY", undefined));
    const [msg] = await refused(unset, "gpu-first-env");
    expect(msg).toContain("field envs SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY is (unset, which eval treats as CPU-only allowed)");
    expect(msg).toContain(`"evalCpuDecision": "<reference>"`);
    const cpuOn = mutate(base, T.container, "eval", (i) => setEnv(i, "SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY", "1"));
    await refused(cpuOn, "gpu-first-env");
    const decided = { "gpu-first-env": { evalCpuDecision: "docs/decisions/0007-eval-cpu.md" } };
    expect((await check(unset, decided)).diagnostics).toEqual([]);
    expect((await check(cpuOn, decided)).diagnostics).toEqual([]);
  });
  test("a recorded eval decision does not relax prod", async () => {
    const prodCpu = mutate(base, T.container, "prod", (i) => setEnv(i, "SIR_CONVERT_A_LOT_ALLOW_CPU_ONLY", "1"));
    await refused(prodCpu, "gpu-first-env", { "gpu-first-env": { evalCpuDecision: "ADR-7" } });
  });
});

describe("rocm-torch-pins", () => {
  const pin = (key: string, value: string | undefined) =>
    mutate(base, T.image, "runtime-image", (i) => {
      if (value === undefined) delete i.build.buildArgs[key];
      else i.build.buildArgs[key] = value;
    });
  test("a CUDA torch wheel is refused", async () => {
    const [msg] = await refused(pin("SIR_CONVERT_A_LOT_TORCH_VERSION", "2.10.0+cu128"), "rocm-torch-pins");
    expect(msg).toContain(`rocm-torch-pins: runtime-image (${T.image}) field build.buildArgs.SIR_CONVERT_A_LOT_TORCH_VERSION is "2.10.0+cu128" (a CUDA wheel)`);
  });
  test("a CPU wheel, an unpinned torchaudio and a CUDA index are refused", async () => {
    expect((await refused(pin("SIR_CONVERT_A_LOT_TORCHVISION_VERSION", "0.25.0+cpu"), "rocm-torch-pins"))[0]).toContain("(a CPU-only wheel)");
    expect((await refused(pin("SIR_CONVERT_A_LOT_TORCHAUDIO_VERSION", undefined), "rocm-torch-pins"))[0]).toContain("is (unset");
    expect((await refused(pin("SIR_CONVERT_A_LOT_TORCH_VERSION", ">=2.10"), "rocm-torch-pins"))[0]).toContain("not an exact +rocm wheel version");
    const [msg] = await refused(pin("SIR_CONVERT_A_LOT_TORCH_ROCM_INDEX_URL", "https://download.pytorch.org/whl/cu128"), "rocm-torch-pins");
    expect(msg).toContain(`SIR_CONVERT_A_LOT_TORCH_ROCM_INDEX_URL is "https://download.pytorch.org/whl/cu128"`);
  });
  test("mixed ROCm versions are refused; a configured ROCm version is enforced", async () => {
    await refused(pin("SIR_CONVERT_A_LOT_TORCH_VERSION", "2.10.0+rocm6.4"), "rocm-torch-pins");
    await refused(base, "rocm-torch-pins", { "rocm-torch-pins": { rocmVersion: "7.2" } });
    expect((await check(base, { "rocm-torch-pins": { rocmVersion: "7.1" } })).diagnostics).toEqual([]);
  });
  test("an image without a build block (rollback to an image on the host) is not applicable", async () => {
    const result = await check(mutate(base, T.image, "runtime-image", (i) => delete i.build));
    expect(of(result, "rocm-torch-pins")).toEqual([]);
  });
});

describe("data-root-separation", () => {
  test("eval mounting the prod data volume is refused", async () => {
    const shared = mutate(base, T.container, "eval", (i) => (i.volumes[0].volumeName = "sir-convert-a-lot-prod-data"));
    const msgs = await refused(shared, "data-root-separation");
    expect(msgs.join("\n")).toContain(
      `data-root-separation: eval (${T.container}) field volumes[0].source is "sir-convert-a-lot-prod-data" (also mounted writable by lane prod at volumes[0])`,
    );
  });
  test("a data dir env that does not match the mount is refused", async () => {
    const moved = mutate(base, T.container, "eval", (i) => setEnv(i, "SIR_CONVERT_A_LOT_EVAL_DATA_DIR", "/srv/eval"));
    const [msg] = await refused(moved, "data-root-separation");
    expect(msg).toContain(`field envs SIR_CONVERT_A_LOT_EVAL_DATA_DIR is "/srv/eval" (resolves to /srv/eval`);
  });
  test("both roots equal is refused (the service's collision check)", async () => {
    const same = mutate(base, T.container, "prod", (i) => setEnv(i, "SIR_CONVERT_A_LOT_EVAL_DATA_DIR", "/var/lib/sir-convert-a-lot/prod"));
    expect((await refused(same, "data-root-separation")).join("\n")).toContain("data_root_configuration_collision");
  });
  test("nested host bind paths are refused", async () => {
    let s = mutate(base, T.container, "prod", (i) => (i.volumes[0] = { hostPath: "/srv/sir", containerPath: "/var/lib/sir-convert-a-lot/prod" }));
    s = mutate(s, T.container, "eval", (i) => (i.volumes[0] = { hostPath: "/srv/sir/eval", containerPath: "/var/lib/sir-convert-a-lot/eval" }));
    expect((await refused(s, "data-root-separation")).join("\n")).toContain(`(nested with lane prod's host path "/srv/sir")`);
  });
  test("the shared model cache is allowed only while allow-listed", async () => {
    await refused(base, "data-root-separation", { "data-root-separation": { sharedVolumes: [] } });
  });
});

describe("loopback-only", () => {
  const bind = (ip: string | undefined) =>
    mutate(base, T.container, "prod", (i) => {
      if (ip === undefined) delete i.ports[0].ip;
      else i.ports[0].ip = ip;
    });
  test("binding 0.0.0.0 or leaving ip unset is refused", async () => {
    expect((await refused(bind("0.0.0.0"), "loopback-only"))[0]).toContain(
      `loopback-only: prod (${T.container}) field ports[0].ip is "0.0.0.0" for host port 28085`,
    );
    expect((await refused(bind(undefined), "loopback-only"))[0]).toContain("unset (docker binds 0.0.0.0, all interfaces)");
  });
  test("::1 passes; an allowlisted exposure passes only with a reason", async () => {
    expect((await check(bind("::1"))).diagnostics).toEqual([]);
    const lan = bind("192.168.1.10");
    const entry = { container: "sir_convert_a_lot_prod", ip: "192.168.1.10", external: 28085 };
    expect((await check(lan, { "loopback-only": { allowedExposures: [{ ...entry, reason: "LAN demo, issue #12" }] } })).diagnostics).toEqual([]);
    await refused(lan, "loopback-only", { "loopback-only": { allowedExposures: [{ ...entry, reason: " " }] } });
  });
  test("host networking is refused", async () => {
    expect(
      (
        await refused(
          mutate(base, T.container, "eval", (i) => (i.networkMode = "host")),
          "loopback-only",
        )
      )[0],
    ).toContain(`field networkMode is "host"`);
  });
});

describe("unique-host-ports", () => {
  test("two lanes on one host port are refused", async () => {
    const [msg] = await refused(
      mutate(base, T.container, "eval", (i) => (i.ports[0].external = 28085)),
      "unique-host-ports",
    );
    expect(msg).toContain(`unique-host-ports: eval (${T.container}) field ports[0].external is 28085/tcp (already published by prod ports[0])`);
  });
  test("a reserved port is refused; the reserved list is configurable", async () => {
    const s = mutate(base, T.container, "prod", (i) => (i.ports[0].external = 8085));
    expect((await refused(s, "unique-host-ports"))[0]).toContain("is 8085 (reserved by another stack on the host)");
    expect(of(await check(s, { "unique-host-ports": { reservedPorts: [80, 443] } }), "unique-host-ports")).toEqual([]);
    await refused(base, "unique-host-ports", { "unique-host-ports": { reservedPorts: [28086] } });
  });
});

describe("immutable-image", () => {
  test("a latest tag on the runtime image is refused", async () => {
    const [msg] = await refused(
      mutate(base, T.image, "runtime-image", (i) => (i.name = "sir-convert-a-lot-runtime:latest")),
      "immutable-image",
    );
    expect(msg).toContain(`immutable-image: runtime-image (${T.image}) field name is "sir-convert-a-lot-runtime:latest" (the moving tag latest)`);
  });
  test("a short or mismatched revision tag is refused", async () => {
    await refused(
      mutate(base, T.image, "runtime-image", (i) => (i.name = "sir-convert-a-lot-runtime:0123456")),
      "immutable-image",
    );
    const [msg] = await refused(
      mutate(base, T.image, "runtime-image", (i) => (i.build.labels["org.opencontainers.image.revision"] = "f".repeat(40))),
      "immutable-image",
    );
    expect(msg).toContain(`label the build with the revision it is tagged with (${REVISION})`);
  });
  test("a lane running a tag, or an id not from this stack's image, is refused", async () => {
    const [msg] = await refused(
      mutate(base, T.container, "prod", (i) => (i.image = "sir-convert-a-lot-runtime:latest")),
      "immutable-image",
    );
    expect(msg).toContain(`field image is "sir-convert-a-lot-runtime:latest"; run the runtime image by id`);
    const foreign = mutate(base, T.container, "eval", (_i, r) => (r.propertyDependencies.image = []));
    expect((await refused(foreign, "immutable-image"))[0]).toContain("(not taken from the runtime image built in this stack)");
  });
});

describe("protected-data", () => {
  test("an unprotected data volume is refused", async () => {
    const s = mutate(base, T.volume, "sir-convert-a-lot-eval-data", (_i, r) => (r.options.protect = false));
    const [msg] = await refused(s, "protected-data");
    expect(msg).toContain(
      `protected-data: sir-convert-a-lot-eval-data (${T.volume}) field options.protect is false (data volume: label org.sir-convert-a-lot.role=data)`,
    );
  });
  test("a volume is a data volume when mounted at a lane's data root, even without the label", async () => {
    const s = mutate(base, T.volume, "sir-convert-a-lot-prod-data", (i, r) => {
      i.labels = [];
      r.options.protect = false;
    });
    expect((await refused(s, "protected-data"))[0]).toContain("(data volume: mounted at the prod data root /var/lib/sir-convert-a-lot/prod)");
  });
  test("a data volume not retained on delete is refused by the gate's engine-side check", async () => {
    const s = mutate(base, T.volume, "sir-convert-a-lot-prod-data", (_i, r) => (r.options.retainOnDelete = false));
    const result = await check(s);
    expect(refusedBy(result)).toEqual(["protected-data"]);
    expect(of(result, "protected-data")[0].message).toContain("field options.retainOnDelete is false");
  });
});

describe("verification-present", () => {
  test("a lane without its GPU verification is refused", async () => {
    const [msg] = await refused(without(base, T.command, "prod-verify-gpu"), "verification-present");
    expect(msg).toContain(
      `verification-present: prod (${T.container}) field dependents (command:local:Command) is without a gpu check (commands depending on it: prod-verify-health, prod-verify-smoke)`,
    );
  });
  test("a verification that does not depend on the lane does not count", async () => {
    const s = mutate(base, T.command, "eval-verify-smoke", (_i, r) => (r.dependencies = []));
    expect((await refused(s, "verification-present"))[0]).toContain("without a smoke check");
  });
  test("the level is configurable", async () => {
    const result = await check(without(base, T.command, "eval-verify-health"), { "verification-present": "advisory" });
    expect(result.refused).toBe(false);
    expect(of(result, "verification-present").map((d) => d.level)).toEqual(["advisory"]);
  });
});

describe("api-key-secret", () => {
  test("the service's fallback key is refused", async () => {
    const [msg] = await refused(
      mutate(base, T.container, "prod", (i) => setEnv(i, "SIR_CONVERT_A_LOT_API_KEY", "dev-only-key")),
      "api-key-secret",
    );
    expect(msg).toContain(`the service's built-in fallback key "dev-only-key"`);
  });
  test("a missing or short key is refused without printing it", async () => {
    expect(
      (
        await refused(
          mutate(base, T.container, "eval", (i) => setEnv(i, "SIR_CONVERT_A_LOT_API_KEY", undefined)),
          "api-key-secret",
        )
      )[0],
    ).toContain("(unset, so the service accepts");
    const [msg] = await refused(
      mutate(base, T.container, "eval", (i) => setEnv(i, "SIR_CONVERT_A_LOT_API_KEY", "short-key")),
      "api-key-secret",
    );
    expect(msg).toContain("[secret, 9 characters]");
    expect(msg).not.toContain("short-key");
  });
  test("the key leaking into a label is refused", async () => {
    const s = mutate(base, T.container, "prod", (i) => i.labels.push({ label: "debug", value: `key=${API_KEY}` }));
    expect((await refused(s, "api-key-secret"))[0]).toContain("field labels[3].value is [contains the API key]");
  });
  test("envs passed in plain text are refused by the gate's secret check", async () => {
    const s = mutate(base, T.container, "prod", () => undefined);
    const prod = find(s, T.container, "prod");
    prod.inputs.envs = unwrapSecrets(prod.inputs.envs);
    const result = await check(s);
    expect(refusedBy(result)).toEqual(["api-key-secret"]);
    expect(of(result, "api-key-secret")[0].message).toContain("[a plain, non-secret value]");
  });
});

describe("advisory hygiene", () => {
  test("missing healthcheck, restart, log rotation and a privileged container are advisory", async () => {
    const s = mutate(base, T.container, "prod", (i) => {
      delete i.healthcheck;
      delete i.restart;
      delete i.logOpts["max-size"];
      i.privileged = true;
    });
    const result = await check(s);
    expect(result.refused).toBe(false);
    const advisory = result.diagnostics.map((d) => `${d.policyName}:${d.level}`).sort();
    expect(advisory).toEqual(["log-rotation:advisory", "no-privileged:advisory", "readyz-healthcheck:advisory", "restart-policy:advisory"]);
    expect(of(result, "restart-policy")[0].message).toContain(`restart-policy: prod (${T.container}) field restart is (unset, docker default "no")`);
  });
  test("advisory levels can be raised to mandatory", async () => {
    await refused(
      mutate(base, T.container, "eval", (i) => (i.privileged = true)),
      "no-privileged",
      { "no-privileged": "mandatory" },
    );
  });
});

test("unknown policy names and bad levels in the config are rejected", async () => {
  await expect(session.check(base, { "gpu-device": "mandatory" })).rejects.toThrow(/unknown policy "gpu-device"/);
  await expect(session.check(base, { "gpu-devices": "strict" })).rejects.toThrow(/not one of/);
  await expect(session.check(base, { "gpu-devices": { groupz: [] } })).rejects.toThrow(/unknown property "groupz"/);
});

test("an image id unknown at preview is decided from its property dependency on the runtime image", async () => {
  const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
  const s = mutate(base, T.container, "prod", (i) => (i.image = UNKNOWN));
  const result = await check(s);
  expect(result.undecided).toEqual([]);
  expect(result.diagnostics).toEqual([]);
  // The same unknown id from elsewhere (no dependency on the runtime image) is refused.
  const foreign = mutate(s, T.container, "prod", (_i, r) => (r.propertyDependencies.image = []));
  const [msg] = await refused(foreign, "immutable-image");
  expect(msg).toContain("field image is unknown at preview and not taken from the runtime image built in this stack");
});

test("a lane's data volume and profile belong to it: swapping either between the lanes is refused (issue 12)", async () => {
  const swapped = mutate(
    mutate(base, T.container, "prod", (i) => (i.volumes[0].volumeName = "sir-convert-a-lot-eval-data")),
    T.container,
    "eval",
    (i) => (i.volumes[0].volumeName = "sir-convert-a-lot-prod-data"),
  );
  const msgs = await refused(swapped, "data-root-separation");
  expect(msgs.join("\n")).toContain(
    `prod (docker:index/container:Container) field volumes[0].volumeName is "sir-convert-a-lot-eval-data" (named for lane eval)`,
  );
  const profiles = mutate(
    mutate(base, T.container, "prod", (i) => (i.command = ["pdm", "run", "serve:sir-convert-a-lot-eval"])),
    T.container,
    "eval",
    (i) => (i.command = ["pdm", "run", "serve:sir-convert-a-lot"]),
  );
  const result = await check(profiles);
  expect(result.refused).toBe(true);
  expect(
    of(result, "data-root-separation")
      .map((d) => d.message)
      .join("\n"),
  ).toContain(`field command (profile) is "eval" (lane prod)`);
});
