// The order `npm run preview` prints (components/canaryOrder.ts): canary first, prod after it,
// only when the image changes, from the same config facts the stack's gate uses; and the preview
// tool prints it (run with the fake pulumi and ssh of test/ops/bin).
import * as fs from "node:fs";
import { deployOrder, type OrderFacts } from "../../components/canaryOrder";
import { main } from "../../ops/cli/deploy";
import { captureContext, imageConfig, makeGitRepo, makeSandbox, NS, SHA, sourceConfig, stackConfig } from "../ops/helpers";

const lanes = (evalEnabled = true): OrderFacts["lanes"] => ({
  prod: { enabled: true, containerName: "sir_convert_a_lot_prod" },
  eval: { enabled: evalEnabled, containerName: "sir_convert_a_lot_eval" },
});
const facts = (over: Partial<OrderFacts> = {}): OrderFacts => ({
  deployedRevision: SHA.A,
  nextRevision: SHA.B,
  build: false,
  verificationEnabled: true,
  lanes: lanes(),
  ...over,
});

describe("deploy order", () => {
  test("a new image: eval is the canary, then prod, then prod's own verification with rollback", () => {
    const lines = deployOrder(facts());
    expect(lines[0]).toBe(`Order (canary gate): the image changes (${SHA.A.slice(0, 12)} -> ${SHA.B.slice(0, 12)})`);
    expect(lines[1]).toMatch(/^ {2}1\. canary = eval: sir_convert_a_lot_eval is replaced from the new image and verified/);
    expect(lines[2]).toMatch(/^ {2}2\. prod: sir_convert_a_lot_prod is replaced only after the canary passed/);
    expect(lines[3]).toMatch(/rolls back on its own/);
  });

  test("eval disabled: the short-lived canary comes first", () => {
    const lines = deployOrder(facts({ lanes: lanes(false) }));
    expect(lines[1]).toMatch(/1\. canary: eval is disabled, so a short-lived sir_convert_a_lot_canary .* scratch volume sir-convert-a-lot-canary-scratch/);
    expect(lines[2]).toMatch(/2\. prod/);
  });

  test("the same image: no canary runs", () => {
    expect(deployOrder(facts({ nextRevision: SHA.A }))).toEqual([
      `Order (canary gate): the image does not change (${SHA.A.slice(0, 12)}): no canary runs; a change of one lane's own settings replaces only that lane, at once`,
    ]);
  });

  test("a rebuild of the same revision is a new image; a first deploy has nothing before it", () => {
    expect(deployOrder(facts({ nextRevision: SHA.A, build: true }))[0]).toContain(", built on Hemma)");
    expect(deployOrder(facts({ deployedRevision: undefined }))[0]).toContain("(nothing deployed -> ");
  });

  test("verification off: says there is no gate and why", () => {
    expect(deployOrder(facts({ verificationEnabled: false }))[1]).toMatch(/no gate: verification is off/);
  });
});

describe("npm run preview prints the order", () => {
  test("canary then prod, for the checkout's HEAD against the deployed revision", async () => {
    const repo = makeGitRepo();
    const sb = makeSandbox({ config: stackConfig(SHA.C, { ...sourceConfig({ path: repo.dir }), [`${NS}:image`]: imageConfig(false) }) });
    try {
      const cap = captureContext(sb.env);
      expect(await main(["--preview"], cap.ctx)).toBe(0);
      const text = cap.text();
      const canary = text.indexOf("1. canary = eval");
      const prod = text.indexOf("2. prod: sir_convert_a_lot_prod is replaced only after the canary passed");
      expect(text).toContain(`Order (canary gate): the image changes (${SHA.C.slice(0, 12)} -> ${repo.head.slice(0, 12)}, built on Hemma)`);
      expect(canary).toBeGreaterThan(0);
      expect(prod).toBeGreaterThan(canary);
      expect(text.indexOf("Preview of")).toBeGreaterThan(prod);
    } finally {
      sb.cleanup();
      fs.rmSync(repo.dir, { recursive: true, force: true });
    }
  });
});
