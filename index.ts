// The Sir Convert-a-Lot stack on Hemma: parse config once, then declare the runtime image, the
// persistent volumes, the prod and eval GPU lanes, and their post-deploy verification, with prod
// gated on eval's verification (or a short-lived canary) so a broken image never reaches prod.

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Canary } from "./components/canary";
import { canaryGate } from "./components/canaryGate";
import { assertCanaryNamesFree } from "./components/canaryScript";
import { DataVolumes } from "./components/dataVolumes";
import { LaneVerification } from "./components/laneVerification";
import { RuntimeImage } from "./components/runtimeImage";
import { ServiceLane } from "./components/serviceLane";
import { loadProgramConfig } from "./lib/config/load";
import { LANES } from "./lib/config/schema";
import { tunnelCommand } from "./lib/sshTarget";

const config = loadProgramConfig();
if (config.image.builder !== undefined) {
  pulumi.log.warn(
    `config image.builder=${config.image.builder} is retired and ignored: every build runs on dockerHost through the docker provider's Engine API (BuildKit on that daemon); remove it with \`npx pulumi config rm --path image.builder\``,
  );
}

// The canary's fixed container and scratch-volume names must never be a lane's (it removes them).
assertCanaryNamesFree({
  laneContainerNames: LANES.map((lane) => config.lanes[lane].containerName),
  laneDataVolumes: LANES.map((lane) => config.lanes[lane].dataVolume),
  modelCacheVolumeName: config.modelCache.volume,
});

const provider = new docker.Provider("hemma-docker", { host: config.dockerHost, sshOpts: config.sshOpts });

const serviceApiKey: pulumi.Output<string> = config.apiKey ?? new random.RandomPassword("api-key", { length: 48, special: false }).result;

const runtimeImage = new RuntimeImage(
  "runtime-image",
  {
    name: config.image.name,
    revision: config.revision,
    build: config.image.build,
    sourceDir: config.sourceDir,
    dockerfile: config.source.dockerfile,
    buildTimeoutMinutes: config.image.buildTimeoutMinutes,
    torch: config.torch,
  },
  { providers: { docker: provider } },
);

const volumes = new DataVolumes(
  "data-volumes",
  {
    laneVolumes: Object.fromEntries(LANES.map((lane) => [lane, config.lanes[lane].dataVolume])),
    modelCacheVolume: config.modelCache.volume,
  },
  { providers: { docker: provider } },
);

function declareLane(lane: (typeof LANES)[number], startAfter: pulumi.Resource[]) {
  const laneConfig = config.lanes[lane];
  const service = new ServiceLane(
    lane,
    {
      lane,
      profile: laneConfig.profile,
      containerName: laneConfig.containerName,
      containerPort: laneConfig.containerPort,
      hostPort: laneConfig.hostPort,
      bindAddress: config.bindAddress,
      revision: config.revision,
      imageId: runtimeImage.imageId,
      dataVolumeName: volumes.byLane[lane].name,
      modelCacheVolumeName: volumes.modelCache.name,
      modelCachePath: config.modelCache.path,
      gpuDevices: config.gpu.devices,
      gpuGroups: config.gpu.groups,
      apiKey: serviceApiKey,
      evalCpuOnlyDecision: laneConfig.profile === "eval" ? config.evalCpu.cpuOnlyDecision : undefined,
      waitTimeoutSeconds: config.container.waitTimeoutSeconds,
      logMaxSize: config.container.logMaxSize,
      logMaxFiles: config.container.logMaxFiles,
      daemonLogOpts: config.container.daemonLogOpts,
      startAfter,
    },
    { providers: { docker: provider } },
  );
  const verification = config.verification.enabled
    ? new LaneVerification(`${lane}-verification`, {
        lane,
        profile: laneConfig.profile,
        containerName: laneConfig.containerName,
        hostUrl: service.hostUrl,
        dataDir: service.dataDir,
        revision: config.revision,
        torchVersion: config.torch.torchVersion,
        dockerHost: config.dockerHost,
        sshOpts: config.sshOpts,
        timeoutSeconds: config.verification.timeoutSeconds,
        evidenceRoot: config.verification.evidenceRoot,
        apiKey: serviceApiKey,
        imageId: runtimeImage.imageId,
        containerId: service.container.id,
        dependsOn: [service.container],
      })
    : undefined;
  return { lane, laneConfig, service, verification };
}

// The canary gate: eval goes first and prod's container waits on eval's whole verification; with
// eval disabled a short-lived canary from the new image does that job (components/canary.ts).
const evalLane = config.lanes.eval.enabled ? declareLane("eval", []) : undefined;
const gate = canaryGate({
  evalVerification: evalLane?.verification,
  declareCanary: () =>
    new Canary("canary", {
      revision: config.revision,
      containerPort: config.lanes.eval.containerPort,
      bindAddress: config.bindAddress,
      modelCacheVolumeName: config.modelCache.volume,
      modelCachePath: config.modelCache.path,
      gpuDevices: config.gpu.devices,
      gpuGroups: config.gpu.groups,
      evalCpuOnlyDecision: config.evalCpu.cpuOnlyDecision,
      logMaxSize: config.container.logMaxSize,
      logMaxFiles: config.container.logMaxFiles,
      daemonLogOpts: config.container.daemonLogOpts,
      torchVersion: config.torch.torchVersion,
      dockerHost: config.dockerHost,
      sshOpts: config.sshOpts,
      timeoutSeconds: config.verification.timeoutSeconds,
      evidenceRoot: config.verification.evidenceRoot,
      laneContainerNames: LANES.map((lane) => config.lanes[lane].containerName),
      laneDataVolumes: LANES.map((lane) => config.lanes[lane].dataVolume),
      apiKey: serviceApiKey,
      imageId: runtimeImage.imageId,
      waitTimeoutSeconds: config.container.waitTimeoutSeconds,
    }),
  verificationEnabled: config.verification.enabled,
  prodEnabled: config.lanes.prod.enabled,
});
const prodLane = config.lanes.prod.enabled ? declareLane("prod", gate.prodWaitsOn) : undefined;
const serviceLanes = [prodLane, evalLane].filter((l): l is NonNullable<typeof l> => l !== undefined);

export const revision = config.revision;
export const image = { name: runtimeImage.tag, id: runtimeImage.imageId };
export const lanes = Object.fromEntries(
  serviceLanes.map(({ lane, laneConfig, service }) => [
    lane,
    {
      containerName: service.container.name,
      profile: laneConfig.profile,
      dataDir: service.dataDir,
      url: service.hostUrl,
      hostPort: laneConfig.hostPort,
      localPort: laneConfig.hostPort,
      tunnelCommand: tunnelCommand(config.dockerHost, laneConfig.hostPort, config.bindAddress, laneConfig.hostPort),
    },
  ]),
);
export const verification = Object.fromEntries(
  serviceLanes.filter(({ verification: v }) => v !== undefined).map(({ lane, verification: v }) => [lane, { evidenceDirs: v!.evidenceDirs }]),
);
export const apiKey = pulumi.secret(serviceApiKey);
/** What prod waits on when the image changes: `eval` (its verification), `canary`, or `none`. */
export const canary = { gate: gate.kind, evidenceDir: gate.evidenceDir };
