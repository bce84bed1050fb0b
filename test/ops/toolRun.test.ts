// One object per tool run (ops/tool/run.ts): the stack config is read from the pinned CLI once and
// parsed once, however many of config, configJson, docker and hemma a command uses, and Hemma's
// access comes from that config.
import { ToolRun } from "../../ops/tool/run";
import { captureContext, makeSandbox, type Sandbox, stackConfig } from "./helpers";

const REV = "a".repeat(40);

describe("ToolRun", () => {
  let sb: Sandbox;
  afterEach(() => sb?.cleanup());

  it("reads `pulumi config` once per run and derives docker and the ssh target from it", async () => {
    sb = makeSandbox({ config: stackConfig(REV, { "sir-convert-a-lot:dockerHost": { value: "ssh://operator@hemma.lan:2222", secret: false } }) });
    const run = new ToolRun(captureContext(sb.env).ctx);
    const [cfg, json, target] = await Promise.all([run.config(), run.configJson(), run.hemma()]);
    await run.docker();
    expect(cfg.revision).toBe(REV);
    expect(json["sir-convert-a-lot:revision"]).toEqual({ value: REV, secret: false });
    expect(target).toMatchObject({ destination: "operator@hemma.lan", port: 2222 });
    expect(sb.pulumiCalls().filter((c: { argv: string[] }) => c.argv[0] === "config")).toHaveLength(1);
  });

  it("a docker host that is not ssh:// refuses the ssh target, naming why, after the same single read", async () => {
    sb = makeSandbox({ config: stackConfig(REV, { "sir-convert-a-lot:dockerHost": { value: "tcp://hemma:2375", secret: false } }) });
    const run = new ToolRun(captureContext(sb.env).ctx);
    await expect(run.hemma()).rejects.toThrow(/not an ssh:\/\/ URL/);
    await expect(run.config()).resolves.toMatchObject({ dockerHost: "tcp://hemma:2375" });
    expect(sb.pulumiCalls().filter((c: { argv: string[] }) => c.argv[0] === "config")).toHaveLength(1);
  });
});
