// The rollback planner on a realistic `pulumi stack history --json` document: failed updates,
// previews and refreshes mixed in, blinded and elided secrets, other namespaces' keys, version 0.

import { recentGoodRevisions, toRecords } from "../../ops/plan/historyRecords";
import { planRollback, RollbackRefused } from "../../ops/plan/rollback";
import { historyPageSchema } from "../../ops/pulumi/historySchema";
import { loadHistory, NS, SHA } from "./helpers";

const entries = historyPageSchema.parse(loadHistory());
const records = toRecords(entries, NS);

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RollbackRefused);
    return (err as Error).message;
  }
  throw new Error("expected a refusal");
}

describe("history records", () => {
  it("parses every entry, all with version 0, and orders them by time, oldest first", () => {
    expect(entries).toHaveLength(7);
    expect(entries.every((e) => e.version === 0)).toBe(true);
    expect(records.map((r) => r.startTime.toISOString())).toEqual([...records.map((r) => r.startTime.toISOString())].sort());
    expect(records[0].message).toBe("first deploy");
  });

  it("reads the revision from this project's namespace only, even when the apiKey is blinded", () => {
    const first = records[0];
    expect(first.revision).toBe(SHA.A);
    expect(records.map((r) => r.revision)).not.toContain(SHA.BENCH);
  });

  it("orders by time, not by the order pulumi printed, and breaks same-second ties by that order", () => {
    const shuffled = toRecords([...entries].reverse(), NS);
    expect(shuffled.map((r) => r.startTime.getTime())).toEqual(records.map((r) => r.startTime.getTime()));
    const same = "2025-04-01T00:00:00.000Z";
    const tie = toRecords(
      [
        { ...entries[1], startTime: same, message: "newer" },
        { ...entries[4], startTime: same, message: "older" },
      ],
      NS,
    );
    expect(tie.map((r) => r.message)).toEqual(["older", "newer"]);
  });

  it("counts only succeeded updates as good deploys, newest first and distinct", () => {
    expect(recentGoodRevisions(records).map((r) => r.revision)).toEqual([SHA.C, SHA.B, SHA.A]);
  });
});

describe("planRollback", () => {
  it("after a failed deploy picks the last good revision before the current config (skipping previews and refreshes)", () => {
    const plan = planRollback(records, SHA.D);
    expect(plan.target.revision).toBe(SHA.C);
    expect(plan.imageRef).toBe(`sir-convert-a-lot-runtime:${SHA.C}`);
    expect(plan.target.endTime?.toISOString()).toBe("2025-03-10T18:41:52.000Z");
    expect(plan.stepsBack).toBe(1);
  });

  it("from a good current revision goes to the one before it, ignoring the failed attempt of that revision", () => {
    const plan = planRollback(records, SHA.C);
    expect(plan.target.revision).toBe(SHA.B);
    expect(plan.target.message).toBe("deploy b");
  });

  it("--steps walks back through distinct good revisions", () => {
    expect(planRollback(records, SHA.D, { steps: 2 }).target.revision).toBe(SHA.B);
    expect(planRollback(records, SHA.D, { steps: 3 }).target.revision).toBe(SHA.A);
    expect(refusal(() => planRollback(records, SHA.D, { steps: 4 }))).toMatch(/only 3 earlier good revision/);
  });

  it("--to accepts a full SHA or a unique prefix", () => {
    expect(planRollback(records, SHA.D, { to: SHA.A }).target.revision).toBe(SHA.A);
    const plan = planRollback(records, SHA.D, { to: SHA.B.slice(0, 8).toUpperCase() });
    expect(plan.target.revision).toBe(SHA.B);
    expect(plan.stepsBack).toBe(2);
  });

  it("refuses a requested revision that never succeeded, naming its failed attempts", () => {
    const msg = refusal(() => planRollback(records, SHA.C, { to: SHA.D.slice(0, 10) }));
    expect(msg).toMatch(/never succeeded/);
    expect(msg).toMatch(/failed at 2025-03-14T09:07:40.000Z/);
  });

  it("refuses a revision that was never deployed here, including one only another namespace recorded", () => {
    expect(refusal(() => planRollback(records, SHA.D, { to: SHA.BENCH }))).toMatch(/never deployed/);
    expect(refusal(() => planRollback(records, SHA.D, { to: "0123456789abcdef" }))).toMatch(/never deployed/);
  });

  it("does not count a preview as a deployment", () => {
    const withoutC = toRecords(
      entries.filter((e) => !(e.kind === "update" && e.message === "deploy c")),
      NS,
    );
    expect(refusal(() => planRollback(withoutC, SHA.D, { to: SHA.C }))).toMatch(/never deployed/);
  });

  it("refuses when history has no earlier good revision", () => {
    const onlyA = toRecords(
      entries.filter((e) => e.message === "first deploy"),
      NS,
    );
    expect(refusal(() => planRollback(onlyA, SHA.A))).toMatch(/no earlier good revision/);
    expect(refusal(() => planRollback([], SHA.A))).toMatch(/no deployments/);
  });

  it("refuses the current revision, malformed SHAs and --to with --steps", () => {
    expect(refusal(() => planRollback(records, SHA.C, { to: SHA.C }))).toMatch(/already the current revision/);
    expect(refusal(() => planRollback(records, SHA.C, { to: "main" }))).toMatch(/not a commit SHA/);
    expect(refusal(() => planRollback(records, SHA.C, { to: SHA.A, steps: 1 }))).toMatch(/cannot be combined/);
  });

  it("refuses an ambiguous prefix", () => {
    const twin = { ...entries[1], config: { ...entries[1].config, [`${NS}:revision`]: { value: `${SHA.C.slice(0, 8)}${"0".repeat(32)}`, secret: false } } };
    const recs = toRecords([twin, ...entries], NS);
    expect(refusal(() => planRollback(recs, SHA.D, { to: SHA.C.slice(0, 8) }))).toMatch(/ambiguous/);
  });
});
