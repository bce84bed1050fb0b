// Persistent docker volumes: one data volume per lane and one model cache shared by the lanes.
// Data volumes are protected and retained on delete: no deploy, replacement, lane rename or
// `pulumi destroy` removes them. Their logical names are the volume names, so they do not move
// when a lane is renamed or disabled.

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LABEL_LANE, LABEL_ROLE, NAMESPACE } from "../lib/projectFacts";

export interface DataVolumesArgs {
  /** lane -> docker volume name. */
  laneVolumes: Record<string, string>;
  modelCacheVolume: string;
}

export class DataVolumes extends pulumi.ComponentResource {
  readonly byLane: Record<string, docker.Volume> = {};
  readonly modelCache: docker.Volume;

  constructor(name: string, args: DataVolumesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${NAMESPACE}:hemma:DataVolumes`, name, {}, opts);
    for (const [lane, volumeName] of Object.entries(args.laneVolumes)) {
      this.byLane[lane] = new docker.Volume(
        volumeName,
        {
          name: volumeName,
          labels: [
            { label: LABEL_ROLE, value: "data" },
            { label: LABEL_LANE, value: lane },
          ],
        },
        // Labels are create-only on docker volumes; never let a label edit replace (delete) data.
        { parent: this, protect: true, retainOnDelete: true, ignoreChanges: ["labels", "driverOpts"] },
      );
    }
    this.modelCache = new docker.Volume(
      args.modelCacheVolume,
      { name: args.modelCacheVolume, labels: [{ label: LABEL_ROLE, value: "model-cache" }] },
      { parent: this, retainOnDelete: true, ignoreChanges: ["labels", "driverOpts"] },
    );
    this.registerOutputs({
      volumes: Object.fromEntries(Object.entries(this.byLane).map(([lane, v]) => [lane, v.name])),
      modelCache: this.modelCache.name,
    });
  }
}
