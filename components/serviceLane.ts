// One service lane (prod or eval): a container from the shared runtime image with ROCm device
// passthrough, its own data volume, the shared model cache, a port published on the loopback
// address only, a /readyz healthcheck, restart policy and log rotation. The container has a fixed
// name and host port, so replacements delete the old container first.
//
// Every change replaces the container (replaceOnChanges "*"), for two reasons found in the real
// provider and engine: terraform-provider-docker v4.5.0 stores the container before its `wait`
// health loop, so a container that never became healthy is kept with init errors, and the engine
// (v3.248.0 step_generator.go) only replaces such a resource when a replaceOnChanges path covers
// it; and `healthcheck` is neither ForceNew nor applied by the provider's update, so only a
// replacement puts a changed healthcheck on the container. A replacement also re-runs the
// lane's verification (its triggers hold the container id).
//
// Canary gate: `startAfter` (prod gets eval's verification commands, or the canary's) becomes
// the container's dependsOn. The SDK sends a registration only after its dependsOn resources'
// URNs resolved (sdk/nodejs/runtime/resource.ts prepareResource), which the engine answers once
// their steps are done (pkg/resource/deploy/source_eval.go RegisterResource waits on step.done),
// so prod's step, and with deleteBeforeReplace the delete of its old container, comes only after
// the gate passed. A failed gate never lets prod start: step_executor.go cancelDueToError cancels
// the deployment, so the failed check's registration never answers and prod's is never sent (with
// --continue-on-error, deployment_executor.go skips steps that depend on errored ones). dependsOn is no property
// dependency, so the engine's dependent replacement (step_generator.go
// calculateDependentReplacements) never replaces prod because eval was replaced.

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { laneLogOpts } from "../lib/daemonLogOpts";
import { LABEL_LANE, LABEL_PROFILE, LABEL_REVISION, NAMESPACE } from "../lib/projectFacts";
import { dataDirFor } from "../lib/serviceContract";
import { containerEnvs, laneEnvironment } from "./laneEnvironment";

export interface ServiceLaneArgs {
  lane: string;
  profile: "prod" | "eval";
  containerName: string;
  containerPort: number;
  hostPort: number;
  bindAddress: string;
  revision: string;
  imageId: pulumi.Input<string>;
  dataVolumeName: pulumi.Input<string>;
  modelCacheVolumeName: pulumi.Input<string>;
  modelCachePath: string;
  gpuDevices: string[];
  gpuGroups: string[];
  apiKey: pulumi.Input<string>;
  evalCpuOnlyDecision?: string;
  waitTimeoutSeconds: number;
  logMaxSize: string;
  logMaxFiles: number;
  /** The daemon's default log-opts (daemon.json), declared so the reported log config matches. */
  daemonLogOpts: Record<string, string>;
  /** What must have passed before this container is touched (the canary gate). */
  startAfter?: pulumi.Resource[];
}

/** The uvicorn entrypoint per profile is chosen by PDM script (no env var selects the profile). */
export function serveCommand(profile: "prod" | "eval"): string[] {
  return ["pdm", "run", profile === "prod" ? "serve:sir-convert-a-lot" : "serve:sir-convert-a-lot-eval"];
}

/** Healthcheck: any non-2xx from /readyz inside the container means unhealthy. */
export function readyzHealthcheck(containerPort: number): docker.types.input.ContainerHealthcheck {
  return {
    tests: ["CMD", "python", "-c", `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${containerPort}/readyz', timeout=8)`],
    interval: "30s",
    timeout: "10s",
    retries: 3,
    startPeriod: "20s",
    startInterval: "2s",
  };
}

export class ServiceLane extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly dataDir: string;
  /** Where the lane answers on the docker host. */
  readonly hostUrl: string;

  constructor(name: string, args: ServiceLaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${NAMESPACE}:hemma:ServiceLane`, name, {}, opts);
    this.dataDir = dataDirFor(args.profile);
    const host = args.bindAddress.includes(":") ? `[${args.bindAddress}]` : args.bindAddress;
    this.hostUrl = `http://${host}:${args.hostPort}`;
    const env = laneEnvironment({
      profile: args.profile,
      revision: args.revision,
      modelCachePath: args.modelCachePath,
      evalCpuOnlyDecision: args.evalCpuOnlyDecision,
    });

    this.container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: args.imageId,
        command: serveCommand(args.profile),
        envs: containerEnvs(env, args.apiKey),
        devices: args.gpuDevices.map((device) => ({ hostPath: device, containerPath: device, permissions: "rwm" })),
        groupAdds: args.gpuGroups,
        ports: [{ internal: args.containerPort, external: args.hostPort, ip: args.bindAddress, protocol: "tcp" }],
        volumes: [
          { volumeName: args.dataVolumeName, containerPath: this.dataDir },
          { volumeName: args.modelCacheVolumeName, containerPath: args.modelCachePath },
        ],
        labels: [
          { label: LABEL_LANE, value: args.lane },
          { label: LABEL_PROFILE, value: args.profile },
          { label: LABEL_REVISION, value: args.revision },
        ],
        healthcheck: readyzHealthcheck(args.containerPort),
        restart: "unless-stopped",
        logDriver: "json-file",
        // Declares the daemon's defaults too: the provider stores what docker reports (ForceNew).
        logOpts: laneLogOpts(args.daemonLogOpts, args.logMaxSize, args.logMaxFiles),
        wait: true,
        waitTimeout: args.waitTimeoutSeconds,
        mustRun: true,
        // Never remove volumes with the container: data is sacred.
        removeVolumes: false,
      },
      {
        parent: this,
        // Fixed name and host port: the old container must go before the new one is created.
        deleteBeforeReplace: true,
        dependsOn: args.startAfter ?? [],
        // "*" also covers the engine's `#initerror` key: a lane that failed its health wait is
        // recreated on the next `up` instead of getting a no-op update (pulumi/pulumi#21458).
        replaceOnChanges: ["*"],
        customTimeouts: { create: `${args.waitTimeoutSeconds + 120}s`, update: `${args.waitTimeoutSeconds + 120}s` },
      },
    );
    this.registerOutputs({ containerName: this.container.name, dataDir: this.dataDir, hostUrl: this.hostUrl });
  }
}
