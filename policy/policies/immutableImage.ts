// immutable-image (stack): service containers run the runtime image built in this stack, referenced
// by image id or digest, and that image is tagged with the 40-hex source revision (never `latest`
// or another moving tag), so a deploy is pinned to exactly one build of one commit.
import type { StackValidationPolicy } from "@pulumi/policy";
import {
  asRecord,
  asString,
  imageRepository,
  isRuntimeImage,
  known,
  LABEL_REVISION,
  labelMap,
  REMOTE_IMAGE,
  type StackResourceView,
  show,
  stackLanes,
  violation,
} from "./model";

export const NAME = "immutable-image";

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const IMAGE_DIGEST = /^[^@\s]+@sha256:[0-9a-f]{64}$/;
/** A full source revision (the project keeps its copy in lib/projectFacts.ts; test/policy/projectFacts.test.ts checks they agree). */
export const REVISION = /^[0-9a-f]{40}$/;
/** The runtime image repository unless config names another (lib/projectFacts.ts DEFAULT_IMAGE_NAME). */
export const DEFAULT_IMAGE_NAME = "sir-convert-a-lot-runtime";

function tagOf(ref: string): string | undefined {
  if (ref.includes("@")) return undefined;
  const repo = imageRepository(ref);
  return ref.length > repo.length ? ref.slice(repo.length + 1) : undefined;
}

export const immutableImage: StackValidationPolicy = {
  name: NAME,
  description:
    "Service containers run the image built in this stack by id or digest, and that image's tag is the 40-hex revision (never latest or a moving tag).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const resources = args.resources as unknown as StackResourceView[];
    const runtimeImages = resources.filter(isRuntimeImage);
    const lanes = stackLanes(resources);
    if (runtimeImages.length === 0 && lanes.length === 0) return args.notApplicable("no runtime image or service lanes");

    for (const img of runtimeImages) {
      const name = asString(img.props.name) ?? "";
      const tag = tagOf(name);
      if (tag === undefined || !REVISION.test(tag)) {
        const bad =
          tag === undefined
            ? `${show(name)} (no tag)`
            : tag === "latest"
              ? `${show(name)} (the moving tag latest)`
              : `${show(name)} (tag is not a 40-hex revision)`;
        reportViolation(
          violation(
            NAME,
            img,
            "name",
            bad,
            `tag the runtime image with the full source revision, e.g. "${imageRepository(name) || DEFAULT_IMAGE_NAME}:<40-hex sha>"`,
          ),
          img.urn,
        );
        continue;
      }
      const buildLabels = labelMap(asRecord(img.props.build).labels ?? asRecord(img.props.build).label);
      const labelled = buildLabels[LABEL_REVISION];
      if (labelled !== undefined && labelled !== tag) {
        reportViolation(
          violation(NAME, img, `build.labels.${LABEL_REVISION}`, show(labelled), `label the build with the revision it is tagged with (${tag})`),
          img.urn,
        );
      }
    }

    for (const { lane, container } of lanes) {
      const c = container as StackResourceView;
      const fromStack = (c.propertyDependencies.image ?? []).filter((d) => d.type === REMOTE_IMAGE && isRuntimeImage(d));
      // At preview the id of an image being built is unknown (pulumi v3.248.0 sends the goal's
      // inputs, in which an output of a resource not yet created is unknown). Then the id can only
      // be the runtime image's own output: its property dependency says so, and the image's tag
      // was checked above.
      const known_ = known(() => asString(container.props.image) ?? "");
      if (known_ === undefined) {
        if (fromStack.length === 0) {
          reportViolation(
            violation(
              NAME,
              c,
              "image",
              "unknown at preview and not taken from the runtime image built in this stack",
              `set the ${lane} container's image to the runtime RemoteImage's imageId output`,
            ),
            c.urn,
          );
        }
        continue;
      }
      const image = known_;
      if (!IMAGE_ID.test(image) && !IMAGE_DIGEST.test(image)) {
        reportViolation(
          violation(NAME, c, "image", show(image), "run the runtime image by id (its imageId output, sha256:...) or digest (repo@sha256:...), never by a tag"),
          c.urn,
        );
        continue;
      }
      if (fromStack.length === 0) {
        reportViolation(
          violation(
            NAME,
            c,
            "image",
            `${show(image)} (not taken from the runtime image built in this stack)`,
            `set the ${lane} container's image to the runtime RemoteImage's imageId output`,
          ),
          c.urn,
        );
      }
    }
  },
};
