// `npm run deploy` after a failed `pulumi up` (ops/cli/deploy/autoRollback.ts), with the fake pulumi and ssh
// of test/ops/bin: the stack's state after the failed update says whether prod was touched and
// which of its checks passed (pulumi-command v1.2.1 local/commandController.go: a failed Create
// stores nothing, so a passed check is a command whose triggers hold the container's id), the
// evidence folders say what failed. prod's failed verification goes back on its own to the last
// good revision (image on Hemma, no rebuild) with a targeted up of prod alone, then a full up;
// --no-rollback keeps the failed state; a failing rollback stops; a canary failure needs none.
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "../../ops/cli/deploy";
import { prodRollbackTargets } from "../../ops/cli/deploy/autoRollback";
import { runStack } from "../harness/stack";
import {
  captureContext,
  commandsOf,
  gitRepoPerTest,
  imageId,
  imageRow,
  loadHistory,
  makeSandbox,
  NS,
  type Sandbox,
  SHA,
  sourceConfig,
  stackConfig,
} from "./helpers";

let sb: Sandbox;
const repo = gitRepoPerTest(() => sb?.cleanup());

const GROUPS = ["health", "gpu", "smoke"];
const urn = (chain: string, name: string) => `urn:pulumi:hemma::sir-convert-a-lot::${chain}::${name}`;

/** The state a failed update leaves: each lane's container (revision label, id) and its passed checks. */
function stateAfter(lanes: Record<string, { revision: string; id: string; passed: string[] } | undefined>) {
  const resources: unknown[] = [
    {
      urn: urn("sir-convert-a-lot:hemma:RuntimeImage$docker:index/remoteImage:RemoteImage", "runtime-image"),
      type: "docker:index/remoteImage:RemoteImage",
      id: "img",
      inputs: {},
      outputs: { imageId: imageId(9) },
    },
  ];
  for (const [lane, c] of Object.entries(lanes)) {
    if (c) {
      resources.push({
        urn: urn("sir-convert-a-lot:hemma:ServiceLane$docker:index/container:Container", lane),
        type: "docker:index/container:Container",
        id: c.id,
        inputs: {
          labels: [
            { label: "org.sir-convert-a-lot.lane", value: lane },
            { label: "org.opencontainers.image.revision", value: c.revision },
          ],
        },
      });
    }
    for (const g of GROUPS) {
      // A check that did not pass keeps the command of the container before (or none).
      const containerId = c?.passed.includes(g) ? c.id : `${lane}-older`;
      resources.push({
        urn: urn("sir-convert-a-lot:hemma:LaneVerification$command:local:Command", `${lane}-verify-${g}`),
        type: "command:local:Command",
        id: `${lane}-${g}`,
        inputs: { triggers: [imageId(9), containerId] },
      });
    }
  }
  return { version: 3, deployment: { manifest: { time: "2026-01-01T00:00:00Z", magic: "x", version: "v3" }, resources } };
}

/** What the verifier leaves for one failed run of this attempt: a timestamped folder, latest, report.json. */
function writeEvidence(project: string, lane: string, revision: string, group: string, failureLines: string[]): string {
  const stamp = new Date(Date.now() + 60_000)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const runs = path.join(project, ".verification", `${lane}-${revision.slice(0, 12)}`, group);
  fs.mkdirSync(path.join(runs, stamp), { recursive: true });
  fs.writeFileSync(path.join(runs, stamp, "report.json"), JSON.stringify({ ok: false, failureLines }));
  fs.symlinkSync(stamp, path.join(runs, "latest"));
  return `.verification/${lane}-${revision.slice(0, 12)}/${group}/${stamp}`;
}

const GPU_FAIL = "FAIL gpu: expected GPU use by the lane container's processes during pdf->md, saw none (0 samples above idle)";

function setup(opts: { upExitCodes: number[]; export: unknown; images?: unknown[] }): Sandbox {
  sb = makeSandbox(
    { history: loadHistory(), config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), upExitCodes: opts.upExitCodes, export: opts.export },
    { images: opts.images ?? [imageRow(SHA.C, imageId(3))], containers: [] },
  );
  return sb;
}

const ups = (s: Sandbox) => s.pulumiCalls().filter((c) => c.argv[0] === "up" && c.signal === undefined);
const targetsOf = (call: { argv: string[] }) => call.argv.flatMap((a, i) => (call.argv[i - 1] === "--target" ? [a] : []));

describe("automatic rollback after prod's verification failed", () => {
  test("goes back to the last good revision without a rebuild, prod alone first, then the rest; exits non-zero naming the check and evidence", async () => {
    const s = setup({
      upExitCodes: [1, 0, 0],
      export: stateAfter({
        prod: { revision: repo.head, id: "prod-new", passed: ["health", "smoke"] },
        eval: { revision: repo.head, id: "eval-new", passed: GROUPS },
      }),
    });
    const evidence = writeEvidence(s.project, "prod", repo.head, "gpu", [GPU_FAIL]);
    const cap = captureContext(s.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);

    const [deploy, prodOnly, converge] = ups(s);
    expect(ups(s)).toHaveLength(3);
    expect(deploy.config![`${NS}:revision`].value).toBe(repo.head);
    // prod alone: its image reference, container and checks, never eval, the canary or a volume.
    expect(targetsOf(prodOnly)).toEqual(prodRollbackTargets("hemma"));
    expect(targetsOf(prodOnly).join(" ")).not.toMatch(/eval|canary|Volume/);
    expect(prodOnly.config![`${NS}:revision`].value).toBe(SHA.C);
    expect(prodOnly.config![`${NS}:image`].objectValue.build).toBe(false);
    expect(prodOnly.argv).toEqual(expect.arrayContaining(["--yes", "--policy-pack", "policy", "--stack", "hemma"]));
    expect(targetsOf(converge)).toEqual([]);
    expect(s.pulumiState().config[`${NS}:revision`].value).toBe(SHA.C);

    const text = cap.text();
    expect(text).toContain(`prod's verification of ${repo.head.slice(0, 12)} failed after its replacement`);
    expect(text).toContain(`prod-verify-gpu failed: ${GPU_FAIL} — evidence ${evidence}`);
    expect(text).toMatch(new RegExp(`auto-rollback: prod goes back to ${SHA.C} \\(last good, image 0{12} still on Hemma: no rebuild\\)`));
    expect(text).toContain(`error: prod's verification of ${repo.head.slice(0, 12)} failed`);
    expect(text).toContain(`rolled back automatically: prod serves ${SHA.C} again and passed its verification; the rest of the stack matches it`);
    expect(text).not.toMatch(/prod-verify-(health|smoke) failed/);
  });

  test("--no-rollback keeps the failed state and says how to go back", async () => {
    const s = setup({
      upExitCodes: [1],
      export: stateAfter({ prod: { revision: repo.head, id: "prod-new", passed: [] }, eval: { revision: repo.head, id: "eval-new", passed: GROUPS } }),
    });
    const evidence = writeEvidence(s.project, "prod", repo.head, "health", ["FAIL readiness: expected /readyz ready within 180 s, saw 503 not_ready"]);
    const cap = captureContext(s.env);
    expect(await main(["--yes", "--no-rollback"], cap.ctx)).toBe(1);
    expect(ups(s)).toHaveLength(1);
    expect(commandsOf(s.pulumiCalls())).not.toContain("config set-all");
    expect(s.pulumiState().config[`${NS}:revision`].value).toBe(repo.head);
    const text = cap.text();
    expect(text).toContain(`prod-verify-health failed: FAIL readiness: expected /readyz ready within 180 s, saw 503 not_ready — evidence ${evidence}`);
    // gpu and smoke never ran (they wait on health): said so, not blamed.
    expect(text).toContain("prod-verify-gpu (gpu) did not pass and left no evidence of this attempt");
    expect(text).toContain(`--no-rollback: prod is left as it is (running ${repo.head.slice(0, 12)}) for debugging`);
    expect(text).toContain("what to do: debug with the evidence above");
  });

  test("a rollback that fails too stops there and says so: no converge, no second rollback", async () => {
    const s = setup({
      upExitCodes: [1, 1, 0, 0],
      export: stateAfter({ prod: { revision: repo.head, id: "prod-new", passed: ["health"] }, eval: { revision: repo.head, id: "eval-new", passed: GROUPS } }),
    });
    writeEvidence(s.project, "prod", repo.head, "smoke", ["FAIL smoke: expected a docx, saw job failed"]);
    const cap = captureContext(s.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(ups(s)).toHaveLength(2);
    const text = cap.text();
    expect(text).toContain(`the automatic rollback to ${SHA.C.slice(0, 12)} failed too (pulumi up exit code 1`);
    expect(text).toContain("stopped: no further rollback is attempted; prod may be down");
    expect(text).toContain("prod-verify-smoke failed: FAIL smoke: expected a docx, saw job failed");
  });

  test("the last good revision's image gone from Hemma: no automatic rebuild, says what to run", async () => {
    const s = setup({
      upExitCodes: [1],
      images: [],
      export: stateAfter({
        prod: { revision: repo.head, id: "prod-new", passed: ["health", "smoke"] },
        eval: { revision: repo.head, id: "eval-new", passed: GROUPS },
      }),
    });
    writeEvidence(s.project, "prod", repo.head, "gpu", [GPU_FAIL]);
    const cap = captureContext(s.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(ups(s)).toHaveLength(1);
    expect(cap.text()).toContain(
      `no automatic rollback: sir-convert-a-lot-runtime:${SHA.C} is not on Hemma any more, and an automatic rollback never rebuilds`,
    );
    expect(cap.text()).toContain("what to do: run `npm run rollback`");
  });

  test("prod's container deleted and not recreated (deleteBeforeReplace, failed create) counts as touched", async () => {
    const s = setup({ upExitCodes: [1, 0, 0], export: stateAfter({ prod: undefined, eval: { revision: repo.head, id: "eval-new", passed: GROUPS } }) });
    const cap = captureContext(s.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(ups(s)).toHaveLength(3);
    expect(cap.text()).toContain("prod-verify-health (readiness, liveness, metrics) did not pass and left no evidence of this attempt");
  });
});

describe("an update the operator cancelled", () => {
  test("Ctrl-C during pulumi up is never followed by an automatic rollback", async () => {
    const s = setup({
      upExitCodes: [0, 0, 0],
      export: stateAfter({ prod: { revision: repo.head, id: "prod-new", passed: [] }, eval: { revision: repo.head, id: "eval-new", passed: GROUPS } }),
    });
    const state = s.pulumiState();
    fs.writeFileSync(path.join(s.dir, "pulumi-state.json"), JSON.stringify({ ...state, upSleepMs: 5000 }));
    const cap = captureContext(s.env);
    const run = main(["--yes"], cap.ctx);
    // Signal once the fake pulumi's up is running (it logs itself after installing its SIGINT handler).
    const until = Date.now() + 20_000;
    while (ups(s).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(ups(s)).toHaveLength(1);
    // The listeners a real Ctrl-C reaches (a real signal would also reach the jest runner itself).
    process.emit("SIGINT", "SIGINT");
    expect(await run).toBe(1);
    expect(ups(s)).toHaveLength(1);
    expect(cap.text()).not.toContain("auto-rollback");
    expect(s.pulumiState().history[0].result).toBe("failed");
  });
});

describe("the canary gate held: no rollback needed", () => {
  test("eval's verification failed: prod was not touched, the message names eval's check and evidence", async () => {
    const s = setup({
      upExitCodes: [1, 0],
      export: stateAfter({ prod: { revision: SHA.C, id: "prod-old", passed: GROUPS }, eval: { revision: repo.head, id: "eval-new", passed: ["health"] } }),
    });
    const evidence = writeEvidence(s.project, "eval", repo.head, "gpu", [GPU_FAIL]);
    const cap = captureContext(s.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(ups(s)).toHaveLength(1);
    const text = cap.text();
    expect(text).toContain(`the deploy of ${repo.head.slice(0, 12)} failed: the canary gate stopped it, eval's verification failed`);
    expect(text).toContain(`eval-verify-gpu failed: ${GPU_FAIL} — evidence ${evidence}`);
    expect(text).toContain(`prod was not touched: it still runs ${SHA.C.slice(0, 12)}; no rollback needed`);
  });

  test("with eval disabled, the canary's failure is named with its evidence", async () => {
    const lanes = { prod: { enabled: true }, eval: { enabled: false } };
    sb = makeSandbox(
      {
        history: loadHistory(),
        config: stackConfig(SHA.C, {
          ...sourceConfig({ path: repo.dir }),
          [`${NS}:lanes`]: { value: JSON.stringify(lanes), objectValue: lanes, secret: false },
        }),
        upExitCodes: [1],
        export: stateAfter({ prod: { revision: SHA.C, id: "prod-old", passed: GROUPS } }),
      },
      { images: [imageRow(SHA.C, imageId(3))], containers: [] },
    );
    const evidence = writeEvidence(sb.project, "canary", repo.head, "all", [GPU_FAIL]);
    const cap = captureContext(sb.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(cap.text()).toContain(`the canary gate stopped it, the canary's verification failed: ${GPU_FAIL} — evidence ${evidence}`);
    expect(cap.text()).toContain("no rollback needed");
  });
});

describe("rollback targets", () => {
  test("are the URNs the program gives prod's image reference, container and checks", async () => {
    const run = await runStack();
    const urns = new Set(run.resources.map((r) => r.urn));
    for (const target of prodRollbackTargets("hemma")) expect(urns).toContain(target);
  });
});
