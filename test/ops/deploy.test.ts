// `npm run deploy` / `npm run preview` with fake pulumi and ssh: the checkout's HEAD becomes config
// revision (built only when its image is not on Hemma), pulumi up/preview runs with the policy
// pack, and the config ends as deployed, or as it was when nothing was deployed.
import * as fs from "node:fs";
import { main } from "../../ops/cli/deploy";
import { captureContext, commandsOf, gitRepoPerTest, imageConfig, imageId, makeSandbox, NS, type Sandbox, SHA, sourceConfig, stackConfig } from "./helpers";

let sb: Sandbox;
const repo = gitRepoPerTest(() => sb?.cleanup());

describe("deploy", () => {
  const upOf = () => sb.pulumiCalls().find((c) => c.argv[0] === "up")!;
  const previewOf = () => sb.pulumiCalls().find((c) => c.argv[0] === "preview")!;
  const config = () => sb.pulumiState().config;
  const onHemma = (sha: string) => ({ images: [{ Repository: "sir-convert-a-lot-runtime", Tag: sha, ID: imageId(7) }] });

  it("deploys the checkout's HEAD, building it, then records that the image is on Hemma", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) });
    const cap = captureContext(sb.env);
    expect(await main(["--yes"], cap.ctx)).toBe(0);
    expect(commandsOf(sb.pulumiCalls())).toEqual(["stack select", "stack export", "config", "config set", "up", "config set"]);
    expect(sb.pulumiCalls()[0].argv).not.toContain("--create");
    expect(upOf().argv).toEqual(["up", "--stack", "hemma", "--policy-pack", "policy", "--yes"]);
    expect(upOf().config![`${NS}:revision`].value).toBe(repo.head);
    expect(upOf().config![`${NS}:image`].objectValue.build).toBe(true);
    // Afterwards the stack runs the image on Hemma: hand-run pulumi needs no checkout, no rebuild.
    expect(config()[`${NS}:revision`].value).toBe(repo.head);
    expect(config()[`${NS}:image`].objectValue.build).toBe(false);
    expect(cap.text()).toContain(`sir-convert-a-lot-runtime:${repo.head} is not on Hemma yet: it will be built`);
    expect(cap.text()).toContain(`Deployed ${repo.head}`);
  });

  it("does not rebuild a revision whose image is already on Hemma", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) }, onHemma(repo.head));
    const cap = captureContext(sb.env);
    expect(await main(["--yes"], cap.ctx)).toBe(0);
    expect(upOf().config![`${NS}:image`].objectValue.build).toBe(false);
    expect(cap.text()).toMatch(/is already on Hemma \(0{12}, labelled [0-9a-f]{12}\): no rebuild/);
  });

  // The image's revision is read from its OCI label (set by components/runtimeImage.ts; the
  // provider bridges `label`/`labels` from terraform-provider-docker v4.5.0
  // internal/provider/resource_docker_image.go into the build), through `docker image inspect`.
  it("refuses a tag on Hemma whose revision label names another commit, changing nothing", async () => {
    sb = makeSandbox(
      { config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) },
      { images: [{ Repository: "sir-convert-a-lot-runtime", Tag: repo.head, ID: imageId(7), Labels: { "org.opencontainers.image.revision": SHA.B } }] },
    );
    const cap = captureContext(sb.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(cap.text()).toContain(
      `error: sir-convert-a-lot-runtime:${repo.head} is on Hemma but does not hold that commit's build: its org.opencontainers.image.revision label says ${SHA.B}`,
    );
    expect(cap.text()).toContain(
      `what to do: remove the tag on Hemma (\`ssh -o ServerAliveInterval=30 -o ConnectTimeout=15 -- hemma docker image rm sir-convert-a-lot-runtime:${repo.head}\`)`,
    );
    expect(commandsOf(sb.pulumiCalls())).not.toContain("config set");
    expect(commandsOf(sb.pulumiCalls())).not.toContain("up");
    expect(sb.sshCalls().map((c) => c.argv.join(" "))).toEqual([expect.stringContaining("docker image inspect --format '{{.Id}} {{json .Config.Labels}}'")]);
  });

  it("rebuilds a tag on Hemma that carries no revision label", async () => {
    sb = makeSandbox(
      { config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) },
      { images: [{ Repository: "sir-convert-a-lot-runtime", Tag: repo.head, ID: imageId(7), Labels: null }] },
    );
    const cap = captureContext(sb.env);
    expect(await main(["--yes"], cap.ctx)).toBe(0);
    expect(upOf().config![`${NS}:image`].objectValue.build).toBe(true);
    expect(cap.text()).toContain("carries no org.opencontainers.image.revision label");
  });

  it("--preview previews the checkout's HEAD and puts the recorded config back", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, { ...sourceConfig({ path: repo.dir }), [`${NS}:image`]: imageConfig(false) }) });
    const cap = captureContext(sb.env);
    expect(await main(["--preview"], cap.ctx)).toBe(0);
    expect(previewOf().argv).toEqual(["preview", "--stack", "hemma", "--policy-pack", "policy", "--diff"]);
    expect(previewOf().config![`${NS}:revision`].value).toBe(repo.head);
    expect(previewOf().config![`${NS}:image`].objectValue.build).toBe(true);
    expect(config()[`${NS}:revision`].value).toBe(SHA.C);
    expect(config()[`${NS}:image`].objectValue.build).toBe(false);
    expect(cap.text()).toContain(`config ${NS}:revision = ${SHA.C} (a preview changes nothing)`);
  });

  it("--preview reports failures with what to do, and leaves a never-deployed stack without a revision", async () => {
    const cfg = stackConfig(SHA.C, sourceConfig({ path: repo.dir }));
    delete (cfg as Record<string, unknown>)[`${NS}:revision`];
    sb = makeSandbox({ config: cfg, previewExitCode: 1 });
    const cap = captureContext(sb.env);
    expect(await main(["--preview"], cap.ctx)).toBe(1);
    expect(config()[`${NS}:revision`]).toBeUndefined();
    expect(commandsOf(sb.pulumiCalls())).toEqual(["stack select", "config", "config set", "preview", "config rm"]);
    expect(cap.text()).toMatch(/pulumi preview failed with exit code 1/);
    expect(cap.text()).toMatch(/nothing was changed on Hemma/);
  });

  it("a deploy declined at pulumi's prompt puts the config back", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), upDeclined: true });
    const cap = captureContext(sb.env);
    expect(await main([], cap.ctx)).toBe(1);
    expect(config()[`${NS}:revision`].value).toBe(SHA.C);
    expect(config()[`${NS}:image`].objectValue.build).toBe(true);
    expect(cap.text()).toContain("(nothing was deployed)");
  });

  it("a failed deploy keeps the revision it tried, so a rollback returns to the last good one", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), upExitCode: 255 });
    const cap = captureContext(sb.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(config()[`${NS}:revision`].value).toBe(repo.head);
    expect(sb.pulumiState().history[0].result).toBe("failed");
    expect(cap.text()).toMatch(/npm run rollback/);
  });

  it("passes policy/config.<stack>.json to pulumi when the project has one", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) });
    fs.writeFileSync(`${sb.project}/policy/config.hemma.json`, JSON.stringify({ "gpu-first-env": { evalCpuDecision: "ADR-7" } }));
    const cap = captureContext(sb.env, { projectDir: sb.project });
    expect(await main(["--preview"], cap.ctx)).toBe(0);
    expect(previewOf().argv).toEqual(["preview", "--stack", "hemma", "--policy-pack", "policy", "--policy-pack-config", "policy/config.hemma.json", "--diff"]);
  });

  it("refuses without the stack passphrase, before running pulumi", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) });
    const { PULUMI_CONFIG_PASSPHRASE: _omitted, ...env } = sb.env;
    const cap = captureContext(env, { projectDir: sb.project });
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set/);
    expect(cap.text()).toMatch(/what to do: export PULUMI_CONFIG_PASSPHRASE_FILE=/);
    expect(sb.pulumiCalls()).toHaveLength(0);
  });

  it("needs no passphrase when the stack file names another secrets provider", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })) });
    fs.writeFileSync(`${sb.project}/Pulumi.hemma.yaml`, "secretsprovider: awskms://alias/pulumi\nconfig: {}\n");
    const { PULUMI_CONFIG_PASSPHRASE: _omitted, ...env } = sb.env;
    const cap = captureContext(env, { projectDir: sb.project });
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

// Issue 11: a typo or a missing state must not create a new, empty stack (pulumi v3.248.0
// pkg/cmd/pulumi/stack/stack_select.go creates one only with --create).
describe("missing stacks", () => {
  it("deploy refuses a stack that does not exist, creating nothing", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), missingStacks: ["hemme"] });
    const cap = captureContext(sb.env, { stack: "hemme" });
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/error: stack hemme does not exist in file:\/\//);
    expect(cap.text()).toContain("npm run init -- --stack hemme");
    expect(commandsOf(sb.pulumiCalls())).toEqual(["stack select"]);
    expect(sb.pulumiState().missingStacks).toEqual(["hemme"]);
  });

  it("npm run init creates it, and refuses one that exists", async () => {
    const { main: initMain } = await import("../../ops/cli/init");
    sb = makeSandbox({ config: {}, missingStacks: ["hemma"] });
    const cap = captureContext(sb.env);
    expect(await initMain([], cap.ctx)).toBe(0);
    expect(sb.pulumiCalls()[0].argv).toEqual(expect.arrayContaining(["stack", "init", "--secrets-provider", "passphrase", "--stack", "hemma"]));
    expect(sb.pulumiState().missingStacks).toEqual([]);
    const again = captureContext(sb.env);
    expect(await initMain([], again.ctx)).toBe(1);
    expect(again.text()).toMatch(/error: stack hemma already exists/);
  });
});
