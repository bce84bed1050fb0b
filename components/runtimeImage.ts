// The runtime image: built on Hemma's docker daemon from the service checkout, with the ROCm torch
// pins as build args (config is their one source of truth) and the revision in its tag and OCI
// label. With build disabled the stack refers to the image an earlier deploy left on Hemma, so a
// rollback or a later `pulumi up` needs neither the checkout nor a rebuild. Pulumi never removes
// an image from Hemma (keepLocally); `npm run prune` retires old ones.
//
// Which builder: always the provider's Engine-API path (`useLegacyBuilder: true`). In
// terraform-provider-docker v4.5.0 (what pulumi-docker bridges) that path sends the context to
// the provider's own client, i.e. `dockerHost`, and still builds with BuildKit on that daemon
// through a session (API >= 1.39). The provider's buildx path instead resolves its builder from
// the operator's current docker context (docker_buildx_build.go runBuild), so it would build on
// the laptop whatever `dockerHost` says.

import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LABEL_REVISION, LABEL_TORCH_VERSION, NAMESPACE } from "../lib/projectFacts";

export interface TorchPins {
  indexUrl: string;
  torchVersion: string;
  torchvisionVersion: string;
  torchaudioVersion: string;
}

export interface RuntimeImageArgs {
  /** Repository part of the tag, e.g. `sir-convert-a-lot-runtime`. */
  name: string;
  /** Full 40-hex commit SHA; the tag. */
  revision: string;
  /** Build from the checkout (true) or use the image already on the host (false). */
  build: boolean;
  sourceDir: string;
  dockerfile: string;
  /** Deadline of the build (the provider's own default is 20 minutes). */
  buildTimeoutMinutes: number;
  torch: TorchPins;
}

/** The labels every build puts on the image (the revision one is what prune and the policies read). */
export function imageLabels(name: string, revision: string, torch: TorchPins): Record<string, string> {
  return {
    [LABEL_REVISION]: revision,
    "org.opencontainers.image.title": name,
    [LABEL_TORCH_VERSION]: torch.torchVersion,
  };
}

/** The build args the upstream Dockerfile reads for the ROCm torch wheels. */
export function torchBuildArgs(torch: TorchPins): Record<string, string> {
  return {
    SIR_CONVERT_A_LOT_TORCH_ROCM_INDEX_URL: torch.indexUrl,
    SIR_CONVERT_A_LOT_TORCH_VERSION: torch.torchVersion,
    SIR_CONVERT_A_LOT_TORCHVISION_VERSION: torch.torchvisionVersion,
    SIR_CONVERT_A_LOT_TORCHAUDIO_VERSION: torch.torchaudioVersion,
  };
}

export class RuntimeImage extends pulumi.ComponentResource {
  /** `<name>:<revision>`. */
  readonly tag: string;
  /** The image id (`sha256:…`) containers run, so a rebuilt tag always replaces them. */
  readonly imageId: pulumi.Output<string>;
  /** The image on Hemma that the lanes run (never builds, never removes). */
  readonly image: docker.RemoteImage;
  /** The build of the tag from the checkout; only while config asks for a build. */
  readonly build?: docker.RemoteImage;

  constructor(name: string, args: RuntimeImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${NAMESPACE}:hemma:RuntimeImage`, name, {}, opts);
    this.tag = `${args.name}:${args.revision}`;
    // Building is its own resource: once the tag is on Hemma, config can drop the build
    // (image.build=false, as `npm run deploy` does after a deploy) and later runs need neither the
    // checkout nor a rebuild; dropping it deletes only the build step (keepLocally: no image removed),
    // while the image the lanes run stays as it is.
    this.build = args.build
      ? new docker.RemoteImage(
          `${name}-build`,
          {
            name: this.tag,
            keepLocally: true,
            build: {
              context: args.sourceDir,
              dockerfile: path.posix.normalize(args.dockerfile),
              buildArgs: torchBuildArgs(args.torch),
              // The legacy path reads `labels`, the buildx path `label`: both carry them, so the
              // revision label is on the image whichever path a provider version takes.
              labels: imageLabels(args.name, args.revision, args.torch),
              label: imageLabels(args.name, args.revision, args.torch),
              tags: [this.tag],
              // Build on the provider's host (dockerHost), never on the operator's docker context.
              useLegacyBuilder: true,
            },
          },
          // Only create builds (the provider's update re-reads the tag, replacement is a create).
          { parent: this, customTimeouts: { create: `${args.buildTimeoutMinutes}m` } },
        )
      : undefined;
    this.image = new docker.RemoteImage(
      name,
      { name: this.build ? this.build.name : this.tag, keepLocally: true },
      { parent: this, dependsOn: this.build ? [this.build] : [] },
    );
    this.imageId = this.image.imageId;
    this.registerOutputs({ tag: this.tag, imageId: this.imageId });
  }
}
