// Whether an image's revision label contradicts the revision its tag names: pure, for deploy,
// rollback, the automatic rollback and prune.
import { LABEL_REVISION } from "../../lib/projectFacts";
import type { ImageInfo } from "../hemma/docker";

/**
 * Why the image tagged `<repo>:<revision>` does not hold that revision's build, or undefined when
 * its label agrees. A missing label is reported separately (`revisionLabel` undefined).
 */
export function labelDisagrees(revision: string, info: ImageInfo): string | undefined {
  if (info.revisionLabel === undefined || info.revisionLabel === revision) return undefined;
  return `its ${LABEL_REVISION} label says ${info.revisionLabel}, not ${revision}`;
}
