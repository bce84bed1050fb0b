// The lanes the stack declares, created on the box's real dockerd over real ssh: the registrations of
// the real index.ts (under mocks) turned into Engine API calls by the provider's own field mapping
// (lib/containerMapping.ts, which cites terraform-provider-docker v4.5.0). Each lane becomes healthy
// within its wait timeout, publishes on loopback only, sees the GPU devices, and has its own data
// volume at its own data dir and nowhere else.

import { mkdtempSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { dataDirFor } from "../../lib/serviceContract";
import { runStack, type StackRun } from "../harness/stack";
import { describeOnBox } from "./lib/box";
import { containerCreateBody } from "./lib/containerMapping";
import { EngineApi } from "./lib/engineApi";
import { boxImage } from "./lib/runtimeImage";
import {
  boxStackOptions,
  type DeployedLane,
  deployLanes,
  ensureVolumes,
  execIn,
  laneContainers,
  removeLanes,
  withoutStartIntervalBelow144,
} from "./lib/stackOnBox";
import { acquireSuiteLock } from "./lib/suiteLock";

function connectResult(host: string, port: number): Promise<"connected" | string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve("timeout");
    }, 3000);
    s.once("connect", () => {
      clearTimeout(timer);
      s.destroy();
      resolve("connected");
    });
    s.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
  });
}

/** This machine's own non-loopback IPv4 addresses (the interfaces' addresses, nothing remote). */
function ownNonLoopbackAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && a.family === "IPv4" && !a.internal)
    .map((a) => a!.address);
}

describeOnBox("lanes on the box (real dockerd over real ssh)", (getBox) => {
  let release: () => void = () => undefined;
  let ssh: EngineApi;
  let sock: EngineApi;
  let run: StackRun;
  let lanes: DeployedLane[] = [];
  let volumes: string[] = [];

  beforeAll(async () => {
    const box = getBox();
    release = await acquireSuiteLock(box.state, 15 * 60_000);
    const image = boxImage(box);
    ssh = await EngineApi.connect({ kind: "ssh", dockerHost: box.dockerHost, sshOptions: box.sshOptions });
    sock = await EngineApi.connect({ kind: "socket", socketPath: "/var/run/docker.sock" });
    run = await runStack(boxStackOptions(box, image, mkdtempSync(path.join(os.tmpdir(), "box-ev-"))));
    volumes = await ensureVolumes(ssh, run);
    lanes = await deployLanes(
      ssh,
      sock,
      laneContainers(run, image).map(({ inputs }) => withoutStartIntervalBelow144(inputs, ssh)),
    );
  }, 16 * 60_000);

  afterAll(async () => {
    try {
      if (sock)
        await removeLanes(
          sock,
          lanes.map((l) => l.name),
          volumes,
        );
    } finally {
      release();
    }
  }, 120_000);

  it("the provider's client refuses the declared healthcheck start interval below API 1.44 (dockerd 20.10 is 1.41)", () => {
    const declared = laneContainers(run, boxImage(getBox()))[0]!.inputs;
    expect(declared.healthcheck?.startInterval).toBe("2s");
    if (ssh.below("1.44")) {
      expect(() => containerCreateBody(declared, ssh.apiVersion)).toThrow(
        `"specify health-check start interval" requires API version 1.44, but the Docker daemon API version is ${ssh.apiVersion}`,
      );
    } else {
      expect(() => containerCreateBody(declared, ssh.apiVersion)).not.toThrow();
    }
  });

  it("creates both lanes, each healthy within its wait timeout", async () => {
    expect(lanes.map((l) => l.name).sort()).toEqual(["sir_convert_a_lot_eval", "sir_convert_a_lot_prod"]);
    for (const lane of lanes) {
      expect(lane.created.healthyAfterMs).toBeLessThanOrEqual(lane.inputs.waitTimeout! * 1000);
      const info = await sock.json("GET", `/containers/${lane.name}/json`);
      expect(info.State.Health.Status).toBe("healthy");
      expect(info.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
      expect(info.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: lane.inputs.logOpts });
    }
  });

  it("publishes each lane on loopback only: a connection to this machine's other addresses is refused", async () => {
    const others = ownNonLoopbackAddresses();
    expect(others.length).toBeGreaterThan(0);
    for (const lane of lanes) {
      const port = lane.inputs.ports![0]!;
      const info = await sock.json("GET", `/containers/${lane.name}/json`);
      expect(info.NetworkSettings.Ports[`${port.internal}/tcp`]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(port.external) }]);
      expect(await connectResult("127.0.0.1", port.external!)).toBe("connected");
      for (const address of others) expect([address, await connectResult(address, port.external!)]).toEqual([address, "ECONNREFUSED"]);
    }
  });

  it("each lane sees the GPU devices and its torch finds the GPU", async () => {
    for (const lane of lanes) {
      expect(await execIn(sock, lane.name, ["sh", "-c", "test -c /dev/kfd && test -c /dev/dri/renderD128 && id -G"])).toMatchObject({ exitCode: 0 });
      const probe = await execIn(sock, lane.name, ["pdm", "run", "python", "-c", "import torch; print(torch.cuda.is_available(), torch.__version__)"]);
      expect(probe.output.trim()).toBe(`True ${boxImage(getBox()).torchVersion}`);
    }
  });

  it("mounts each lane's data volume at its own data dir and nowhere else", async () => {
    const mounts = new Map<string, Array<{ Name: string; Destination: string; Type: string }>>();
    for (const lane of lanes) mounts.set(lane.name, (await sock.json("GET", `/containers/${lane.name}/json`)).Mounts);
    for (const lane of lanes) {
      const profile = lane.inputs.labels!.find((l) => l.label === "org.sir-convert-a-lot.profile")!.value;
      const dataVolume = lane.inputs.volumes!.find((v) => v.containerPath === dataDirFor(profile))!.volumeName!;
      const own = mounts.get(lane.name)!.filter((m) => m.Name === dataVolume);
      expect(own).toEqual([expect.objectContaining({ Type: "volume", Destination: dataDirFor(profile) })]);
      for (const [other, list] of mounts) if (other !== lane.name) expect(list.map((m) => m.Name)).not.toContain(dataVolume);
      // the other profile's data dir is no mount in this lane
      const otherDir = dataDirFor(profile === "prod" ? "eval" : "prod");
      expect(mounts.get(lane.name)!.map((m) => m.Destination)).not.toContain(otherDir);
    }
  });
});
