// The real program (index.ts with the committed Pulumi.hemma.yaml, under mocks) through the real
// pack, in each of the three previews the engine runs (first deploy, new revision, unchanged stack;
// gate/mockRun.ts sends unknowns where pulumi v3.248.0 does): the committed stack passes with every
// mandatory policy decided, and each dangerous change to its registrations or config is refused by
// the policy that owns it, as a mandatory decision at preview (never the advisory "can't run policy
// during preview" that @pulumi/policy v1.21.0 server.ts reports for a policy touching an unknown).
import type { PreviewCase, RecordedResource } from "../../gate/mockRun";
import { PREVIEW_CASES, UNKNOWN, unwrapSecrets } from "../../gate/mockRun";
import { runStack } from "../harness/stack";
import { find, mutate, setEnv, T } from "./fixtures";
import { of, openPack, type PackSession, refusedBy } from "./packHarness";

let session: PackSession;
const stacks = {} as Record<PreviewCase, RecordedResource[]>;
let generatedKey: string;

beforeAll(async () => {
  const pack = openPack();
  // One program run at a time (each runs in its own module registry).
  for (const c of PREVIEW_CASES) stacks[c] = (await runStack({ preview: true, previewCase: c })).resources;
  session = await pack;
  generatedKey = apiKeyOf(stacks.unchanged);
}, 300000);
afterAll(async () => {
  await session?.close();
});

function apiKeyOf(resources: RecordedResource[]): string {
  const envs = unwrapSecrets(find(resources, T.container, "prod").inputs.envs) as string[];
  return envs.find((e) => e.startsWith("SIR_CONVERT_A_LOT_API_KEY="))!.split("=")[1];
}

async function refusal(resources: RecordedResource[], config?: Record<string, unknown>) {
  const result = await session.check(resources, config);
  expect(result.report).not.toContain(generatedKey);
  return result;
}

describe.each(PREVIEW_CASES)("at a %s preview", (previewCase) => {
  const committed = () => stacks[previewCase];

  test("the unknowns are where the engine has them", () => {
    const prod = find(committed(), T.container, "prod");
    const imageUnknown = JSON.stringify(prod.inputs.image).includes(UNKNOWN);
    const keyUnknown = JSON.stringify(prod.inputs.envs).includes(UNKNOWN);
    const triggersUnknown = committed()
      .filter((r) => r.type === T.command)
      .every((r) => JSON.stringify(r.inputs.triggers).includes(UNKNOWN));
    expect({ imageUnknown, keyUnknown, triggersUnknown }).toEqual(
      {
        "first-deploy": { imageUnknown: true, keyUnknown: true, triggersUnknown: true },
        "new-revision": { imageUnknown: true, keyUnknown: false, triggersUnknown: true },
        unchanged: { imageUnknown: false, keyUnknown: false, triggersUnknown: false },
      }[previewCase],
    );
  });

  test("the committed stack registers both lanes, its image, volumes and verification", () => {
    const types = committed().map((r) => `${r.type}/${r.name}`);
    expect(types).toEqual(
      expect.arrayContaining([
        `${T.image}/runtime-image`,
        `${T.container}/prod`,
        `${T.container}/eval`,
        `${T.volume}/sir-convert-a-lot-prod-data`,
        `${T.volume}/sir-convert-a-lot-eval-data`,
      ]),
    );
    expect(committed().filter((r) => r.type === T.command)).toHaveLength(6);
  });

  test("the committed stack passes the pack with no violation at all", async () => {
    const result = await refusal(committed());
    expect(result.undecided).toEqual([]);
    expect(result.diagnostics).toEqual([]);
    expect(result.refused).toBe(false);
  });

  const mutations: [string, string, () => RecordedResource[]][] = [
    [
      "give prod the service's fallback key",
      "api-key-secret",
      () => mutate(committed(), T.container, "prod", (i) => setEnv(i, "SIR_CONVERT_A_LOT_API_KEY", "dev-only-key")),
    ],
    [
      "set the eval CPU unlock without a recorded decision",
      "gpu-first-env",
      () => mutate(committed(), T.container, "eval", (i) => setEnv(i, "SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY", "1")),
    ],
    [
      "mount eval's data volume in prod and prod's in eval",
      "data-root-separation",
      () =>
        mutate(
          mutate(committed(), T.container, "prod", (i) => (i.volumes[0].volumeName = "sir-convert-a-lot-eval-data")),
          T.container,
          "eval",
          (i) => (i.volumes[0].volumeName = "sir-convert-a-lot-prod-data"),
        ),
    ],
    ["drop the eval smoke verification", "verification-present", () => committed().filter((r) => r.name !== "eval-verify-smoke")],
    [
      "drop /dev/kfd from prod",
      "gpu-devices",
      () => mutate(committed(), T.container, "prod", (i) => (i.devices = i.devices.filter((d: any) => d.hostPath !== "/dev/kfd"))),
    ],
    ["bind prod on 0.0.0.0", "loopback-only", () => mutate(committed(), T.container, "prod", (i) => (i.ports[0].ip = "0.0.0.0"))],
    [
      "share the prod data volume with eval",
      "data-root-separation",
      () =>
        mutate(committed(), T.container, "eval", (i) => {
          const data = i.volumes.find((v: any) => v.containerPath === "/var/lib/sir-convert-a-lot/eval");
          data.volumeName = "sir-convert-a-lot-prod-data";
        }),
    ],
    [
      "pin torch to a CUDA wheel",
      "rocm-torch-pins",
      () => mutate(committed(), T.image, "runtime-image-build", (i) => (i.build.buildArgs.SIR_CONVERT_A_LOT_TORCH_VERSION = "2.10.0+cu128")),
    ],
    [
      "tag the runtime image latest",
      "immutable-image",
      () => mutate(committed(), T.image, "runtime-image", (i) => (i.name = "sir-convert-a-lot-runtime:latest")),
    ],
    [
      "unprotect the prod data volume",
      "protected-data",
      () => mutate(committed(), T.volume, "sir-convert-a-lot-prod-data", (_i, r) => (r.options.protect = false)),
    ],
    [
      "set a CPU unlock variable on prod",
      "gpu-first-env",
      () => mutate(committed(), T.container, "prod", (i) => setEnv(i, "SIR_CONVERT_A_LOT_ALLOW_CPU_ONLY", "1")),
    ],
  ];

  test.each(mutations)("%s is refused by %s", async (_what, policy, make) => {
    const result = await refusal(make());
    expect(result.undecided).toEqual([]);
    expect(result.refused).toBe(true);
    expect(refusedBy(result)).toEqual([policy]);
    expect(of(result, policy)[0].message).toMatch(new RegExp(`^.*\\n${policy}: \\S+ \\(\\S+\\) field .+ is .+; .+`));
  });

  test("an eval CPU decision in stack config is refused by the program itself until the pack config records it", async () => {
    // The program checks it before registering anything (policy/policies/invariants.ts, shared with
    // gpu-first-env), so a hand-run `pulumi up` without --policy-pack refuses it too.
    await expect(runStack({ preview: true, previewCase, set: { evalCpu: { cpuOnlyDecision: "ADR-0007" } } })).rejects.toThrow(
      /evalCpu\.cpuOnlyDecision = "ADR-0007": .*"gpu-first-env": \{"evalCpuDecision": "ADR-0007"\}/,
    );
    // The pack: eval's CPU unlock passes only with the decision recorded in the pack config.
    const unlocked = mutate(committed(), T.container, "eval", (i) => setEnv(i, "SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY", "1"));
    expect(refusedBy(await refusal(unlocked))).toEqual(["gpu-first-env"]);
    const recorded = await refusal(unlocked, { "gpu-first-env": { evalCpuDecision: "ADR-0007" } });
    expect(recorded.undecided).toEqual([]);
    expect(recorded.diagnostics).toEqual([]);
  });

  test("swapping the lanes' data volumes in config is refused by the program (issue 12)", async () => {
    await expect(
      runStack({
        preview: true,
        previewCase,
        set: {
          lanes: {
            prod: { dataVolume: "sir-convert-a-lot-eval-data" },
            eval: { dataVolume: "sir-convert-a-lot-prod-data" },
          },
        },
      }),
    ).rejects.toThrow(/lanes\.prod\.dataVolume .*named for lane eval/);
  });
});
