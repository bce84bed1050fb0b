// Decides which runtime images `npm run prune` removes from Hemma: it keeps the images of the last
// N distinct revisions that deployed successfully (history), the current revision, anything a
// container uses, any tag that is not a revision, and any image whose OCI revision label
// disagrees with its tag (flagged for the operator, never removed); everything else goes. Pure.

import { FULL_REVISION } from "../../lib/projectFacts";
import type { ContainerUse, ImageInfo, ImageRow } from "../hemma/docker";
import { deployedAt, recentGoodRevisions, type UpdateRecord } from "./historyRecords";
import { labelDisagrees } from "./imageLabel";

export interface KeepRevision {
  revision: string;
  why: string;
}

export interface PruneDecision {
  ref: string;
  id: string;
  action: "keep" | "remove";
  reason: string;
  /** Set when the image's revision label disagrees with its tag. */
  flag?: string;
}

/** The last `n` distinct good revisions (newest first) plus the current config revision. */
export function revisionsToKeep(records: UpdateRecord[], current: string | undefined, n: number): KeepRevision[] {
  const keep: KeepRevision[] = recentGoodRevisions(records)
    .slice(0, n)
    .map((r, i) => ({ revision: r.revision, why: `deployed revision #${i + 1} of the last ${n} (${deployedAt(r).toISOString()})` }));
  if (current && !keep.some((k) => k.revision === current)) keep.unshift({ revision: current, why: "current config revision" });
  return keep;
}

export function planPrune(images: ImageRow[], containers: ContainerUse[], keep: KeepRevision[], labels: Map<string, ImageInfo> = new Map()): PruneDecision[] {
  const keepBy = new Map(keep.map((k) => [k.revision, k.why]));
  const decisions = images.map((img): PruneDecision => {
    const ref = `${img.Repository}:${img.Tag}`;
    const base = { ref, id: img.ID };
    if (!FULL_REVISION.test(img.Tag)) return { ...base, action: "keep", reason: `tag "${img.Tag}" is not a revision; prune leaves it alone` };
    const info = labels.get(img.ID);
    const wrong = info && labelDisagrees(img.Tag, info);
    if (wrong) return { ...base, action: "keep", reason: `${wrong}: the tag does not hold that commit's build; prune leaves it for you to check`, flag: wrong };
    const why = keepBy.get(img.Tag);
    if (why) return { ...base, action: "keep", reason: why };
    const users = containers.filter((c) => (c.imageId !== "" && c.imageId === img.ID) || c.imageRef === ref || c.imageRef === img.ID);
    if (users.length > 0) return { ...base, action: "keep", reason: `used by container ${users.map((c) => `${c.name} (${c.state})`).join(", ")}` };
    return { ...base, action: "remove", reason: "not among the revisions to keep and no container uses it" };
  });
  return decisions.sort((a, b) => (a.action === b.action ? a.ref.localeCompare(b.ref) : a.action === "keep" ? -1 : 1));
}
