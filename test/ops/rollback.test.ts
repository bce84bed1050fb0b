// `npm run rollback` end to end against a fake `pulumi` (history, export, config, up) and a fake
// `ssh` (docker on Hemma) placed first on PATH; both record every call.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "../../ops/cli/rollback";
import {
  captureContext,
  commandsOf,
  imageId,
  imageRow,
  loadHistory,
  makeGitRepo,
  makeSandbox,
  NS,
  REPO_ROOT,
  type Sandbox,
  SHA,
  sourceConfig,
  stackConfig,
} from "./helpers";

const hemmaWithC = { images: [imageRow(SHA.C, imageId(3)), imageRow(SHA.D, imageId(4))], containers: [] };

let sb: Sandbox;
afterEach(() => sb?.cleanup());

function setup(pulumi: Record<string, unknown> = {}, hemma: Record<string, unknown> = hemmaWithC): Sandbox {
  sb = makeSandbox({ history: loadHistory(), config: stackConfig(SHA.D), ...pulumi }, hemma);
  return sb;
}

function upCall(s: Sandbox) {
  const ups = s.pulumiCalls().filter((c) => c.argv[0] === "up");
  expect(ups).toHaveLength(1);
  return ups[0];
}

describe("rollback", () => {
  it("re-deploys the last good revision without a rebuild when its image is still on Hemma", async () => {
    const s = setup();
    const cap = captureContext(s.env);
    expect(await main(["--yes"], cap.ctx)).toBe(0);

    expect(commandsOf(s.pulumiCalls())).toEqual(["stack export", "config", "stack history", "config set-all", "up"]);
    const history = s.pulumiCalls().find((c) => c.argv[1] === "history")!;
    expect(history.argv).toEqual(expect.arrayContaining(["--json", "--page-size", "--page", "--stack", "hemma"]));

    const up = upCall(s);
    expect(up.argv).toEqual(expect.arrayContaining(["--yes", "--policy-pack", "policy", "--stack", "hemma"]));
    expect(up.cwd).toBe(s.project);
    expect(up.config![`${NS}:revision`].value).toBe(SHA.C);
    expect(up.config![`${NS}:image`].objectValue.build).toBe(false);

    // The stack stays on the reused image (a plain `pulumi up` needs no checkout); `npm run deploy` builds again.
    const after = s.pulumiState().config;
    expect(after[`${NS}:image`].objectValue.build).toBe(false);
    expect(after[`${NS}:revision`].value).toBe(SHA.C);

    const inspect = s.sshCalls().map((c) => c.argv.join(" "));
    expect(inspect).toEqual([
      expect.stringContaining(`-- hemma docker image inspect --format '{{.Id}} {{json .Config.Labels}}' sir-convert-a-lot-runtime:${SHA.C}`),
    ]);

    const text = cap.text();
    expect(text).toContain(`to revision    ${SHA.C}`);
    expect(text).toContain(`sir-convert-a-lot-runtime:${SHA.C}`);
    expect(text).toContain("deployed at    2025-03-10T18:41:52.000Z");
    expect(text).toMatch(/still on Hemma \(sha256:0+3, labelled 84a516841ba7\); no rebuild/);
    expect(text).toMatch(/Rolled back .* \(no rebuild\)/);
  });

  // pulumi v3.248.0 pkg/cmd/pulumi/stack/stack_history.go: each update's `config` is the whole stack
  // config it ran with (objects as objectValue, secrets as {secret: true}).
  describe("restores the target update's recorded config", () => {
    const obj = (o: unknown) => ({ value: JSON.stringify(o), objectValue: o, secret: false });
    const torchThen = {
      indexUrl: "https://download.pytorch.org/whl/rocm6.4",
      torchVersion: "2.8.0+rocm6.4",
      torchvisionVersion: "0.23.0+rocm6.4",
      torchaudioVersion: "2.8.0+rocm6.4",
    };
    const torchNow = {
      indexUrl: "https://download.pytorch.org/whl/rocm7.1",
      torchVersion: "2.10.0+rocm7.1",
      torchvisionVersion: "0.25.0+rocm7.1",
      torchaudioVersion: "2.10.0+rocm7.1",
    };
    const lanes = (prodPort: number) => ({
      prod: {
        containerName: "sir_convert_a_lot_prod",
        containerPort: 8085,
        dataVolume: "sir-convert-a-lot-prod-data",
        enabled: true,
        hostPort: prodPort,
        profile: "prod",
      },
      eval: {
        containerName: "sir_convert_a_lot_eval",
        containerPort: 8086,
        dataVolume: "sir-convert-a-lot-eval-data",
        enabled: true,
        hostPort: 28086,
        profile: "eval",
      },
    });
    function driftSetup() {
      const history = loadHistory() as Record<string, any>[];
      // The target (C, deployed 2025-03-10) ran with older torch pins and prod on host port 28085.
      history[1].config[`${NS}:torch`] = obj(torchThen);
      history[1].config[`${NS}:lanes`] = obj(lanes(28085));
      const today = stackConfig(SHA.D, {
        [`${NS}:torch`]: obj(torchNow),
        [`${NS}:lanes`]: obj(lanes(28095)),
        [`${NS}:container`]: obj({ waitTimeoutSeconds: 300 }),
        "docker:host": { value: "ssh://other", secret: false },
      });
      return setup({ history, config: today });
    }

    it("deploys with the target's torch pins and port, drops keys it did not have, keeps secrets and says so", async () => {
      const s = driftSetup();
      const apiKeyBefore = s.pulumiState().config[`${NS}:apiKey`];
      const cap = captureContext(s.env);
      expect(await main(["--yes"], cap.ctx)).toBe(0);
      const up = upCall(s);
      expect(up.config![`${NS}:torch`].objectValue).toEqual(torchThen);
      expect(up.config![`${NS}:lanes`].objectValue.prod.hostPort).toBe(28085);
      expect(up.config![`${NS}:revision`].value).toBe(SHA.C);
      expect(up.config![`${NS}:image`].objectValue.build).toBe(false);
      expect(up.config![`${NS}:container`]).toBeUndefined();
      expect(up.config![`${NS}:apiKey`]).toEqual(apiKeyBefore);
      // Another namespace is not this project's to restore.
      expect(up.config!["docker:host"].value).toBe("ssh://other");
      const text = cap.text();
      expect(text).toContain(`${NS}:torch.torchVersion: 2.10.0+rocm7.1 -> 2.8.0+rocm6.4`);
      expect(text).toContain(`${NS}:lanes.prod.hostPort: 28095 -> 28085`);
      expect(text).toContain(`${NS}:container.waitTimeoutSeconds: 300 -> (unset)`);
      expect(text).toContain(`secrets        stay as they are (history keeps no secret values): ${NS}:apiKey`);
      // No secret ever goes on pulumi's command line.
      for (const c of s.pulumiCalls()) expect(c.argv.join(" ")).not.toContain("ciphertext");
    });

    it("--dry-run shows the config it would restore and writes nothing", async () => {
      const s = driftSetup();
      const cap = captureContext(s.env);
      expect(await main(["--dry-run"], cap.ctx)).toBe(0);
      expect(cap.text()).toContain(`${NS}:torch.torchVersion: 2.10.0+rocm7.1 -> 2.8.0+rocm6.4`);
      expect(commandsOf(s.pulumiCalls()).filter((c) => c.startsWith("config s") || c === "config rm" || c === "up")).toEqual([]);
    });

    it("refuses, writing nothing, when the recorded config fails today's rules", async () => {
      const history = loadHistory() as Record<string, any>[];
      history[1].config[`${NS}:bindAddress`] = { value: "not-an-address", secret: false };
      const s = setup({ history });
      const cap = captureContext(s.env);
      expect(await main(["--yes"], cap.ctx)).toBe(1);
      expect(cap.text()).toMatch(/error: the config recorded with 84a516841ba7 does not pass today's config rules: .*bindAddress/);
      expect(commandsOf(s.pulumiCalls())).not.toContain("config set-all");
    });
  });

  it("rebuilds, and says so, when the image is gone and the source checkout is at that revision", async () => {
    const { dir: src, head } = makeGitRepo();
    // Make the history's revision C the real commit of the checkout.
    const history = JSON.stringify(loadHistory()).split(SHA.C).join(head);
    const s = setup(
      { history: JSON.parse(history), config: stackConfig(SHA.D, sourceConfig({ path: src, allowRevisionMismatch: false })) },
      { images: [], containers: [] },
    );
    const cap = captureContext(s.env);
    try {
      expect(await main(["--yes"], cap.ctx)).toBe(0);
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
    }
    expect(upCall(s).config![`${NS}:image`].objectValue.build).toBe(true);
    expect(upCall(s).config![`${NS}:revision`].value).toBe(head);
    // the rebuilt tag is on Hemma now; later runs reuse it
    expect(s.pulumiState().config[`${NS}:image`].objectValue.build).toBe(false);
    expect(cap.text()).toMatch(/NOT on Hemma any more; it will be REBUILT/);
    expect(cap.text()).toMatch(/\(image rebuilt\)/);
  });

  it("refuses to rebuild from a checkout at another revision and says how to fix it", async () => {
    const repo = makeGitRepo();
    const s = setup({ config: stackConfig(SHA.D, sourceConfig({ path: repo.dir })) }, { images: [], containers: [] });
    const cap = captureContext(s.env);
    try {
      expect(await main(["--yes"], cap.ctx)).toBe(1);
    } finally {
      fs.rmSync(repo.dir, { recursive: true, force: true });
    }
    expect(cap.text()).toContain(`is at ${repo.head.slice(0, 12)}, not ${SHA.C.slice(0, 12)}`);
    expect(cap.text()).toContain(`git -C ${repo.dir} checkout ${SHA.C}`);
    expect(commandsOf(s.pulumiCalls())).not.toContain("up");
    expect(commandsOf(s.pulumiCalls())).not.toContain("config set");
  });

  it("refuses a target image whose revision label disagrees with its tag", async () => {
    const s = setup({}, { images: [{ ...imageRow(SHA.C, imageId(3)), Labels: { "org.opencontainers.image.revision": SHA.D } }], containers: [] });
    const cap = captureContext(s.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(cap.text()).toContain(`label says ${SHA.D}, not ${SHA.C}`);
    expect(commandsOf(s.pulumiCalls())).not.toContain("up");
  });

  it("refuses while the stack has pending operations, changing nothing", async () => {
    const pending = {
      version: 3,
      deployment: {
        manifest: { time: "2025-03-14T09:05:00Z", magic: "m", version: "v3.265.0" },
        resources: [],
        pending_operations: [
          {
            resource: { urn: "urn:pulumi:hemma::sir-convert-a-lot::docker:index/container:Container::prod", type: "docker:index/container:Container" },
            type: "creating",
          },
        ],
      },
    };
    const s = setup({ export: pending });
    const cap = captureContext(s.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/1 pending operation\(s\)/);
    expect(cap.text()).toContain("creating: urn:pulumi:hemma::sir-convert-a-lot::docker:index/container:Container::prod");
    expect(cap.text()).toContain("npm run pulumi -- refresh --stack hemma");
    expect(commandsOf(s.pulumiCalls())).toEqual(["stack export"]);
  });

  it("refuses a requested revision that never succeeded, and one never deployed", async () => {
    const s = setup({ config: stackConfig(SHA.C) });
    const cap = captureContext(s.env);
    expect(await main(["--yes", "--to", SHA.D], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/never succeeded/);
    expect(await main(["--yes", "--to", SHA.BENCH], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/never deployed/);
    expect(commandsOf(s.pulumiCalls())).not.toContain("config set");
  });

  it("reads every page of a long history to find an old revision", async () => {
    const base = loadHistory() as Record<string, any>[];
    // 250 later successful deploys of C push the only A deploy onto page 3 (page size 100).
    const filler = Array.from({ length: 250 }, (_, i) => ({
      ...base[1],
      startTime: new Date(Date.UTC(2025, 4, 1, 0, i)).toISOString(),
      message: `c again ${i}`,
    }));
    const s = setup({ history: [...filler.reverse(), ...base], config: stackConfig(SHA.C) }, { images: [imageRow(SHA.A, imageId(1))], containers: [] });
    const cap = captureContext(s.env);
    expect(await main(["--yes", "--to", SHA.A.slice(0, 7)], cap.ctx)).toBe(0);
    expect(s.pulumiCalls().filter((c) => c.argv[1] === "history")).toHaveLength(3);
    expect(upCall(s).config![`${NS}:revision`].value).toBe(SHA.A);
  });

  it("without --yes refuses when there is no TTY, and asks when there is one", async () => {
    const s = setup();
    const noTty = captureContext(s.env);
    expect(await main([], noTty.ctx)).toBe(1);
    expect(noTty.text()).toMatch(/no terminal to ask on and --yes was not given/);

    const questions: string[] = [];
    const declined = captureContext(s.env, {
      isTTY: true,
      prompt: async (q) => {
        questions.push(q);
        return "n";
      },
    });
    expect(await main([], declined.ctx)).toBe(1);
    expect(questions[0]).toContain(`Roll back stack hemma to ${SHA.C.slice(0, 12)}?`);
    expect(commandsOf(s.pulumiCalls())).not.toContain("up");

    const accepted = captureContext(s.env, { isTTY: true, prompt: async () => "yes" });
    expect(await main([], accepted.ctx)).toBe(0);
    expect(commandsOf(s.pulumiCalls())).toContain("up");
  });

  it("--dry-run prints the plan and changes nothing", async () => {
    const s = setup({ config: stackConfig(SHA.D, sourceConfig({ allowRevisionMismatch: true })) });
    const cap = captureContext(s.env);
    expect(await main(["--dry-run", "--steps", "2"], cap.ctx)).toBe(0);
    expect(cap.text()).toContain(`to revision    ${SHA.B}`);
    expect(cap.text()).toMatch(/NOT on Hemma/);
    expect(commandsOf(s.pulumiCalls()).filter((c) => c === "config set" || c === "up")).toEqual([]);
  });

  it("honours npm_config_dry_run (npm run rollback --dry-run without --): never a real rollback", async () => {
    const s = setup();
    const cap = captureContext({ ...s.env, npm_config_dry_run: "true" });
    expect(await main(["--yes"], cap.ctx)).toBe(0);
    expect(cap.text()).toContain("Dry run: nothing changed.");
    expect(commandsOf(s.pulumiCalls()).filter((c) => c.startsWith("config s") || c === "up")).toEqual([]);
  });

  it("when pulumi up fails: exits non-zero and says how to go back", async () => {
    const s = setup({ upExitCode: 255 });
    const cap = captureContext(s.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(s.pulumiState().config[`${NS}:revision`].value).toBe(SHA.C);
    expect(cap.text()).toMatch(/pulumi up failed \(exit code 255\)/);
    expect(cap.text()).toContain(`npm run rollback -- --to ${SHA.D}`);
  });

  it("reports an unreachable Hemma with an ssh hint", async () => {
    const s = setup({}, { unreachable: true });
    const cap = captureContext(s.env);
    expect(await main(["--yes"], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/could not reach Hemma \(ssh hemma\)/);
    expect(commandsOf(s.pulumiCalls())).not.toContain("config set");
  });

  it("rejects unknown flags with usage (exit 2)", async () => {
    const s = setup();
    const cap = captureContext(s.env);
    expect(await main(["--revision", "abc"], cap.ctx)).toBe(2);
    expect(cap.text()).toMatch(/usage: npm run rollback/);
  });

  it("runs as a script with ts-node, finding the fake pulumi first on PATH", () => {
    const s = setup();
    const res = spawnSync(path.join(REPO_ROOT, "node_modules", ".bin", "ts-node"), ["--transpile-only", "ops/cli/rollback.ts", "--yes"], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...s.env },
      encoding: "utf8",
    });
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    expect(upCall(s).config![`${NS}:revision`].value).toBe(SHA.C);
  });
});
