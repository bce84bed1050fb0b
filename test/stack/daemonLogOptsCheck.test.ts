// The preview-time check for daemon.json's default log-opts (lib/daemonLogOpts.ts), against a
// stand-in docker that answers `container inspect --format '{{json .HostConfig.LogConfig}}'` as
// the Engine API does: the container's own opts plus the daemon's defaults for its default driver
// (what resource_docker_container_funcs.go@v4.5.0 then stores as log_opts, a ForceNew argument).
import { checkDaemonLogOpts, type DockerRunner, describeLogOptsDrift, findLogOptsDrift, laneLogOpts } from "../../lib/daemonLogOpts";
import { containerStateAfterCreate, type DaemonModel } from "./providerModel";

function fakeDocker(daemon: DaemonModel, running: Record<string, Record<string, string>>): DockerRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    where: "ssh hemma",
    calls,
    run: async (args) => {
      calls.push(args);
      const name = args[args.length - 1];
      const declared = running[name];
      if (!declared) return { code: 1, stdout: "", stderr: `Error: No such container: ${name}\n` };
      const state = containerStateAfterCreate({ logDriver: "json-file", logOpts: declared }, daemon);
      return { code: 0, stdout: `${JSON.stringify({ Type: "json-file", Config: state.logOpts })}\n`, stderr: "" };
    },
  };
}

const NAMES = ["sir_convert_a_lot_prod", "sir_convert_a_lot_eval"];
const hemma: DaemonModel = { logDriver: "json-file", logOpts: { "max-buffer-size": "4m", mode: "non-blocking" } };

test("undeclared daemon defaults on running lanes are found, with the config commands that fix them", async () => {
  const declared = laneLogOpts({}, "50m", 5);
  const docker = fakeDocker(hemma, { [NAMES[0]]: declared, [NAMES[1]]: declared });
  const drift = await findLogOptsDrift(docker, NAMES, declared);
  expect(drift).toEqual({ containers: NAMES, undeclared: { "max-buffer-size": "4m", mode: "non-blocking" } });
  const { message, hint } = describeLogOptsDrift(drift!, "sir-convert-a-lot");
  expect(message).toMatch(/every pulumi up would replace the lanes/);
  expect(hint).toContain("npx pulumi config set --path sir-convert-a-lot:container.daemonLogOpts.max-buffer-size 4m");
  expect(hint).toContain("npx pulumi config set --path sir-convert-a-lot:container.daemonLogOpts.mode non-blocking");
  expect(docker.calls[0]).toEqual(["container", "inspect", "--format", "{{json .HostConfig.LogConfig}}", NAMES[0]]);
});

test("once declared, nothing is reported", async () => {
  const declared = laneLogOpts(hemma.logOpts, "50m", 5);
  expect(await findLogOptsDrift(fakeDocker(hemma, { [NAMES[0]]: declared, [NAMES[1]]: declared }), NAMES, declared)).toBeUndefined();
});

test("a daemon without defaults, or lanes not created yet, report nothing", async () => {
  const declared = laneLogOpts({}, "50m", 5);
  expect(await findLogOptsDrift(fakeDocker({ logDriver: "json-file", logOpts: {} }, { [NAMES[0]]: declared }), NAMES, declared)).toBeUndefined();
  expect(await findLogOptsDrift(fakeDocker(hemma, {}), NAMES, declared)).toBeUndefined();
});

test("any other docker failure is not mistaken for a missing lane", async () => {
  const broken: DockerRunner = {
    where: "ssh hemma",
    run: async () => ({ code: 1, stdout: "", stderr: "permission denied while trying to connect to the Docker daemon socket" }),
  };
  await expect(findLogOptsDrift(broken, NAMES, {})).rejects.toThrow(/permission denied/);
});

test("the deploy tool's check reads only enabled lanes, with the stack's own declaration", async () => {
  const declared = laneLogOpts({}, "50m", 5);
  const docker = fakeDocker(hemma, { [NAMES[0]]: declared, [NAMES[1]]: declared });
  const cfg = {
    lanes: { prod: { enabled: true, containerName: NAMES[0] }, eval: { enabled: false, containerName: NAMES[1] } },
    container: { logMaxSize: "50m", logMaxFiles: 5, daemonLogOpts: {} },
  };
  const verdict = await checkDaemonLogOpts(docker, cfg, "sir-convert-a-lot");
  expect(verdict?.message).toContain(NAMES[0]);
  expect(verdict?.message).not.toContain(NAMES[1]);
  expect(docker.calls).toHaveLength(1);
  expect(await checkDaemonLogOpts(docker, { ...cfg, container: { ...cfg.container, daemonLogOpts: hemma.logOpts } }, "sir-convert-a-lot")).toBeUndefined();
});
