// Decides what `npm run rollback` deploys: the last good revision before the current one, the
// N-th one back (--steps), or an explicitly requested one (--to), from the stack's update history.
// Pure: takes records and the current revision, returns a plan or throws a RollbackRefused.
import { REVISION_PREFIX } from "../../lib/projectFacts";
import { OpsError } from "../tool/error";
import { deployedAt, imageRef, recentGoodRevisions, type UpdateRecord } from "./historyRecords";

export interface RollbackRequest {
  /** Full SHA or an unambiguous prefix of at least 7 hex characters. */
  to?: string;
  /** How many distinct good revisions to go back (default 1). */
  steps?: number;
}

export interface RollbackPlan {
  current: string;
  target: UpdateRecord & { revision: string };
  /** `<image name>:<revision>` the rollback runs. */
  imageRef: string;
  /** 1 = the revision right before the current one. */
  stepsBack: number;
}

export class RollbackRefused extends OpsError {}

const short = (sha: string) => sha.slice(0, 12);

function when(r: UpdateRecord): string {
  return deployedAt(r).toISOString();
}

export function planRollback(records: UpdateRecord[], current: string, request: RollbackRequest = {}): RollbackPlan {
  if (request.to !== undefined && request.steps !== undefined) {
    throw new RollbackRefused("--to and --steps cannot be combined", "pass either --to <revision> or --steps <n>");
  }
  const good = recentGoodRevisions(records);
  const earlier = good.filter((r) => r.revision !== current);

  if (request.to !== undefined) return planTo(records, earlier, current, request.to);

  const steps = request.steps ?? 1;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RollbackRefused(`--steps must be a positive whole number, got ${steps}`, "use --steps 1 for the previous good revision");
  }
  if (earlier.length === 0) {
    const deploys = records.filter((r) => r.kind === "update").length;
    throw new RollbackRefused(
      deploys === 0
        ? "the stack's history has no deployments, so there is no earlier good revision to roll back to"
        : `the stack's history (${deploys} update(s)) has no earlier good revision than the current ${short(current)}: every succeeded update ran the current revision`,
      "deploy a known-good revision with `npm run deploy` instead (docs/runbook.md, 3. Update (deploy a new revision))",
    );
  }
  if (steps > earlier.length) {
    throw new RollbackRefused(
      `--steps ${steps} goes further back than the history allows: only ${earlier.length} earlier good revision(s) (${earlier.map((r) => short(r.revision)).join(", ")})`,
      `use --steps ${earlier.length} or less, or --to <revision>`,
    );
  }
  const target = earlier[steps - 1];
  return { current, target, imageRef: imageRef(target, target.revision), stepsBack: steps };
}

function planTo(records: UpdateRecord[], earlier: (UpdateRecord & { revision: string })[], current: string, to: string): RollbackPlan {
  const wanted = to.trim().toLowerCase();
  if (!REVISION_PREFIX.test(wanted)) {
    throw new RollbackRefused(
      `--to ${JSON.stringify(to)} is not a commit SHA (7 to 40 hex characters)`,
      "copy a revision from `npm run pulumi -- stack history --stack hemma` or the stack output `revision`",
    );
  }
  const deployed = [...new Set(records.filter((r) => r.kind === "update" && r.revision?.startsWith(wanted)).map((r) => r.revision as string))];
  if (deployed.length > 1) {
    throw new RollbackRefused(`--to ${wanted} is ambiguous; it matches ${deployed.map(short).join(", ")}`, "give more characters of the SHA");
  }
  if (deployed.length === 0) {
    if (current.startsWith(wanted)) {
      throw new RollbackRefused(`${short(current)} is already the current revision`, "nothing to roll back; to redeploy it run `npm run deploy`");
    }
    throw new RollbackRefused(
      `revision ${wanted} was never deployed to this stack, so there is no good deployment of it to return to`,
      "pick a revision listed by `npm run pulumi -- stack history --stack hemma`, or deploy it with `npm run deploy`",
    );
  }
  const revision = deployed[0];
  if (revision === current) {
    throw new RollbackRefused(`${short(current)} is already the current revision`, "nothing to roll back; to redeploy it run `npm run deploy`");
  }
  const target = earlier.find((r) => r.revision === revision);
  if (!target) {
    const attempts = records.filter((r) => r.kind === "update" && r.revision === revision);
    throw new RollbackRefused(
      `revision ${short(revision)} never succeeded on this stack: its ${attempts.length} update(s) ended ${attempts.map((r) => `${r.result || "unfinished"} at ${when(r)}`).join(", ")}`,
      "roll back to a revision whose deploy succeeded (omit --to for the last good one)",
    );
  }
  const stepsBack = earlier.indexOf(target) + 1;
  return { current, target, imageRef: imageRef(target, target.revision), stepsBack };
}
