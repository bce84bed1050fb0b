// What `npm run deploy` does after its `pulumi up` failed: find out from the stack's state whether
// prod was touched (the canary gate stops a broken image before prod), name the check that failed
// and the evidence folder of the failed attempt, and, when prod's own verification failed after
// its replacement, go back on its own to the last good revision: its image must still be on Hemma
// (never a rebuild), its recorded config comes back (ops/plan/rollbackConfig.ts), and one targeted
// `pulumi up` replaces only the image reference, prod's container and prod's checks, so prod is
// back after one container start plus its verification (no canary for a revision that already
// passed on this stack). A second, full `pulumi up` then brings eval (or the canary) back in line
// while prod stays a same step. Always ends non-zero: the deploy failed. A failing rollback stops
// and says so; nothing here ever starts another rollback. `--no-rollback` keeps the failed state.
//
// How the state tells: a failed Create stores nothing (pulumi-command v1.2.1
// provider/pkg/provider/local/commandController.go), so a check that passed for the container now
// in state has a command whose triggers hold that container's id; prod's container carries its
// revision as the org.opencontainers.image.revision label, and is absent when deleteBeforeReplace
// deleted it and its create failed (pulumi/pulumi v3.248.0 pkg/resource/deploy/step_generator.go).
// `--target` limits an update to the named URNs; untargeted resources get same steps
// (step_generator.go isTargetedForUpdate).

import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { CHECK_GROUPS, type CheckGroup } from "../../../components/laneVerification";
import { policyPackArgs } from "../../../gate/policyPackArgs";
import { LABEL_REVISION as REVISION_LABEL } from "../../../lib/projectFacts";
import { dockerExecFor, inspectImage } from "../../hemma/docker";
import { toRecords } from "../../plan/historyRecords";
import { labelDisagrees } from "../../plan/imageLabel";
import { planRollback, RollbackRefused } from "../../plan/rollback";
import { describeRestore, planConfigRestore } from "../../plan/rollbackConfig";
import { stackLocks } from "../../pulumi/backendLock";
import type { PulumiCli } from "../../pulumi/cli";
import { fetchAllHistory } from "../../pulumi/historyFetch";
import type { ConfigJson } from "../../pulumi/schemas";
import { type OpsConfig, parseRestoredConfig } from "../../pulumi/stackConfig";
import { type OpsContext, PROJECT_NAMESPACE } from "../../tool/context";
import { OpsError } from "../../tool/error";

const GROUPS = Object.keys(CHECK_GROUPS) as CheckGroup[];

const short = (rev: string) => rev.slice(0, 12);

/** The resources of `pulumi stack export` that the assessment reads. */
const exportSchema = z.object({
  deployment: z
    .object({
      resources: z
        .array(
          z.object({
            urn: z.string(),
            type: z.string(),
            id: z.string().optional(),
            inputs: z.record(z.string(), z.unknown()).optional(),
            outputs: z.record(z.string(), z.unknown()).optional(),
          }),
        )
        .nullish(),
    })
    .nullish(),
});

export interface StateResource {
  urn: string;
  type: string;
  name: string;
  id?: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** The URNs the program gives prod's image reference, container and checks (index.ts). */
export function prodRollbackTargets(stack: string, project = PROJECT_NAMESPACE): string[] {
  const urn = (typeChain: string, name: string) => `urn:pulumi:${stack}::${project}::${typeChain}::${name}`;
  return [
    urn("sir-convert-a-lot:hemma:RuntimeImage$docker:index/remoteImage:RemoteImage", "runtime-image"),
    urn("sir-convert-a-lot:hemma:ServiceLane$docker:index/container:Container", "prod"),
    ...GROUPS.map((g) => urn("sir-convert-a-lot:hemma:LaneVerification$command:local:Command", `prod-verify-${g}`)),
  ];
}

export async function readStateResources(pulumi: PulumiCli): Promise<StateResource[]> {
  const exp = await pulumi.json(["stack", "export", "--non-interactive"], exportSchema, "exporting the stack's state");
  return (exp.deployment?.resources ?? []).map((r) => ({
    ...r,
    name: r.urn.slice(r.urn.lastIndexOf("::") + 2),
    inputs: r.inputs ?? {},
    outputs: r.outputs ?? {},
  }));
}

/** Where a gate or lane stands after the failed update. */
export interface LaneAssessment {
  lane: string;
  /** The container's revision label in state; undefined when no container is in state. */
  containerRevision?: string;
  /** Check groups with no passed run for the container in state. */
  notPassed: CheckGroup[];
}

function labelValue(labels: unknown, key: string): string | undefined {
  if (!Array.isArray(labels)) return undefined;
  const hit = labels.find((l) => l && typeof l === "object" && (l as { label?: unknown }).label === key) as { value?: unknown } | undefined;
  return typeof hit?.value === "string" ? hit.value : undefined;
}

export function assessLane(resources: StateResource[], lane: string): LaneAssessment {
  const container = resources.find((r) => r.type === "docker:index/container:Container" && r.name === lane);
  const containerRevision = container ? labelValue(container.inputs.labels, REVISION_LABEL) : undefined;
  const notPassed = GROUPS.filter((g) => {
    const cmd = resources.find((r) => r.type === "command:local:Command" && r.name === `${lane}-verify-${g}`);
    const triggers = cmd?.inputs.triggers;
    return !(container?.id && Array.isArray(triggers) && triggers[1] === container.id);
  });
  return { lane, containerRevision, notPassed };
}

/** The canary command passed for this image when it is in state with the image's id in its triggers. */
function canaryPassed(resources: StateResource[]): boolean {
  const cmd = resources.find((r) => r.type === "command:local:Command" && r.name === "canary-verify");
  const image = resources.find((r) => r.type === "docker:index/remoteImage:RemoteImage" && r.name === "runtime-image");
  const id = image?.outputs.imageId;
  const triggers = cmd?.inputs.triggers;
  return Array.isArray(triggers) && id !== undefined && triggers[0] === id;
}

export interface Evidence {
  /** The timestamped run folder, relative to the project. */
  dir: string;
  failureLines: string[];
}

/** `<evidenceRoot>/<lane>-<rev12>/<group>/latest` when that run started at or after `sinceMs`. */
export function evidenceOf(projectDir: string, evidenceRoot: string, lane: string, revision: string, group: string, sinceMs: number): Evidence | undefined {
  const runs = path.posix.join(evidenceRoot, `${lane}-${short(revision)}`, group);
  let target: string;
  try {
    target = fs.readlinkSync(path.resolve(projectDir, runs, "latest"));
  } catch {
    return undefined;
  }
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(path.basename(target));
  if (!m || Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) < sinceMs - 2000) return undefined;
  const dir = path.posix.join(runs, path.basename(target));
  let failureLines: string[] = [];
  try {
    const report = JSON.parse(fs.readFileSync(path.resolve(projectDir, dir, "report.json"), "utf8")) as { failureLines?: unknown };
    if (Array.isArray(report.failureLines)) failureLines = report.failureLines.filter((l): l is string => typeof l === "string" && l.startsWith("FAIL"));
  } catch {
    // No report: the verifier did not get that far; the folder is still the evidence.
  }
  return { dir, failureLines };
}

/** One line per failed group: which checks, what failed, where the evidence is. */
function describeFailures(
  ctx: OpsContext,
  cfg: OpsConfig,
  lane: string,
  revision: string,
  groups: CheckGroup[],
  sinceMs: number,
): { text: string; folders: string[] } {
  const parts: string[] = [];
  const folders: string[] = [];
  for (const g of groups) {
    const ev = evidenceOf(ctx.projectDir, cfg.verification.evidenceRoot, lane, revision, g, sinceMs);
    if (!ev) {
      parts.push(`${lane}-verify-${g} (${CHECK_GROUPS[g].join(", ")}) did not pass and left no evidence of this attempt (it did not run or did not start)`);
      continue;
    }
    folders.push(ev.dir);
    parts.push(
      `${lane}-verify-${g} failed${ev.failureLines.length ? `: ${ev.failureLines.join("; ")}` : ` (${CHECK_GROUPS[g].join(", ")})`} — evidence ${ev.dir}`,
    );
  }
  return { text: parts.join("\n    "), folders };
}

/**
 * Notes SIGINT/SIGTERM while `pulumi up` runs (PulumiCli.foreground passes them on as a cancel and
 * keeps the process alive meanwhile): an update the operator cancelled is never rolled back on its own.
 */
export function watchInterrupts(): { seen(): boolean; stop(): void } {
  let seen = false;
  const note = (): void => {
    seen = true;
  };
  process.on("SIGINT", note);
  process.on("SIGTERM", note);
  return {
    seen: () => seen,
    stop: () => {
      process.removeListener("SIGINT", note);
      process.removeListener("SIGTERM", note);
    },
  };
}

export interface FailedDeploy {
  pulumi: PulumiCli;
  ctx: OpsContext;
  cfg: OpsConfig;
  /** The revision the failed update tried. */
  attempted: string;
  /** When the failed update started (ms since epoch). */
  startedMs: number;
  noRollback: boolean;
  /** The operator cancelled the update (Ctrl-C, SIGTERM): report, never roll back on our own. */
  interrupted?: boolean;
  /** What the failed `pulumi up` threw. */
  failure: unknown;
}

/**
 * Called by ops/cli/deploy.ts after its `pulumi up` failed (config already handled there). Throws an
 * OpsError in every case: the deploy failed, whatever the rollback did.
 */
export async function recoverFailedDeploy(f: FailedDeploy): Promise<never> {
  const { pulumi, ctx, cfg, attempted } = f;
  const ns = PROJECT_NAMESPACE;
  // An update may still run, or nothing ran at all (declined, refused before the engine): nothing to judge.
  if (stackLocks(pulumi.backendUrl, ns, ctx.stack).length > 0 || f.interrupted) throw f.failure;
  const [newest] = await pulumi.historyPage(1, 1);
  if (newest?.kind !== "update" || Date.parse(newest.startTime) < f.startedMs - 5000) throw f.failure;
  if (!cfg.verification.enabled || !cfg.lanes.prod.enabled) throw f.failure;

  const resources = await readStateResources(pulumi);
  // No image in state: the update never got that far (or this is not the program's state).
  if (!resources.some((r) => r.type === "docker:index/remoteImage:RemoteImage")) throw f.failure;
  const prod = assessLane(resources, "prod");
  const prodTouched = prod.containerRevision === undefined || prod.containerRevision === attempted;
  if (!prodTouched) throw gateStopped(f, resources, prod.containerRevision!);
  if (prod.notPassed.length === 0) throw f.failure;

  const failed = describeFailures(ctx, cfg, "prod", attempted, prod.notPassed, f.startedMs);
  const what = `prod's verification of ${short(attempted)} failed after its replacement:\n    ${failed.text}`;
  if (f.noRollback) {
    throw new OpsError(
      `${what}\n  --no-rollback: prod is left as it is (${prod.containerRevision ? `running ${short(attempted)}` : "no prod container"}) for debugging`,
      `debug with the evidence above and \`npm run verify -- --lane prod\`; return to the last good revision with \`npm run rollback\` (docs/runbook.md, 13. Incident checklist)`,
    );
  }

  // The last good revision, whose image must still be on Hemma: an automatic rollback never rebuilds.
  let plan: ReturnType<typeof planRollback>;
  try {
    plan = planRollback(toRecords(await fetchAllHistory(pulumi), ns), attempted);
  } catch (err) {
    if (!(err instanceof RollbackRefused)) throw err;
    throw new OpsError(`${what}\n  no automatic rollback: ${err.message}`, err.hint);
  }
  const docker = dockerExecFor(cfg.dockerHost, cfg.sshOpts, ctx);
  const image = await inspectImage(docker, plan.imageRef);
  const wrong = image && labelDisagrees(plan.target.revision, image);
  if (!image || wrong) {
    throw new OpsError(
      `${what}\n  no automatic rollback: ${plan.imageRef} ${wrong ? `on Hemma does not hold that revision's build: ${wrong}` : "is not on Hemma any more"}, and an automatic rollback never rebuilds`,
      `run \`npm run rollback\` (it rebuilds from the checkout at ${short(plan.target.revision)}; docs/runbook.md, 13. Incident checklist)`,
    );
  }

  const today: ConfigJson = await pulumi.config();
  const restore = planConfigRestore(plan.target.config, today, ns, false);
  try {
    parseRestoredConfig(today, restore, ns);
  } catch (err) {
    throw new OpsError(
      `${what}\n  no automatic rollback: the config recorded with ${short(plan.target.revision)} fails today's rules: ${(err as Error).message}`,
      "roll back by hand with `npm run rollback -- --to <revision>` (docs/runbook.md, 13. Incident checklist)",
    );
  }
  ctx.out(`auto-rollback: ${what}`);
  ctx.out(
    `auto-rollback: prod goes back to ${plan.target.revision} (last good, image ${image.id.replace(/^sha256:/, "").slice(0, 12)} still on Hemma: no rebuild)`,
  );
  for (const line of describeRestore(restore, plan.target.revision)) ctx.out(`auto-rollback: ${line}`);
  await pulumi.configSetAll(restore.set);
  for (const key of restore.remove) await pulumi.configRm(key);

  const stream = {
    out: (t: string) =>
      t
        .split("\n")
        .filter(Boolean)
        .forEach((l) => {
          ctx.out(`  | ${l}`);
        }),
    err: (t: string) =>
      t
        .split("\n")
        .filter(Boolean)
        .forEach((l) => {
          ctx.err(`  | ${l}`);
        }),
  };
  const upArgs = (message: string, targets: string[]) => [
    "up",
    "--yes",
    ...policyPackArgs(ctx.projectDir, ctx.stack),
    "--message",
    message,
    "--stack",
    ctx.stack,
    ...targets.flatMap((t) => ["--target", t]),
  ];
  const started = Date.now();
  ctx.out("auto-rollback: pulumi up of prod alone (its image, container and verification)...");
  const code = await pulumi.foreground(
    upArgs(`automatic rollback of prod to ${plan.target.revision} after ${attempted} failed prod's verification`, prodRollbackTargets(ctx.stack)),
    stream,
  );
  const seconds = Math.round((Date.now() - started) / 1000);
  if (code !== 0) {
    const again = assessLane(await readStateResources(pulumi), "prod");
    const again2 = describeFailures(ctx, cfg, "prod", plan.target.revision, again.notPassed, started);
    throw new OpsError(
      `${what}\n  the automatic rollback to ${short(plan.target.revision)} failed too (pulumi up exit code ${code} after ${seconds}s)${again2.text ? `:\n    ${again2.text}` : ""}\n  stopped: no further rollback is attempted; prod may be down`,
      `read the output above; config revision is now ${plan.target.revision}. Follow docs/runbook.md (13. Incident checklist): check Hemma (\`ssh hemma docker ps -a\`), then \`npm run rollback -- --to <an earlier good revision>\``,
    );
  }
  ctx.out(`auto-rollback: prod runs ${plan.target.revision} again, its verification passed (${seconds}s)`);
  ctx.out("auto-rollback: pulumi up of the whole stack, so eval (or the canary) matches the restored revision; prod stays as it is...");
  const converge = await pulumi.foreground(upArgs(`automatic rollback: the rest of the stack to ${plan.target.revision}`, []), stream);
  const tail =
    converge === 0
      ? "the rest of the stack matches it"
      : `the rest of the stack did not follow (pulumi up exit code ${converge}); prod is not affected, run \`npm run pulumi -- up --stack ${ctx.stack}\` after reading the output above`;
  throw new OpsError(
    `${what}\n  rolled back automatically: prod serves ${plan.target.revision} again and passed its verification; ${tail}`,
    `the failed attempt's evidence is listed above (${failed.folders.join(", ") || "none written"}); fix the image and deploy again, or keep it for debugging next time with \`npm run deploy -- --no-rollback\``,
  );
}

/** The update failed before prod was touched: the canary gate held, or something else failed first. */
function gateStopped(f: FailedDeploy, resources: StateResource[], prodRevision: string): OpsError {
  const { ctx, cfg, attempted } = f;
  let detail = "something failed before prod's container was touched (see the pulumi output above)";
  if (cfg.verification.enabled && cfg.lanes.eval.enabled) {
    const evalLane = assessLane(resources, "eval");
    if (evalLane.notPassed.length > 0) {
      detail = `the canary gate stopped it, eval's verification failed:\n    ${describeFailures(ctx, cfg, "eval", attempted, evalLane.notPassed, f.startedMs).text}`;
    }
  } else if (cfg.verification.enabled && !canaryPassed(resources)) {
    const ev = evidenceOf(ctx.projectDir, cfg.verification.evidenceRoot, "canary", attempted, "all", f.startedMs);
    detail = `the canary gate stopped it, the canary's verification failed${ev ? `${ev.failureLines.length ? `: ${ev.failureLines.join("; ")}` : ""} — evidence ${ev.dir}` : " (no evidence of this attempt: it did not start)"}`;
  }
  return new OpsError(
    `the deploy of ${short(attempted)} failed: ${detail}\n  prod was not touched: it still runs ${short(prodRevision)}; no rollback needed`,
    "read the evidence above (docs/runbook.md, 12.3 A verification failed); fix the image and deploy again",
  );
}
