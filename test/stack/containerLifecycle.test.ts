// Lane containers across two `pulumi up`s, judged by the real engine's and provider's rules
// (see providerModel.ts for each source):
// - resource_docker_container_funcs.go@v4.5.0 create: d.SetId(container) before the `wait` health
//   loop; a failed wait returns an error with the id set, the bridge (pulumi-terraform-bridge
//   pkg/tfbridge/provider.go Create -> initializationError) stores it with init errors, and
//   step_generator.go@v3.248.0 then plans an empty update (pulumi/pulumi#21458) unless a
//   replaceOnChanges path covers `#initerror`;
// - healthcheck is not ForceNew (resource_docker_container.go) and resourceDockerContainerUpdate
//   never applies it;
// - log_opts is ForceNew and the read after create stores what the daemon reports, daemon.json's
//   default log-opts included.

import type { RecordedResource } from "../../gate/mockRun";
import { runStack, type StackRun } from "../harness/stack";
import { appliedByContainerUpdate, changedKeys, containerPlan, containerStateAfterCreate, type DaemonModel, PLAIN_DAEMON } from "./providerModel";

const CONTAINER = "docker:index/container:Container";

function goal(run: StackRun, lane: string): { inputs: Record<string, any>; replaceOnChanges: string[] } {
  const c: RecordedResource = run.named(CONTAINER, lane);
  return { inputs: run.plain(c), replaceOnChanges: c.options.replaceOnChanges };
}

describe("lane container lifecycle", () => {
  let run: StackRun;
  beforeAll(async () => {
    run = await runStack();
  });

  test.each(["prod", "eval"])("%s: an unchanged stack plans no change", (lane) => {
    const g = goal(run, lane);
    expect(containerPlan(containerStateAfterCreate(g.inputs, PLAIN_DAEMON), g)).toBe("same");
  });

  test.each(["prod", "eval"])("%s: a container that failed its health wait is replaced on the next up of the same revision", (lane) => {
    const g = goal(run, lane);
    const stored = containerStateAfterCreate(g.inputs, PLAIN_DAEMON);
    expect(containerPlan(stored, g, /* hasInitErrors */ true)).toBe("replace");
  });

  test.each(["prod", "eval"])("%s: a changed healthcheck replaces the container (an update would never apply it)", (lane) => {
    const g = goal(run, lane);
    const stored = containerStateAfterCreate({ ...g.inputs, healthcheck: { ...g.inputs.healthcheck, interval: "60s" } }, PLAIN_DAEMON);
    expect(changedKeys(stored, g.inputs)).toEqual(["healthcheck"]);
    expect(appliedByContainerUpdate(["healthcheck"])).toEqual([]);
    expect(containerPlan(stored, g)).toBe("replace");
  });

  test("a restart-policy-only change still reaches the container", () => {
    const g = goal(run, "prod");
    const stored = containerStateAfterCreate({ ...g.inputs, restart: "always" }, PLAIN_DAEMON);
    expect(containerPlan(stored, g)).not.toBe("same");
  });
});

describe("daemon default log-opts (daemon.json)", () => {
  const hemma: DaemonModel = { logDriver: "json-file", logOpts: { "max-buffer-size": "4m", mode: "non-blocking" } };

  test("undeclared daemon defaults make every up replace both lanes (what the preview check catches)", async () => {
    const run = await runStack();
    for (const lane of ["prod", "eval"]) {
      const g = goal(run, lane);
      expect(containerPlan(containerStateAfterCreate(g.inputs, hemma), g)).toBe("replace");
    }
  });

  test("declaring them in container.daemonLogOpts plans zero changes on an unchanged stack", async () => {
    const run = await runStack({ set: { container: { daemonLogOpts: hemma.logOpts } } });
    for (const lane of ["prod", "eval"]) {
      const g = goal(run, lane);
      expect(g.inputs.logOpts).toEqual({ "max-buffer-size": "4m", mode: "non-blocking", "max-size": "50m", "max-file": "5" });
      expect(containerPlan(containerStateAfterCreate(g.inputs, hemma), g)).toBe("same");
    }
  });

  test("the stack's own rotation wins over a daemon default of the same key", async () => {
    const run = await runStack({ set: { container: { daemonLogOpts: { "max-size": "10m" } } } });
    expect(goal(run, "prod").inputs.logOpts).toEqual({ "max-size": "50m", "max-file": "5" });
  });
});
