// Turns raw `stack history --json` entries into deploy records: which revision each update ran
// (from the config recorded with it), its image, result and time. Ordered by time, never by
// `version` (always 0 on the file backend); ties keep pulumi's own newest-first order.

import { DEFAULT_IMAGE_NAME, FULL_REVISION } from "../../lib/projectFacts";
import type { HistoryEntry } from "../pulumi/historySchema";
import type { ConfigValue } from "../pulumi/schemas";

export interface UpdateRecord {
  kind: string;
  result: string;
  startTime: Date;
  endTime?: Date;
  message: string;
  /** The 40-hex revision in the update's recorded config, when there is one. */
  revision?: string;
  /** Image repository recorded in config `image.name` (default sir-convert-a-lot-runtime). */
  imageName: string;
  /** Recorded `image.build`, when present. */
  imageBuild?: boolean;
  /** The whole config recorded with the update (fully qualified keys; secrets without values). */
  config: Record<string, ConfigValue>;
}

/** An update that ran the program to completion for a known revision. */
export function isGoodDeploy(r: UpdateRecord): r is UpdateRecord & { revision: string } {
  return r.kind === "update" && r.result === "succeeded" && r.revision !== undefined;
}

/** When the record's revision went live: its end time, else its start time. */
export function deployedAt(r: UpdateRecord): Date {
  return r.endTime ?? r.startTime;
}

export function imageRef(r: Pick<UpdateRecord, "imageName">, revision: string): string {
  return `${r.imageName}:${revision}`;
}

function objectOf(v: ConfigValue | undefined): Record<string, unknown> | undefined {
  if (!v) return undefined;
  let obj: unknown = v.objectValue;
  if (obj === undefined && v.value !== undefined) {
    try {
      obj = JSON.parse(v.value);
    } catch {
      return undefined;
    }
  }
  return obj !== null && typeof obj === "object" && !Array.isArray(obj) ? (obj as Record<string, unknown>) : undefined;
}

function parseTime(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function toRecord(entry: HistoryEntry, namespace: string): UpdateRecord | undefined {
  const start = parseTime(entry.startTime);
  if (!start) return undefined;
  const config = entry.config ?? {};
  const rev = config[`${namespace}:revision`];
  // A secret or blinded value ("[secret]") is not a revision; neither is anything but a full SHA.
  const revision = rev && !rev.secret && rev.value && FULL_REVISION.test(rev.value) ? rev.value : undefined;
  const image = objectOf(config[`${namespace}:image`]);
  return {
    kind: entry.kind,
    result: entry.result,
    startTime: start,
    endTime: parseTime(entry.endTime),
    message: entry.message,
    revision,
    imageName: typeof image?.name === "string" && image.name ? image.name : DEFAULT_IMAGE_NAME,
    imageBuild: typeof image?.build === "boolean" ? image.build : undefined,
    config,
  };
}

/** Records oldest first. `entries` is pulumi's newest-first list (all pages concatenated). */
export function toRecords(entries: HistoryEntry[], namespace: string): UpdateRecord[] {
  const indexed = entries
    .map((entry, index) => ({ record: toRecord(entry, namespace), index }))
    .filter((x): x is { record: UpdateRecord; index: number } => x.record !== undefined);
  indexed.sort((a, b) => a.record.startTime.getTime() - b.record.startTime.getTime() || b.index - a.index);
  return indexed.map((x) => x.record);
}

/** Distinct revisions of good deploys, most recently deployed first, each with its latest good deploy. */
export function recentGoodRevisions(records: UpdateRecord[]): (UpdateRecord & { revision: string })[] {
  const seen = new Set<string>();
  const out: (UpdateRecord & { revision: string })[] = [];
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i];
    if (!isGoodDeploy(r) || seen.has(r.revision)) continue;
    seen.add(r.revision);
    out.push(r);
  }
  return out;
}
