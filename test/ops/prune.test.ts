// Image retention: the keep set comes from stack history (last N distinct good revisions plus the
// current one); `npm run prune` removes the rest on Hemma (fake ssh), never one a container uses.
import * as fs from "node:fs";
import { main } from "../../ops/cli/prune";
import { toRecords } from "../../ops/plan/historyRecords";
import { planPrune, revisionsToKeep } from "../../ops/plan/prune";
import { historyPageSchema } from "../../ops/pulumi/historySchema";
import { captureContext, imageConfig, imageId, imageRow, loadHistory, makeSandbox, NS, type Sandbox, SHA, stackConfig } from "./helpers";

const records = toRecords(historyPageSchema.parse(loadHistory()), NS);
const OLD = "0000000000000000000000000000000000000bad";
const USED_OLD = "0000000000000000000000000000000000000abc";

describe("revisionsToKeep", () => {
  it("keeps the last N distinct good revisions plus the current config revision", () => {
    expect(revisionsToKeep(records, SHA.D, 2).map((k) => k.revision)).toEqual([SHA.D, SHA.C, SHA.B]);
    expect(revisionsToKeep(records, SHA.C, 5).map((k) => k.revision)).toEqual([SHA.C, SHA.B, SHA.A]);
    expect(revisionsToKeep(records, SHA.C, 1).map((k) => k.revision)).toEqual([SHA.C]);
  });
});

describe("planPrune", () => {
  const images = [
    imageRow(SHA.A, imageId(1)),
    imageRow(SHA.B, imageId(2)),
    imageRow(SHA.C, imageId(3)),
    imageRow(OLD, imageId(9)),
    imageRow(USED_OLD, imageId(8)),
    imageRow("local", imageId(7)),
  ];
  const containers = [{ name: "sir_convert_a_lot_eval", state: "exited", imageRef: imageId(8), imageId: imageId(8) }];

  it("removes only images outside the keep set that no container uses, and leaves non-revision tags alone", () => {
    const plan = planPrune(images, containers, revisionsToKeep(records, SHA.C, 2));
    const removed = plan.filter((d) => d.action === "remove").map((d) => d.ref);
    expect(removed.sort()).toEqual([`sir-convert-a-lot-runtime:${SHA.A}`, `sir-convert-a-lot-runtime:${OLD}`].sort());
    expect(plan.find((d) => d.ref.endsWith(USED_OLD))!.reason).toMatch(/used by container sir_convert_a_lot_eval \(exited\)/);
    expect(plan.find((d) => d.ref.endsWith(":local"))!.action).toBe("keep");
  });

  it("treats a container created from the tag (not the ID) as a user too", () => {
    const plan = planPrune([imageRow(OLD, imageId(9))], [{ name: "scratch", state: "running", imageRef: `sir-convert-a-lot-runtime:${OLD}`, imageId: "" }], []);
    expect(plan[0].action).toBe("keep");
  });
});

describe("npm run prune", () => {
  let sb: Sandbox;
  afterEach(() => sb?.cleanup());

  function setup(keepRevisions = 2): Sandbox {
    sb = makeSandbox(
      { history: loadHistory(), config: { ...stackConfig(SHA.C), [`${NS}:image`]: imageConfig(true, keepRevisions) } },
      {
        images: [
          imageRow(SHA.A, imageId(1)),
          imageRow(SHA.B, imageId(2)),
          imageRow(SHA.C, imageId(3)),
          imageRow(OLD, imageId(9)),
          imageRow(USED_OLD, imageId(8)),
        ],
        containers: [
          { ID: "c".repeat(64), Names: "sir_convert_a_lot_prod", Image: imageId(3), ImageID: imageId(3), State: "running" },
          { ID: "d".repeat(64), Names: "debug_shell", Image: `sir-convert-a-lot-runtime:${USED_OLD}`, ImageID: imageId(8), State: "exited" },
        ],
      },
    );
    return sb;
  }

  it("--dry-run lists what would go and removes nothing", async () => {
    const s = setup();
    const cap = captureContext(s.env);
    expect(await main(["--dry-run"], cap.ctx)).toBe(0);
    expect(cap.text()).toMatch(new RegExp(`REMOVE sir-convert-a-lot-runtime:${SHA.A}`));
    expect(cap.text()).toMatch(/Dry run: 2 image\(s\) would be removed/);
    expect(s.hemmaState().images).toHaveLength(5);
    expect(s.sshCalls().some((c) => c.argv.join(" ").includes("image rm"))).toBe(false);
  });

  it("removes the images older than config image.keepRevisions, keeping used and recent ones", async () => {
    const s = setup(2);
    const cap = captureContext(s.env);
    expect(await main(["--yes"], cap.ctx)).toBe(0);
    expect(
      s
        .hemmaState()
        .images.map((i: { Tag: string }) => i.Tag)
        .sort(),
    ).toEqual([SHA.B, SHA.C, USED_OLD].sort());
    expect(cap.text()).toMatch(/Removed 2 image\(s\); kept 3/);
  });

  it("--keep overrides the config", async () => {
    const s = setup(2);
    const cap = captureContext(s.env);
    expect(await main(["--keep", "3", "--yes"], cap.ctx)).toBe(0);
    expect(
      s
        .hemmaState()
        .images.map((i: { Tag: string }) => i.Tag)
        .sort(),
    ).toEqual([SHA.A, SHA.B, SHA.C, USED_OLD].sort());
  });

  it("reads each image's revision label and flags (never removes) one whose label disagrees with its tag", async () => {
    const s = setup(2);
    // OLD would be removed, but the image under that tag says it is revision B's build.
    const hemma = s.hemmaState();
    hemma.images.find((i: { Tag: string }) => i.Tag === OLD).Labels = { "org.opencontainers.image.revision": SHA.B };
    fs.writeFileSync(s.env.FAKE_HEMMA_STATE!, JSON.stringify(hemma));
    const cap = captureContext(s.env);
    expect(await main(["--dry-run"], cap.ctx)).toBe(0);
    expect(cap.text()).toMatch(new RegExp(`FLAG   sir-convert-a-lot-runtime:${OLD} .*label says ${SHA.B}, not ${OLD}`));
    expect(cap.text()).toMatch(/warning: 1 image\(s\) are tagged with one revision but labelled with another/);
    expect(cap.text()).toMatch(/Dry run: 1 image\(s\) would be removed/);
    expect(s.sshCalls().some((c) => c.argv.join(" ").includes("docker image inspect --format '{{.Id}} {{json .Config.Labels}}'"))).toBe(true);
  });

  it("rejects --keep 0", async () => {
    const s = setup();
    const cap = captureContext(s.env);
    expect(await main(["--keep", "0"], cap.ctx)).toBe(2);
    expect(s.sshCalls()).toHaveLength(0);
  });
});

// Issue 11 "Destructive by accident": npm swallows `npm run prune --dry-run` (no `--`) and sets
// npm_config_dry_run=true instead (npm's config flags become npm_config_* in the script's env).
describe("npm run prune: nothing destructive by accident", () => {
  let sb: Sandbox;
  afterEach(() => sb?.cleanup());
  const hemma = { images: [imageRow(SHA.A, imageId(1)), imageRow(OLD, imageId(9))], containers: [] };

  it("honours npm_config_dry_run (npm run prune --dry-run without --)", async () => {
    sb = makeSandbox({ history: loadHistory(), config: stackConfig(SHA.C) }, hemma);
    const cap = captureContext({ ...sb.env, npm_config_dry_run: "true" });
    expect(await main([], cap.ctx)).toBe(0);
    expect(cap.text()).toMatch(/Dry run: 1 image\(s\) would be removed/);
    expect(sb.hemmaState().images).toHaveLength(2);
  });

  it("without --yes refuses when there is no terminal, and asks when there is one", async () => {
    sb = makeSandbox({ history: loadHistory(), config: stackConfig(SHA.C) }, hemma);
    const noTty = captureContext(sb.env);
    expect(await main([], noTty.ctx)).toBe(1);
    expect(noTty.text()).toMatch(/error: refusing to remove 1 image\(s\) without confirmation/);
    expect(sb.hemmaState().images).toHaveLength(2);
    const questions: string[] = [];
    const declined = captureContext(sb.env, {
      isTTY: true,
      prompt: async (q) => {
        questions.push(q);
        return "n";
      },
    });
    expect(await main([], declined.ctx)).toBe(1);
    expect(questions[0]).toContain("Remove 1 image(s) from Hemma?");
    expect(sb.hemmaState().images).toHaveLength(2);
    expect(await main(["--yes"], captureContext(sb.env).ctx)).toBe(0);
    expect(sb.hemmaState().images.map((i: { Tag: string }) => i.Tag)).toEqual([SHA.A]);
  });

  it("refuses when the history holds no deployed revision, removing nothing", async () => {
    sb = makeSandbox({ history: [], config: stackConfig(SHA.C) }, hemma);
    const cap = captureContext(sb.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/error: the hemma stack's history holds no successfully deployed revision/);
    expect(sb.sshCalls()).toHaveLength(0);
  });
});
