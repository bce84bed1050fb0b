// `npm run deploy` / `npm run preview` with a fake pulumi: the checkout's HEAD becomes config
// revision, then pulumi up/preview runs on the stack with the policy pack.
import * as fs from "fs";
import { main } from "../../ops/deploy";
import { captureContext, commandsOf, imageConfig, makeGitRepo, makeSandbox, NS, Sandbox, SHA, sourceConfig, stackConfig } from "./helpers";

let sb: Sandbox;
let repo: { dir: string; head: string };
beforeEach(() => (repo = makeGitRepo()));
afterEach(() => {
  sb?.cleanup();
  fs.rmSync(repo.dir, { recursive: true, force: true });
});

describe("deploy", () => {
  it("records the checkout's HEAD as revision and runs pulumi up with the policy pack", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) });
    const cap = captureContext(sb.env);
    expect(await main(["--yes"], cap.ctx)).toBe(0);
    expect(commandsOf(sb.pulumiCalls())).toEqual(["stack select", "config", "config set", "up"]);
    expect(sb.pulumiCalls()[0].argv).toEqual(expect.arrayContaining(["--create", "--secrets-provider", "passphrase", "--stack", "hemma"]));
    const up = sb.pulumiCalls()[3];
    expect(up.argv).toEqual(["up", "--stack", "hemma", "--policy-pack", "policy", "--yes"]);
    expect(up.config![`${NS}:revision`].value).toBe(repo.head);
    expect(cap.text()).toContain(`was ${SHA.C}`);
  });

  it("--preview runs pulumi preview --diff and reports failures with what to do", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), previewExitCode: 1 });
    const cap = captureContext(sb.env);
    expect(await main(["--preview"], cap.ctx)).toBe(1);
    const preview = sb.pulumiCalls().find((c) => c.argv[0] === "preview")!;
    expect(preview.argv).toEqual(["preview", "--stack", "hemma", "--policy-pack", "policy", "--diff"]);
    expect(cap.text()).toMatch(/pulumi preview failed with exit code 1/);
    expect(cap.text()).toMatch(/nothing was changed on Hemma/);
  });

  it("--preview previews the checkout's HEAD and puts the recorded revision back", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) });
    const cap = captureContext(sb.env);
    expect(await main(["--preview"], cap.ctx)).toBe(0);
    const preview = sb.pulumiCalls().find((c) => c.argv[0] === "preview")!;
    expect(preview.config![`${NS}:revision`].value).toBe(repo.head);
    expect(sb.pulumiState().config[`${NS}:revision`].value).toBe(SHA.C);
    expect(cap.text()).toContain(`restored to ${SHA.C}`);
  });

  it("--preview on a never-deployed stack leaves revision unset afterwards, even when the preview fails", async () => {
    const config = stackConfig(SHA.C, sourceConfig({ path: repo.dir }));
    delete (config as Record<string, unknown>)[`${NS}:revision`];
    sb = makeSandbox({ config, previewExitCode: 1 });
    const cap = captureContext(sb.env);
    expect(await main(["--preview"], cap.ctx)).toBe(1);
    expect(sb.pulumiState().config[`${NS}:revision`]).toBeUndefined();
    expect(commandsOf(sb.pulumiCalls())).toEqual(["stack select", "config", "config set", "preview", "config rm"]);
  });

  it("turns image building back on after a rollback left it off (and a preview puts it back)", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, { ...sourceConfig({ path: repo.dir }), [`${NS}:image`]: imageConfig(false) }) });
    const cap = captureContext(sb.env);
    expect(await main(["--preview"], cap.ctx)).toBe(0);
    const preview = sb.pulumiCalls().find((c) => c.argv[0] === "preview")!;
    expect(preview.config![`${NS}:image`].objectValue.build).toBe(true);
    expect(sb.pulumiState().config[`${NS}:image`].objectValue.build).toBe(false);

    expect(await main(["--yes"], cap.ctx)).toBe(0);
    const up = sb.pulumiCalls().find((c) => c.argv[0] === "up")!;
    expect(up.config![`${NS}:image`].objectValue.build).toBe(true);
    expect(up.config![`${NS}:revision`].value).toBe(repo.head);
    expect(cap.text()).toContain("image.build = true (was false after a rollback");
  });

  it("passes policy/config.<stack>.json to pulumi when the project has one", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) });
    fs.mkdirSync(`${sb.dir}/policy`);
    fs.writeFileSync(`${sb.dir}/policy/config.hemma.json`, JSON.stringify({ "gpu-first-env": { evalCpuDecision: "ADR-7" } }));
    const cap = captureContext(sb.env, { projectDir: sb.dir });
    expect(await main(["--preview"], cap.ctx)).toBe(0);
    const preview = sb.pulumiCalls().find((c) => c.argv[0] === "preview")!;
    expect(preview.argv).toEqual(["preview", "--stack", "hemma", "--policy-pack", "policy", "--policy-pack-config", "policy/config.hemma.json", "--diff"]);
  });

  it("refuses without the stack passphrase, before running pulumi", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) });
    const { PULUMI_CONFIG_PASSPHRASE: _omitted, ...env } = sb.env;
    const cap = captureContext(env, { projectDir: sb.dir });
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set/);
    expect(cap.text()).toMatch(/what to do: export PULUMI_CONFIG_PASSPHRASE_FILE=/);
    expect(sb.pulumiCalls()).toHaveLength(0);
  });

  it("needs no passphrase when the stack file names another secrets provider", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) });
    fs.writeFileSync(`${sb.dir}/Pulumi.hemma.yaml`, "secretsprovider: awskms://alias/pulumi\nconfig: {}\n");
    const { PULUMI_CONFIG_PASSPHRASE: _omitted, ...env } = sb.env;
    const cap = captureContext(env, { projectDir: sb.dir });
    expect(await main(["--yes"], cap.ctx)).toBe(0);
  });

  it("refuses when the source checkout is missing, before touching the stack config", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: `${repo.dir}/nope` })) });
    const cap = captureContext(sb.env);
    expect(await main([], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/could not read HEAD of the source checkout/);
    expect(commandsOf(sb.pulumiCalls())).not.toContain("config set");
  });
});
