// The one test runtime image the box suites share: the committed stack's image name, torch build args
// and labels (the functions components/runtimeImage.ts builds with), tagged with the build context's
// hash as its revision; built on the box over ssh when that tag is missing. Recorded in
// <box state>/image.json for the suites.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { imageLabels, type TorchPins, torchBuildArgs } from "../../../components/runtimeImage";
import { readStackFile } from "../../../gate/mockRun";
import { configObject } from "../../../lib/config/schema";
import type { Box } from "./box";
import { EngineApi } from "./engineApi";
import { buildImage, imageIdOf, runtimeContext } from "./imageBuild";

const PROGRAM_DIR = path.resolve(__dirname, "..", "..", "..");
const NS = "sir-convert-a-lot";

export interface BoxImage {
  name: string;
  revision: string;
  tag: string;
  id: string;
  torchVersion: string;
  /** ms the build took in this run (0: reused). */
  buildMs: number;
}

/** The image name and torch pins the committed stack runs with: Pulumi.hemma.yaml's value, else the schema default. */
export function committedImageConfig(): { name: string; torch: TorchPins } {
  const config = readStackFile(PROGRAM_DIR, "hemma");
  const effective = <T>(key: "image" | "torch"): T => {
    const raw = config[`${NS}:${key}`];
    return configObject.shape[key].parse(raw === undefined ? undefined : JSON.parse(raw)) as T;
  };
  return { name: effective<{ name: string }>("image").name, torch: effective<TorchPins>("torch") };
}

export async function ensureRuntimeImage(box: Box): Promise<BoxImage> {
  const { name, torch } = committedImageConfig();
  const context = runtimeContext(box.baseImage);
  try {
    const revision = context.hash;
    const tag = `${name}:${revision}`;
    const api = await EngineApi.connect({ kind: "ssh", dockerHost: box.dockerHost, sshOptions: box.sshOptions });
    const existing = await imageIdOf(api, tag);
    let id = existing;
    let buildMs = 0;
    if (!id) {
      const built = await buildImage(api, context.dir, {
        tag,
        dockerfile: "Dockerfile",
        buildArgs: { ...torchBuildArgs(torch), BASE_IMAGE: box.baseImage, RENDER_GID: String(box.renderGid) },
        labels: imageLabels(name, revision, torch),
      });
      id = built.id;
      buildMs = built.buildMs;
    }
    const image: BoxImage = { name, revision, tag, id, torchVersion: torch.torchVersion, buildMs };
    writeFileSync(path.join(box.state, "image.json"), JSON.stringify(image, null, 2));
    return image;
  } finally {
    context.remove();
  }
}

/** The image the global setup recorded. */
export function boxImage(box: Box): BoxImage {
  const file = path.join(box.state, "image.json");
  if (!existsSync(file)) throw new Error(`${file} missing: the box's global setup did not build the runtime image`);
  return JSON.parse(readFileSync(file, "utf8")) as BoxImage;
}
