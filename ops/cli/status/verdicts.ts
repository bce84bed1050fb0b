// The last verification verdict of each check group of a lane's revision, read from the evidence
// layout the stack's verification commands write (components/laneVerification.ts):
// `<evidenceRoot>/<lane>-<revision12>/<group>/<UTC time>/report.json` with `latest` pointing at the
// newest run. The group names are a copy (this tool must not load the Pulumi SDK to start fast);
// test/ops/status.test.ts checks the copy agrees with CHECK_GROUPS.
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";

export const VERIFICATION_GROUPS = ["health", "gpu", "smoke"] as const;

export interface Verdict {
  group: string;
  /** PASS / FAIL from report.json; NONE when the group never ran for this revision; UNREADABLE when the report cannot be read. */
  verdict: "PASS" | "FAIL" | "NONE" | "UNREADABLE";
  finishedAt?: string;
  /** The run's evidence folder (resolved through `latest`). */
  evidenceDir?: string;
  failureLines: string[];
}

const reportSchema = z.object({ ok: z.boolean(), finishedAt: z.string().optional(), failureLines: z.array(z.string()).default([]) });

export function laneRunsDir(evidenceRoot: string, lane: string, revision: string, group: string): string {
  return path.join(evidenceRoot, `${lane}-${revision.slice(0, 12)}`, group);
}

export function readVerdict(evidenceRoot: string, lane: string, revision: string, group: string): Verdict {
  const latest = path.join(laneRunsDir(evidenceRoot, lane, revision, group), "latest");
  let dir: string;
  try {
    dir = fs.realpathSync(latest);
  } catch {
    return { group, verdict: "NONE", failureLines: [] };
  }
  try {
    const report = reportSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, "report.json"), "utf8")));
    return { group, verdict: report.ok ? "PASS" : "FAIL", finishedAt: report.finishedAt, evidenceDir: dir, failureLines: report.failureLines };
  } catch {
    return { group, verdict: "UNREADABLE", evidenceDir: dir, failureLines: [] };
  }
}

export function readVerdicts(evidenceRoot: string, lane: string, revision: string): Verdict[] {
  return VERIFICATION_GROUPS.map((g) => readVerdict(evidenceRoot, lane, revision, g));
}
