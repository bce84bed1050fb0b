// readiness: poll /readyz until ready or the deadline. Transport errors and 5xx are retried with bounded
// backoff; reasons that cannot heal by waiting fail at once; the ready payload must name the expected
// revision, profile and data root (compared as the service does: the lane's data dir resolved inside
// the container, so a symlinked data dir passes). While it polls, the container's state is watched
// (`docker inspect`): a container that restarts, exits or whose restart count rises fails at once
// with its state and the last lines of its log, not at the deadline.
import { Backoff, seconds, sleep } from "../deadline";
import { type ContainerState, containerLogTail, containerState } from "../host/docker";
import { describeResponse, type HttpResponse, TransportError } from "../http/client";
import { parseJsonWith, type ReadinessReason, type Readyz, readyzSchema, tryParseJson } from "../schemas";
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
const WATCH_INTERVAL_MS = 250;
const LOG_LINES = 20;

function reasonNote(reason: ReadinessReason): string {
  return `reason ${reason.code}: ${reason.message}${reason.details ? ` ${JSON.stringify(reason.details)}` : ""}`;
}

/** Compares the payload with what this lane must be; attaches the service's reasons to each mismatch. */
export function identityFailures(ctx: CheckContext, payload: Readyz, resolvedDataDir?: string): CheckFailure[] {
  const { expectedRevision, profile, dataDir } = ctx.opts;
  const reasons = [...payload.reasons];
  const take = (codes: string[]): string | undefined => {
    const taken = reasons.filter((r) => codes.includes(r.code));
    for (const r of taken) reasons.splice(reasons.indexOf(r), 1);
    return taken.length > 0 ? taken.map(reasonNote).join("; ") : undefined;
  };
  const failures: CheckFailure[] = [];
  const revisionMatches =
    payload.service_revision === expectedRevision || (expectedRevision.length < 40 && payload.service_revision.startsWith(expectedRevision));
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
  const expectedRoot = resolvedDataDir ?? dataDir;
  if (payload.data_root !== expectedRoot || rootNote) {
    const how = expectedRoot !== dataDir ? ` (${dataDir} resolved in container ${ctx.opts.container})` : "";
    failures.push(fact("data_root", `data_root ${expectedRoot}${how}`, payload.data_root, rootNote));
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

/** The lane's data dir as the service resolves it (Path.resolve: symlinks followed), read in the container. */
async function resolvedDataDir(ctx: CheckContext): Promise<string | undefined> {
  const res = await ctx.host.run([...ctx.opts.dockerCommand, "exec", ctx.opts.container, "realpath", "-m", ctx.opts.dataDir], ctx.deadline.cap(15_000));
  const out = res.stdout.trim();
  return res.exitCode === 0 && out.startsWith("/") ? out : undefined;
}

/** Compares with the resolved data dir only when the literal one does not match. */
async function identityFailuresResolved(ctx: CheckContext, payload: Readyz): Promise<CheckFailure[]> {
  const literal = identityFailures(ctx, payload);
  if (!literal.some((f) => f.fact === "data_root") || payload.data_root === ctx.opts.dataDir) return literal;
  const resolved = await resolvedDataDir(ctx);
  return resolved === undefined ? literal : identityFailures(ctx, payload, resolved);
}

interface Death {
  what: string;
  state: ContainerState;
}

/** Watches the lane container's state while readiness polls; `death` is set at the first bad state. */
class ContainerWatch {
  death: Death | undefined;
  lastError: string | undefined;
  private firstRestartCount: number | undefined;
  private stopped = false;
  private readonly wake = new AbortController();
  readonly died = new AbortController();
  private readonly loop: Promise<void>;

  constructor(private readonly ctx: CheckContext) {
    this.loop = this.run();
  }

  private judge(s: ContainerState): string | undefined {
    if (this.firstRestartCount === undefined) this.firstRestartCount = s.RestartCount;
    if (s.Restarting || s.Status === "restarting") return "restarting";
    if (s.Status === "exited" || s.Status === "dead" || (!s.Running && s.Status !== "created")) return s.Status === "dead" ? "dead" : "exited";
    if (s.RestartCount > this.firstRestartCount) return `restart count rising (${this.firstRestartCount} -> ${s.RestartCount})`;
    return undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopped && !this.ctx.deadline.expired()) {
      const s = await containerState(this.ctx.host, this.ctx.opts.dockerCommand, this.ctx.opts.container, this.ctx.deadline.cap(10_000));
      if (typeof s === "string") {
        this.lastError = s;
      } else {
        const what = this.judge(s);
        if (what) {
          this.death = { what, state: s };
          this.died.abort();
          return;
        }
      }
      await sleep(WATCH_INTERVAL_MS, this.wake.signal);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    await this.loop;
  }
}

async function deathFailure(ctx: CheckContext, death: Death): Promise<CheckFailure> {
  const lines = await containerLogTail(ctx.host, ctx.opts.dockerCommand, ctx.opts.container, LOG_LINES, ctx.deadline.cap(10_000) || 5_000);
  await ctx.evidence.writeJson("host/container_state.json", { state: death.state, what: death.what, log_tail: lines });
  const s = death.state;
  return fact(
    "container",
    `container ${ctx.opts.container} running while /readyz is polled`,
    `${death.what} (status ${s.Status}, exit code ${s.ExitCode}, restart count ${s.RestartCount}${s.Error ? `, error ${s.Error}` : ""}); last log lines: ${lines.slice(-5).join(" | ") || "none"}`,
  );
}

export const readinessCheck: Check = async (ctx, rec) => {
  const watch = new ContainerWatch(ctx);
  try {
    await pollReadiness(ctx, rec, watch);
  } finally {
    await watch.stop();
  }
};

async function pollReadiness(ctx: CheckContext, rec: Parameters<Check>[1], watch: ContainerWatch): Promise<void> {
  const backoff = new Backoff(100, 1000);
  const started = Date.now();
  let attempts = 0;
  let lastSeen = "no attempt made";
  for (;;) {
    if (watch.death) {
      rec.fail(await deathFailure(ctx, watch.death));
      rec.note(`container ${watch.death.what} after ${seconds(Date.now() - started)} (${attempts} /readyz attempt(s))`);
      return;
    }
    if (ctx.deadline.expired()) {
      const inspect = watch.lastError ? `; docker inspect: ${watch.lastError}` : "";
      rec.fail(fact("ready", `/readyz ready within the ${seconds(ctx.deadline.totalMs)} deadline`, lastSeen, `${attempts} attempt(s)${inspect}`));
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
      for (const f of await identityFailuresResolved(ctx, payload)) rec.fail(f);
      rec.note(
        `ready after ${attempts} attempt(s) in ${seconds(Date.now() - started)}: revision ${payload.service_revision}, profile ${payload.service_profile}, data_root ${payload.data_root}`,
      );
      return;
    }
    if (res && res.status >= 500) {
      const payload = tryParseJson(readyzSchema, res.text());
      if (payload) {
        const fatal = payload.reasons.filter((r) => FATAL_REASONS.has(r.code));
        const identity = await identityFailuresResolved(ctx, payload);
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
    const signals = [watch.died.signal, ...(ctx.opts.signal ? [ctx.opts.signal] : [])];
    await sleep(wait, AbortSignal.any(signals));
    if (ctx.opts.signal?.aborted) throw new TransportError("GET /readyz: aborted", "aborted");
  }
}
