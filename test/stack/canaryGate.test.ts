// The canary gate in the stack graph: prod's container waits on eval's whole verification (or, with
// eval disabled, on the canary) in the three preview cases, with mocks that send what the real
// engine sends at preview. How the real engine and providers turn that graph into an order:
// - pulumi/pulumi v3.248.0 sdk/nodejs/runtime/resource.ts prepareResource awaits the URNs of
//   dependsOn resources (dependsOn.ts getAllTransitivelyReferencedResourceURNs) before it sends
//   the registration; pkg/resource/deploy/source_eval.go RegisterResource answers only when the
//   step is done (`<-step.done`), so prod's step, and the delete of its old container
//   (deleteBeforeReplace), starts after eval's checks finished; a failed check makes
//   step_executor.go cancelDueToError cancel the deployment (its registration never answers, so
//   prod's is never sent), and with --continue-on-error deployment_executor.go skips every step
//   that depends on an errored one;
// - step_generator.go calculateDependentReplacements replaces a dependent of a deleted-first
//   resource only when one of its *properties* depends on it: prod's dependsOn edge is no
//   property dependency, so replacing eval never replaces prod;
// - a resource whose inputs are unchanged gets a SameStep (step_generator.go), done at once: when
//   eval's checks are not re-run (pulumi/pulumi-command v1.2.1 common/inputs.go: only a change of
//   `triggers`, the image and container ids, replaces a Command and re-runs `create`), prod's
//   wait costs nothing, so a prod-only change needs no canary;
// - at preview the engine hands back an empty id and unknown computed outputs for every resource
//   it will create or replace (the bridge's and pulumi-command's Create with preview=true run
//   nothing and compute nothing, local/commandController.go), and the old outputs for a same step.
import * as path from "node:path";
import type { RecordedResource } from "../../gate/mockRun";
import { committedConfig, effectiveConfigValue, PROGRAM_DIR, runStack, StackRun, type StackRunOptions } from "../harness/stack";
import { commandPlan, containerPlan } from "./providerModel";

const COMMAND = "command:local:Command";
const CONTAINER = "docker:index/container:Container";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const EVAL_CHECKS = ["eval-verify-health", "eval-verify-gpu", "eval-verify-smoke"];
/** Each case runs the program up to twice; on a loaded machine (2 shared cores) that takes minutes. */
const SLOW = 300_000;

type Stored = { id: string; state: Record<string, unknown>; inputsKey: string };
type PreviewCase = "first deploy" | "new revision" | "unchanged stack";

/** Config with the image already on Hemma (no build), so a revision is just config. */
function at(revision: string, extra: Record<string, unknown> = {}): StackRunOptions {
  return {
    set: {
      revision,
      image: { name: "sir-convert-a-lot-runtime", build: false, buildTimeoutMinutes: 90, keepRevisions: 5 },
      ...extra,
    },
  };
}
const OLD = "a".repeat(40);
const NEW = "b".repeat(40);

/**
 * Runs index.ts under mocks that behave like the engine: `prior` is the state of the last update
 * (undefined: empty stack). A resource whose inputs differ from its stored inputs, or carry an
 * unknown, is created/replaced: at preview it gets an empty id and unknown computed outputs. Any
 * other resource is a same step and gets its stored id and outputs back. Returns the run and the
 * state it would store (for the next case).
 */
async function runCase(
  options: StackRunOptions,
  prior: Map<string, Stored> | undefined,
  preview: boolean,
): Promise<{ run: StackRun; stored: Map<string, Stored> }> {
  const stored = new Map<string, Stored>();
  let result: import("../../gate/mockRun").MockRunResult | undefined;
  let runner: typeof import("../../gate/mockRun") | undefined;
  await jest.isolateModulesAsync(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    runner = require("../../gate/mockRun") as typeof import("../../gate/mockRun");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const output = require("@pulumi/pulumi/output") as { isUnknown(v: unknown): boolean; unknown: unknown };
    const echo = runner.echoMocks;
    const keyOf = (v: unknown): string => JSON.stringify(v, (_k, x) => (output.isUnknown(x) ? UNKNOWN : x));
    result = await runner.runProgramUnderMocks({
      programDir: PROGRAM_DIR,
      stack: "hemma",
      config: committedConfig(options),
      preview,
      mocks: {
        newResource(args) {
          const key = `${args.type}::${args.name}`;
          const inputsKey = keyOf(args.inputs);
          const old = prior?.get(key);
          if (old && old.inputsKey === inputsKey) {
            stored.set(key, old);
            return { id: old.id, state: old.state };
          }
          const made = echo.newResource(args) as { id: string; state: Record<string, unknown> };
          if (!preview) {
            stored.set(key, { id: made.id, state: made.state, inputsKey });
            return made;
          }
          // Create/replace at preview: no id, computed outputs unknown.
          const computed = Object.keys(made.state).filter((k) => !(k in args.inputs));
          const state = { ...args.inputs, ...Object.fromEntries(computed.map((k) => [k, output.unknown])) };
          return { id: "", state };
        },
        call: echo.call,
      },
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loadProgram: () => require(path.join(PROGRAM_DIR, "index.ts")),
    });
  });
  return { run: new StackRun(result!, runner!), stored };
}

/** The three preview cases of the real-engine issue, each with the state it previews against. */
async function previewCase(kind: PreviewCase, extra: Record<string, unknown> = {}) {
  if (kind === "first deploy") return { prior: undefined, now: (await runCase(at(NEW, extra), undefined, true)).run };
  const last = await runCase(at(OLD, extra), undefined, false);
  const now = await runCase(at(kind === "new revision" ? NEW : OLD, extra), last.stored, true);
  return { prior: last.run, now: now.run };
}

function urnsOf(run: StackRun, names: string[]): string[] {
  return names.map((n) => run.named(COMMAND, n).urn);
}

function hasUnknown(value: unknown): boolean {
  return JSON.stringify(value).includes(UNKNOWN);
}

/** The engine's plan for a command, given its stored inputs (undefined: it is created). */
function planOf(prior: StackRun | undefined, now: StackRun, type: string, name: string): string {
  const next = now.plain(now.named(type, name));
  if (!prior) return "create";
  const old = prior.plain(prior.named(type, name));
  if (type === COMMAND) return commandPlan(old, next);
  const r: RecordedResource = now.named(type, name);
  return containerPlan(old, { inputs: next, replaceOnChanges: r.options.replaceOnChanges });
}

describe("canary gate: prod's container waits on eval's verification", () => {
  const cases: PreviewCase[] = ["first deploy", "new revision", "unchanged stack"];
  const runs = new Map<PreviewCase, { prior?: StackRun; now: StackRun }>();
  beforeAll(async () => {
    for (const c of cases) runs.set(c, await previewCase(c));
  }, SLOW);

  test.each(cases)("%s: prod's container depends on eval's health, gpu and smoke commands", (c) => {
    const { now } = runs.get(c)!;
    const prod = now.named(CONTAINER, "prod");
    expect(prod.dependencies).toEqual(expect.arrayContaining(urnsOf(now, EVAL_CHECKS)));
    // A dependsOn edge, not a property dependency: eval's replacement never replaces prod.
    const evalUrns = [...urnsOf(now, EVAL_CHECKS), now.named(CONTAINER, "eval").urn];
    expect(
      Object.values(prod.propertyDependencies)
        .flat()
        .filter((u) => evalUrns.includes(u)),
    ).toEqual([]);
    // And eval does not wait on prod.
    expect(now.named(CONTAINER, "eval").dependencies).not.toContain(prod.urn);
  });

  test("first deploy: every id is unknown; eval's checks are created, so prod waits for them", () => {
    const { now } = runs.get("first deploy")!;
    for (const name of EVAL_CHECKS) {
      expect(hasUnknown(now.named(COMMAND, name).inputs.triggers)).toBe(true);
      expect(planOf(undefined, now, COMMAND, name)).toBe("create");
    }
    expect(hasUnknown(now.named(CONTAINER, "prod").inputs.image)).toBe(true);
  });

  test("new revision: the image id is unknown, eval's checks are replaced (they run) before prod is replaced", () => {
    const { prior, now } = runs.get("new revision")!;
    expect(hasUnknown(now.named(CONTAINER, "eval").inputs.image)).toBe(true);
    for (const name of EVAL_CHECKS) {
      const triggers = now.named(COMMAND, name).inputs.triggers as unknown[];
      expect(triggers.map((t) => t === UNKNOWN)).toEqual([true, true]);
      expect(planOf(prior, now, COMMAND, name)).toBe("replace");
    }
    expect(planOf(prior, now, CONTAINER, "eval")).toBe("replace");
    expect(planOf(prior, now, CONTAINER, "prod")).toBe("replace");
  });

  test("unchanged stack: eval's checks are same steps (no canary run), the dependency is still there", () => {
    const { prior, now } = runs.get("unchanged stack")!;
    for (const name of EVAL_CHECKS) {
      expect(hasUnknown(now.named(COMMAND, name).inputs.triggers)).toBe(false);
      expect(planOf(prior, now, COMMAND, name)).toBe("same");
    }
    expect(planOf(prior, now, CONTAINER, "prod")).toBe("same");
  });

  test(
    "a prod-only change needs no canary: prod is replaced, eval's checks stay same steps",
    async () => {
      const last = await runCase(at(OLD), undefined, false);
      const prodOnly = at(OLD);
      const lanes = effectiveConfigValue("lanes");
      prodOnly.set!.lanes = { ...lanes, prod: { ...lanes.prod, hostPort: 28095 } };
      const now = (await runCase(prodOnly, last.stored, true)).run;
      expect(planOf(last.run, now, CONTAINER, "prod")).toBe("replace");
      for (const name of EVAL_CHECKS) expect(planOf(last.run, now, COMMAND, name)).toBe("same");
      expect(planOf(last.run, now, CONTAINER, "eval")).toBe("same");
      // prod's own checks re-run against the new container.
      expect(hasUnknown(now.named(COMMAND, "prod-verify-health").inputs.triggers)).toBe(true);
    },
    SLOW,
  );

  test(
    "no verification, no gate: prod waits on nothing it cannot prove",
    async () => {
      const { now } = await previewCase("first deploy", { verification: { enabled: false } });
      expect(now.named(CONTAINER, "prod").dependencies.filter((u) => u.includes("Command"))).toEqual([]);
      expect((now.result.outputs as any).canary.gate).toBe("none");
    },
    SLOW,
  );

  test("the gate is a stack output", () => {
    expect((runs.get("unchanged stack")!.now.result.outputs as any).canary.gate).toBe("eval");
  });
});

describe("canary gate with eval disabled: a short-lived canary stands in", () => {
  const evalOff = (): Record<string, unknown> => {
    const lanes = effectiveConfigValue("lanes");
    return { lanes: { ...lanes, eval: { ...lanes.eval, enabled: false } } };
  };
  const cases: PreviewCase[] = ["first deploy", "new revision", "unchanged stack"];
  const runs = new Map<PreviewCase, { prior?: StackRun; now: StackRun }>();
  beforeAll(async () => {
    for (const c of cases) runs.set(c, await previewCase(c, evalOff()));
  }, SLOW);

  test.each(cases)("%s: no eval lane; prod's container depends on the canary command", (c) => {
    const { now } = runs.get(c)!;
    expect(now.ofType(CONTAINER).map((r) => r.name)).toEqual(["prod"]);
    const canary = now.named(COMMAND, "canary-verify");
    expect(now.named(CONTAINER, "prod").dependencies).toContain(canary.urn);
    expect(canary.parent).toBe(now.named("sir-convert-a-lot:hemma:Canary", "canary").urn);
    expect((now.result.outputs as any).canary.gate).toBe("canary");
  });

  test("the canary runs when the image changes and only then", () => {
    expect(planOf(undefined, runs.get("first deploy")!.now, COMMAND, "canary-verify")).toBe("create");
    const rev = runs.get("new revision")!;
    expect(rev.now.named(COMMAND, "canary-verify").inputs.triggers).toEqual([UNKNOWN]);
    expect(planOf(rev.prior, rev.now, COMMAND, "canary-verify")).toBe("replace");
    const same = runs.get("unchanged stack")!;
    expect(planOf(same.prior, same.now, COMMAND, "canary-verify")).toBe("same");
  });

  test("its create is known at preview, uses its own scratch volume and never a lane's data volume", () => {
    const { now } = runs.get("new revision")!;
    const canary = now.named(COMMAND, "canary-verify");
    expect(typeof canary.inputs.create).toBe("string");
    const create = now.plain(canary).create as string;
    expect(create).toContain("sir-convert-a-lot-canary-scratch");
    expect(create).not.toContain("sir-convert-a-lot-prod-data");
    expect(create).not.toContain("sir-convert-a-lot-eval-data");
    expect(create).not.toContain("28085");
    const env = canary.inputs.environment as Record<string, unknown>;
    expect(now.isSecret(env.SIR_CONVERT_A_LOT_API_KEY)).toBe(true);
    expect(env.SIR_CONVERT_A_LOT_CANARY_IMAGE).toBe(UNKNOWN);
  });

  test("data volumes keep their protection", () => {
    const { now } = runs.get("unchanged stack")!;
    for (const r of now.ofType("docker:index/volume:Volume").filter((v) => /-(prod|eval)-data$/.test(v.name))) {
      expect(r.options.protect).toBe(true);
      expect(r.options.retainOnDelete).toBe(true);
    }
  });
});

describe("the policy pack accepts the gate", () => {
  test(
    "a stack with eval disabled (prod plus the canary) passes the pack with no violation",
    async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { openPack } = require("../policy/packHarness") as typeof import("../policy/packHarness");
      const lanes = effectiveConfigValue("lanes");
      // Known values (as the committed-stack pack test uses): this judges the registrations, not unknowns.
      const run = await runStack({ preview: true, set: { lanes: { ...lanes, eval: { ...lanes.eval, enabled: false } } } });
      expect(run.ofType(COMMAND).map((c) => c.name)).toContain("canary-verify");
      const session = await openPack();
      try {
        const result = await session.check(run.resources);
        expect(result.diagnostics).toEqual([]);
        expect(result.refused).toBe(false);
      } finally {
        await session.close();
      }
    },
    SLOW,
  );
});

describe("config the canary could hurt", () => {
  test(
    "a lane container named like the canary fails before any resource is registered",
    async () => {
      const lanes = effectiveConfigValue("lanes");
      const registered: string[] = [];
      await expect(
        runStack(
          { set: { lanes: { ...lanes, eval: { ...lanes.eval, containerName: "sir_convert_a_lot_canary" } } } },
          (r) => r.type !== "pulumi:pulumi:Stack" && registered.push(r.name),
        ),
      ).rejects.toThrow(/canary's own name/);
      expect(registered).toEqual([]);
    },
    SLOW,
  );
});
