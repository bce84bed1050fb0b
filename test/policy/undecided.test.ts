// The gate refuses a preview in which a mandatory policy could not decide. @pulumi/policy v1.21.0
// (sdk/nodejs/policy/server.ts, the UnknownValueError branches of makeAnalyzeRpcFun and
// makeAnalyzeStackRpcFun) turns a policy that reads a value unknown at preview into an advisory
// "can't run policy ... during preview" diagnostic, which `pulumi preview` lets pass; pulumi
// v3.248.0 (pkg/resource/deploy/step_generator.go AnalyzeResources) runs stack policies again only
// after every step of `up`, i.e. after the containers were replaced.
import { UNKNOWN } from "../../gate/mockRun";
import { mutate, syntheticStack, T } from "./fixtures";
import { openPack, type PackSession } from "./packHarness";

let session: PackSession;
beforeAll(async () => {
  session = await openPack();
}, 200000);
afterAll(async () => {
  await session?.close();
});

test("a mandatory policy that cannot run at preview refuses the stack, naming it", async () => {
  // The old program's shape: the API key inside the list made the whole envs unknown on a first deploy.
  const stack = mutate(syntheticStack(), T.container, "eval", (i) => (i.envs = UNKNOWN));
  const result = await session.check(stack);
  const cannotRun = result.diagnostics.filter((d) => /^can't run policy 'gpu-first-env'/.test(d.message));
  expect(cannotRun.length).toBeGreaterThan(0);
  expect(cannotRun.every((d) => d.level === "advisory")).toBe(true);
  expect(result.diagnostics.filter((d) => d.level === "mandatory")).toEqual([]);
  expect(result.undecided).toEqual(expect.arrayContaining(["gpu-first-env", "api-key-secret", "data-root-separation"]));
  expect(result.refused).toBe(true);
  expect(result.report).toContain("could not decide at this preview");
});

test("an advisory policy that cannot run does not refuse", async () => {
  const stack = mutate(syntheticStack(), T.container, "prod", (i) => (i.restart = UNKNOWN));
  const result = await session.check(stack);
  expect(result.diagnostics.some((d) => /^can't run policy 'restart-policy'/.test(d.message))).toBe(true);
  expect(result.undecided).toEqual([]);
  expect(result.refused).toBe(false);
});
