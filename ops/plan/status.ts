// Compares what runs on Hemma with what the stack recorded, per lane: container state and health,
// revision label, image, ports, uptime and restarts; lists the images kept for rollback. Pure: the
// facts come in (ops/hemma/statusProbe.ts, ops/cli/status/verdicts.ts), a report comes out.
import { FULL_REVISION, LABEL_REVISION as REVISION_LABEL } from "../../lib/projectFacts";
import type { Verdict } from "../cli/status/verdicts";
import type { ContainerAnswer, GpuAnswer, RuntimeImage } from "../hemma/statusProbe";

export interface ExpectedLane {
  lane: string;
  containerName: string;
  profile: string;
  hostPort: number;
}

export interface LaneReport {
  lane: string;
  containerName: string;
  state: string;
  health: string;
  runningRevision?: string;
  expectedRevision: string;
  startedAt?: string;
  uptimeSeconds?: number;
  restarts?: number;
  imageId?: string;
  /** Tags of the running image on Hemma (`<name>:<tag>`). */
  imageTags: string[];
  ports: string[];
  verification: Verdict[];
  /** Why the lane is not what the stack says it should be (empty: it is). */
  problems: string[];
  notes: string[];
}

export interface StatusReport {
  ok: boolean;
  stack: string;
  revision: string;
  lanes: LaneReport[];
  gpu: GpuAnswer;
  /** Images of other revisions still on Hemma (rollback targets), newest first as docker lists them. */
  rollbackImages: { tag: string; id: string; createdAt?: string }[];
  imagesError?: string;
}

const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);

export function formatPorts(ports: Record<string, { HostIp?: string; HostPort: string }[] | null> | null | undefined): string[] {
  const out: string[] = [];
  for (const [inside, bindings] of Object.entries(ports ?? {})) {
    for (const b of bindings ?? []) out.push(`${b.HostIp ? `${b.HostIp.includes(":") ? `[${b.HostIp}]` : b.HostIp}:` : ""}${b.HostPort}->${inside}`);
  }
  return out.sort();
}

export function assessLane(
  expected: ExpectedLane,
  answer: ContainerAnswer,
  stack: { revision: string; imageId?: string },
  images: RuntimeImage[],
  verification: Verdict[],
  now: Date,
): LaneReport {
  const base = {
    lane: expected.lane,
    containerName: expected.containerName,
    expectedRevision: stack.revision,
    verification,
    imageTags: [] as string[],
    ports: [] as string[],
    notes: [] as string[],
  };
  const failed = verification.filter((v) => v.verdict === "FAIL");
  const notes = failed.map((v) => `last ${v.group} verification FAILED (${v.finishedAt ?? "time unknown"}): ${v.failureLines[0] ?? "see the report"}`);
  if (answer.kind === "missing") {
    return {
      ...base,
      state: "missing",
      health: "-",
      notes,
      problems: [`container ${expected.containerName} does not exist on Hemma (the stack expects it): redeploy with \`npm run deploy\``],
    };
  }
  if (answer.kind === "error") {
    return { ...base, state: "unknown", health: "-", notes, problems: [`could not inspect container ${expected.containerName}: ${answer.detail}`] };
  }
  const c = answer.inspect;
  const problems: string[] = [];
  const health = c.State.Health?.Status ?? "none";
  const runningRevision = c.Config.Labels?.[REVISION_LABEL];
  if (c.State.Status !== "running") problems.push(`container is ${c.State.Status}${c.State.ExitCode ? ` (exit code ${c.State.ExitCode})` : ""}, not running`);
  else if (health !== "healthy") problems.push(`container health is ${health}, not healthy`);
  if (runningRevision !== stack.revision)
    problems.push(`wrong revision: runs ${runningRevision ?? "(no revision label)"}, the stack recorded ${stack.revision}`);
  if (stack.imageId && c.Image !== stack.imageId) problems.push(`drift: runs image ${short(c.Image)}, the stack recorded image ${short(stack.imageId)}`);
  const ports = formatPorts(c.NetworkSettings?.Ports);
  if (!ports.some((p) => p.split("->")[0].endsWith(`:${expected.hostPort}`) || p.split("->")[0] === String(expected.hostPort))) {
    problems.push(`drift: host port ${expected.hostPort} is not published (published: ${ports.join(", ") || "none"})`);
  }
  const started = c.State.StartedAt ? new Date(c.State.StartedAt) : undefined;
  const uptimeSeconds =
    c.State.Status === "running" && started && !Number.isNaN(started.getTime())
      ? Math.max(0, Math.round((now.getTime() - started.getTime()) / 1000))
      : undefined;
  if (c.RestartCount > 0) notes.push(`restarted ${c.RestartCount} time(s) since it was created`);
  return {
    ...base,
    state: c.State.Status,
    health,
    runningRevision,
    startedAt: c.State.StartedAt,
    uptimeSeconds,
    restarts: c.RestartCount,
    imageId: c.Image,
    imageTags: images.filter((i) => i.ID === c.Image).map((i) => `${i.Repository}:${i.Tag}`),
    ports,
    notes,
    problems,
  };
}

export function rollbackImages(images: RuntimeImage[], inUse: Set<string>): StatusReport["rollbackImages"] {
  return images.filter((i) => !inUse.has(i.ID) && FULL_REVISION.test(i.Tag)).map((i) => ({ tag: i.Tag, id: i.ID, createdAt: i.CreatedAt }));
}

export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  return `${m}m${seconds % 60}s`;
}

export function renderStatus(r: StatusReport): string[] {
  const lines = [`Stack ${r.stack}: recorded revision ${r.revision}`];
  for (const l of r.lanes) {
    const mark = l.problems.length === 0 ? "OK  " : "DRIFT";
    lines.push(`${mark} ${l.lane} (${l.containerName}): ${l.state}, health ${l.health}`);
    lines.push(`      revision ${l.runningRevision ?? "-"}${l.runningRevision === l.expectedRevision ? " (as recorded)" : ""}`);
    if (l.imageId) lines.push(`      image ${l.imageTags.join(", ") || "(untagged)"} ${short(l.imageId)}`);
    if (l.state === "running" || l.restarts !== undefined)
      lines.push(
        `      up ${l.uptimeSeconds === undefined ? "-" : formatDuration(l.uptimeSeconds)} (since ${l.startedAt ?? "?"}), ${l.restarts ?? 0} restart(s), ports ${l.ports.join(", ") || "none"}`,
      );
    for (const v of l.verification) {
      lines.push(`      verify ${v.group.padEnd(6)} ${v.verdict}${v.finishedAt ? ` ${v.finishedAt}` : ""}${v.evidenceDir ? `  ${v.evidenceDir}` : ""}`);
    }
    l.problems.forEach((p) => {
      lines.push(`      problem: ${p}`);
    });
    l.notes.forEach((n) => {
      lines.push(`      note: ${n}`);
    });
  }
  lines.push(`GPU: ${r.gpu.seen ? "rocm-smi sees" : "NOT SEEN:"} ${r.gpu.detail}`);
  if (r.imagesError) lines.push(`Rollback images: unknown (${r.imagesError})`);
  else
    lines.push(
      `Rollback images (${r.rollbackImages.length}): ${r.rollbackImages.map((i) => `${i.tag.slice(0, 12)}${i.createdAt ? ` (${i.createdAt})` : ""}`).join(", ") || "none"}`,
    );
  return lines;
}
