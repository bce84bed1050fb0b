// Config parsing: defaults from the contract, every rule with bad input, one error listing every
// bad key with its (redacted if secret) value, and the source checkout rules.
import * as fs from "node:fs";
import * as path from "node:path";
import { createScratchCheckout } from "../../gate/scratchCheckout";
import { ConfigError, loadStackConfig } from "../../lib/config/load";
import { committedConfig, NS, runStack } from "../harness/stack";

const checkout = createScratchCheckout();
afterAll(() => checkout.remove());

function load(values: Record<string, unknown>) {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries({ source: { path: checkout.dir }, ...values })) {
    raw[`${NS}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return loadStackConfig({ raw, project: NS, stack: "hemma", projectDir: process.cwd() });
}

function issuesOf(values: Record<string, unknown>): ConfigError["issues"] {
  try {
    load(values);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("config was accepted");
}

function reasonFor(values: Record<string, unknown>, key: string): string {
  const issue = issuesOf(values).find((i) => i.key === key);
  if (!issue) throw new Error(`no issue for ${key}: ${JSON.stringify(issuesOf(values))}`);
  return issue.reason;
}

describe("defaults", () => {
  test("an empty config takes the contract's defaults and the checkout's HEAD", () => {
    const cfg = load({});
    expect(cfg.revision).toBe(checkout.head);
    expect(cfg.dockerHost).toBe("ssh://hemma");
    expect(cfg.bindAddress).toBe("127.0.0.1");
    expect(cfg.image).toEqual({ name: "sir-convert-a-lot-runtime", build: true, buildTimeoutMinutes: 90, keepRevisions: 5 });
    expect(cfg.container.daemonLogOpts).toEqual({});
    expect(cfg.gpu).toEqual({ devices: ["/dev/kfd", "/dev/dri"], groups: ["video", "render"] });
    expect(cfg.lanes.prod).toMatchObject({
      containerName: "sir_convert_a_lot_prod",
      profile: "prod",
      containerPort: 8085,
      hostPort: 28085,
      dataVolume: "sir-convert-a-lot-prod-data",
      enabled: true,
    });
    expect(cfg.lanes.eval).toMatchObject({
      containerName: "sir_convert_a_lot_eval",
      profile: "eval",
      containerPort: 8086,
      hostPort: 28086,
      dataVolume: "sir-convert-a-lot-eval-data",
    });
    expect(cfg.torch.torchVersion).toBe("2.10.0+rocm7.1");
    expect(cfg.apiKey).toBeUndefined();
  });

  test("the committed Pulumi.hemma.yaml parses", () => {
    const raw = committedConfig();
    expect(() => loadStackConfig({ raw, project: NS, stack: "hemma" })).not.toThrow();
  });
});

describe("rules", () => {
  test.each([
    ["revision", "abc123", "revision", /40-character/],
    ["torch", { torchVersion: "2.10.0+cu128" }, "torch.torchVersion", /\+rocm/],
    ["torch", { torchvisionVersion: "0.25.0" }, "torch.torchvisionVersion", /\+rocm/],
    ["torch", { torchaudioVersion: "2.10.0+cpu" }, "torch.torchaudioVersion", /\+rocm/],
    ["torch", { indexUrl: "https://download.pytorch.org/whl/cu128" }, "torch.indexUrl", /ROCm wheel index/],
    ["bindAddress", "localhost", "bindAddress", /must be an IPv4 address/],
    ["dockerHost", "hemma", "dockerHost", /docker host URL/],
    ["dockerHost", "ssh://me:pw@hemma", "dockerHost", /passwords are not supported/],
    ["sshOpts", ["-i", "/key"], "sshOpts", /only ssh -o options are supported/],
    ["sshOpts", ["-o"], "sshOpts", /only ssh -o options/],
    ["gpu", { devices: ["kfd"] }, "gpu.devices.0", /must be a GPU device node/],
    ["gpu", { groups: ["Video Group"] }, "gpu.groups.0", /group name or a numeric GID/],
    ["lanes", { prod: { hostPort: 70000 }, eval: {} }, "lanes.prod.hostPort", /<=65535/],
    ["lanes", { prod: { profile: "staging" }, eval: {} }, "lanes.prod.profile", /prod|eval/],
    ["lanes", { prod: { dataVolume: "bad name!" }, eval: {} }, "lanes.prod.dataVolume", /docker object name/],
    ["container", { waitTimeoutSeconds: 1 }, "container.waitTimeoutSeconds", /10/],
    ["image", { keepRevisions: 0 }, "image.keepRevisions", /1/],
    ["image", { builder: "kaniko" }, "image.builder", /buildx|legacy/],
    ["image", { buildTimeoutMinutes: 10 }, "image.buildTimeoutMinutes", /20/],
    ["image", { buildTimeoutMinutes: 2000 }, "image.buildTimeoutMinutes", /1440/],
    ["container", { daemonLogOpts: { "max-buffer-size": ["4m"] } }, "container.daemonLogOpts.max-buffer-size", /string|number|boolean|Invalid/],
    ["container", { daemonLogOpts: { "Bad Key": "x" } }, "container.daemonLogOpts.Bad Key", /log-opt name/],
  ])("%s = %j is refused", (key, value, issueKey, reason) => {
    expect(reasonFor({ [key]: value }, issueKey)).toMatch(reason);
  });

  test("daemon log-opts that `pulumi config set --path` stored as numbers are docker's strings", () => {
    expect(load({ container: { daemonLogOpts: { "max-file": 3, compress: true } } }).container.daemonLogOpts).toEqual({ "max-file": "3", compress: "true" });
  });

  test("prod and eval may not share a data volume, host port or container name", () => {
    const issues = issuesOf({
      lanes: {
        prod: {},
        eval: { dataVolume: "sir-convert-a-lot-prod-data", hostPort: 28085, containerName: "sir_convert_a_lot_prod" },
      },
    });
    expect(issues.map((i) => i.key).sort()).toEqual(["lanes.eval.containerName", "lanes.eval.dataVolume", "lanes.eval.hostPort"]);
    expect(issues[0].reason).toMatch(/must differ from lanes\.prod/);
  });

  test("a data volume may not be the model cache", () => {
    expect(reasonFor({ lanes: { prod: { dataVolume: "sir-convert-a-lot-model-cache" }, eval: {} } }, "lanes.prod.dataVolume")).toMatch(/modelCache/);
  });

  test("unknown keys are named, at the top level and nested", () => {
    const issues = issuesOf({ dockerhost: "ssh://x", lanes: { prod: { hostport: 1 }, eval: {} } });
    expect(issues.find((i) => i.key === "dockerhost")?.reason).toMatch(/unknown key/);
    expect(issues.find((i) => i.key === "lanes.prod")?.reason).toMatch(/hostport/);
  });

  test("structured keys must hold structured values", () => {
    const raw = { [`${NS}:lanes`]: "{not json", [`${NS}:source`]: JSON.stringify({ path: checkout.dir }) };
    expect(() => loadStackConfig({ raw, project: NS, stack: "hemma" })).toThrow(/lanes = "\{not json": is not valid structured config/);
  });

  test("the service's fallback API key is refused and never echoed", () => {
    const error = (() => {
      try {
        load({ apiKey: "dev-only-key" });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("accepted");
    })();
    expect(error.message).toMatch(/apiKey = \[secret\]: .*fallback key/);
    expect(error.message).not.toContain("dev-only-key");
  });

  test("short API keys are refused without echoing them", () => {
    const issues = issuesOf({ apiKey: "short-key" });
    expect(issues).toEqual([{ key: "apiKey", value: "[secret]", reason: "must be at least 24 characters" }]);
  });

  test("image.build=false needs an explicit revision", () => {
    expect(reasonFor({ image: { build: false } }, "revision")).toMatch(/required when image.build is false/);
  });

  test("every bad key is listed in one message", () => {
    const issues = issuesOf({ revision: "nope", bindAddress: "0.0.0.0.0", torch: { torchVersion: "2.10.0+cu128" }, typo: 1 });
    expect(issues.map((i) => i.key).sort()).toEqual(["bindAddress", "revision", "torch.torchVersion", "typo"]);
    try {
      load({ revision: "nope", bindAddress: "0.0.0.0.0", torch: { torchVersion: "2.10.0+cu128" }, typo: 1 });
    } catch (e) {
      expect((e as Error).message).toMatch(/^Invalid stack configuration \(4 problems\):/);
      expect((e as Error).message).toContain('revision = "nope"');
    }
  });
});

describe("source checkout", () => {
  test("a revision other than HEAD is refused unless overridden", () => {
    const other = "f".repeat(40);
    expect(reasonFor({ revision: other }, "revision")).toMatch(new RegExp(`not the checkout's HEAD \\(${checkout.head}\\).*image.build=false`));
    expect(load({ revision: other, source: { path: checkout.dir, allowRevisionMismatch: true } }).revision).toBe(other);
  });

  test("a dirty tree is refused unless overridden", () => {
    const dirty = createScratchCheckout();
    try {
      fs.writeFileSync(path.join(dirty.dir, "Dockerfile"), "FROM scratch\n");
      const raw = { [`${NS}:source`]: JSON.stringify({ path: dirty.dir }) };
      expect(() => loadStackConfig({ raw, project: NS, stack: "hemma" })).toThrow(/uncommitted changes \( M Dockerfile\)/);
      const allowed = { [`${NS}:source`]: JSON.stringify({ path: dirty.dir, allowDirty: true }) };
      expect(loadStackConfig({ raw: allowed, project: NS, stack: "hemma" }).revision).toBe(dirty.head);
    } finally {
      dirty.remove();
    }
  });

  test("a missing checkout says how to fix it", () => {
    expect(reasonFor({ source: { path: "/nonexistent/sir" } }, "source.path")).toMatch(/no such directory.*image.build=false/);
  });

  test("a directory that is not a git checkout is refused", () => {
    const dir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "not-git-"));
    try {
      expect(reasonFor({ source: { path: dir } }, "source.path")).toMatch(/not a git checkout/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

describe("in the program", () => {
  test("a bad config fails before any resource is registered", async () => {
    const registered: string[] = [];
    const failure = runStack({ set: { bindAddress: "nope", revision: "xyz" } }, (r) => registered.push(r.type));
    await expect(failure).rejects.toThrow(/Invalid stack configuration \(2 problems\)/);
    const error = await failure.catch((e: unknown) => e);
    // RunError: Pulumi prints the message without a stack trace.
    expect((error as { __pulumiRunError?: boolean }).__pulumiRunError).toBe(true);
    expect(registered).toEqual(["pulumi:pulumi:Stack"]);
  });

  test("an API key stored in plain config is refused", async () => {
    await expect(runStack({ set: { apiKey: "p".repeat(30) } })).rejects.toThrow(/apiKey = \[secret\]: is stored in plain text/);
  });
});

describe("mandatory policy invariants, shared with the pack (policy/policies/invariants.ts)", () => {
  test("swapping the lanes' data volumes is refused (issue 12)", () => {
    const issues = issuesOf({ lanes: { prod: { dataVolume: "sir-convert-a-lot-eval-data" }, eval: { dataVolume: "sir-convert-a-lot-prod-data" } } });
    expect(issues.map((i) => i.key).sort()).toEqual(["lanes.eval.dataVolume", "lanes.prod.dataVolume"]);
    expect(issues[0].reason).toMatch(/named for lane (prod|eval)/);
  });
  test("swapping the lanes' profiles is refused (issue 12)", () => {
    const issues = issuesOf({ lanes: { prod: { profile: "eval" }, eval: { profile: "prod" } } });
    expect(issues.map((i) => i.key).sort()).toEqual(["lanes.eval.profile", "lanes.prod.profile"]);
  });
  test("numeric GIDs in gpu.groups pass with no policy setting (issue 11); one GID cannot stand for both groups", () => {
    expect(load({ gpu: { groups: ["44", "992"] } }).gpu.groups).toEqual(["44", "992"]);
    expect(reasonFor({ gpu: { groups: ["992"] } }, "gpu.groups")).toContain("missing render");
  });
  test("a GPU device list without /dev/kfd is refused", () => {
    expect(reasonFor({ gpu: { devices: ["/dev/dri"] } }, "gpu.devices")).toContain("missing /dev/kfd");
  });
  test("a non-loopback bind address is refused", () => {
    expect(reasonFor({ bindAddress: "0.0.0.0" }, "bindAddress")).toContain("bind 127.0.0.1 or ::1");
  });
  test("ROCm pins mixing ROCm versions are refused", () => {
    expect(reasonFor({ torch: { torchVersion: "2.10.0+rocm6.4" } }, "torch")).toContain("mixing ROCm versions");
  });
  test("an eval CPU decision not recorded in the pack config is refused", () => {
    expect(reasonFor({ evalCpu: { cpuOnlyDecision: "ADR-0007" } }, "evalCpu.cpuOnlyDecision")).toContain(`"gpu-first-env": {"evalCpuDecision": "ADR-0007"}`);
  });
});
