// readiness: poll /readyz until ready or the deadline. Transport errors and 5xx are retried with bounded
// backoff; reasons that cannot heal by waiting fail at once; the ready payload must name the expected
// revision, profile and data root.
import { Backoff, seconds, sleep } from "../deadline";
import { type HttpResponse, TransportError, describeResponse } from "../http/client";
import { type Readyz, type ReadinessReason, parseJsonWith, readyzSchema, tryParseJson } from "../schemas";
import type { CheckFailure } from "../types";
import { type Check, type CheckContext, fact } from "./context";

/** Reason codes that no amount of waiting fixes: the deploy itself is wrong. */
export const FATAL_REASONS: ReadonlySet<string> = new Set([
  "stale_revision",
  "profile_mismatch",
  "data_root_configuration_collision",
  "data_root_profile_mismatch",
  "unknown_service_revision",
  "unknown_expected_revision",
]);

const ATTEMPT_TIMEOUT_MS = 10_000;

function reasonNote(reason: ReadinessReason): string {
  return `reason ${reason.code}: ${reason.message}${reason.details ? ` ${JSON.stringify(reason.details)}` : ""}`;
}

/** Compares the payload with what this lane must be; attaches the service's reasons to each mismatch. */
export function identityFailures(ctx: CheckContext, payload: Readyz): CheckFailure[] {
  const { expectedRevision, profile, dataDir } = ctx.opts;
  const reasons = [...payload.reasons];
  const take = (codes: string[]): string | undefined => {
    const taken = reasons.filter((r) => codes.includes(r.code));
    for (const r of taken) reasons.splice(reasons.indexOf(r), 1);
    return taken.length > 0 ? taken.map(reasonNote).join("; ") : undefined;
  };
  const failures: CheckFailure[] = [];
  const revisionMatches =
    payload.service_revision === expectedRevision ||
    (expectedRevision.length < 40 && payload.service_revision.startsWith(expectedRevision));
  const revisionNote = take(["stale_revision", "unknown_service_revision", "unknown_expected_revision"]);
  if (!revisionMatches) {
    failures.push(fact("service_revision", `service_revision ${expectedRevision}`, payload.service_revision, revisionNote));
  } else if (revisionNote) {
    failures.push(fact("expected_revision", `expected_revision ${expectedRevision}`, payload.expected_revision, revisionNote));
  }
  const profileNote = take(["profile_mismatch"]);
  if (payload.service_profile !== profile) {
    failures.push(fact("service_profile", `service_profile ${profile}`, payload.service_profile, profileNote));
  } else if (profileNote) {
    failures.push(fact("expected_service_profile", `expected_service_profile ${profile}`, payload.expected_service_profile, profileNote));
  }
  const rootNote = take(["data_root_profile_mismatch"]);
  if (payload.data_root !== dataDir || rootNote) {
    failures.push(fact("data_root", `data_root ${dataDir}`, payload.data_root, rootNote));
  }
  for (const r of reasons.filter((r) => r.code === "data_root_configuration_collision")) {
    failures.push(fact("data_root", "distinct prod and eval data roots", `collision at ${String(r.details?.data_root ?? payload.data_root)}`, reasonNote(r)));
    reasons.splice(reasons.indexOf(r), 1);
  }
  if (payload.ready) {
    for (const r of reasons) failures.push(fact("reasons", "no readiness reasons on a ready payload", r.code, reasonNote(r)));
  }
  return failures;
}

export const readinessCheck: Check = async (ctx, rec) => {
  const backoff = new Backoff(100, 1000);
  const started = Date.now();
  let attempts = 0;
  let lastSeen = "no attempt made";
  for (;;) {
    if (ctx.deadline.expired()) {
      rec.fail(fact("ready", `/readyz ready within the ${seconds(ctx.deadline.totalMs)} deadline`, lastSeen, `${attempts} attempt(s)`));
      return;
    }
    attempts += 1;
    let res: HttpResponse | undefined;
    try {
      res = await ctx.client.send({ method: "GET", path: "/readyz", label: "readyz" }, ctx.deadline.cap(ATTEMPT_TIMEOUT_MS));
    } catch (error) {
      if (!(error instanceof TransportError) || error.kind === "aborted") throw error;
      lastSeen = error.message;
    }
    if (res && res.status === 200) {
      const payload = parseJsonWith(readyzSchema, res.text(), "GET /readyz (200)");
      if (!payload.ready || payload.status !== "ready") {
        rec.fail(fact("ready", "ready=true and status ready on HTTP 200", `ready=${payload.ready} status=${payload.status}`));
      }
      for (const f of identityFailures(ctx, payload)) rec.fail(f);
      rec.note(
        `ready after ${attempts} attempt(s) in ${seconds(Date.now() - started)}: revision ${payload.service_revision}, profile ${payload.service_profile}, data_root ${payload.data_root}`,
      );
      return;
    }
    if (res && res.status >= 500) {
      const payload = tryParseJson(readyzSchema, res.text());
      if (payload) {
        const fatal = payload.reasons.filter((r) => FATAL_REASONS.has(r.code));
        const identity = identityFailures(ctx, payload);
        if (fatal.length > 0 || identity.length > 0) {
          for (const f of identity) rec.fail(f);
          for (const r of fatal) {
            if (!rec.failures.some((f) => f.note?.includes(`reason ${r.code}:`))) {
              rec.fail(fact("reasons", `no readiness reason ${r.code}`, r.message, reasonNote(r)));
            }
          }
          rec.note(`not ready with reasons that cannot heal by waiting (attempt ${attempts})`);
          return;
        }
        lastSeen = `not_ready: ${payload.reasons.map((r) => r.code).join(", ") || "no reasons"}`;
      } else {
        lastSeen = describeResponse(res);
      }
    } else if (res) {
      rec.fail(fact("ready", "HTTP 200 (or a retryable 5xx) from GET /readyz", describeResponse(res)));
      return;
    }
    const wait = Math.min(backoff.next(), ctx.deadline.remainingMs());
    await sleep(wait, ctx.opts.signal);
    if (ctx.opts.signal?.aborted) throw new TransportError("GET /readyz: aborted", "aborted");
  }
};
