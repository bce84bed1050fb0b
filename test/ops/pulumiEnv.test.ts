// Which pulumi runs, with which environment, against which state (issue 8 §1 last bullet, §5
// bullets 5-6). Sources modelled:
// - terraform-provider-docker v4.5.0 internal/provider/provider.go: `host` defaults from
//   DOCKER_HOST, `context` from DOCKER_CONTEXT and overrides the host (configure/getContextHost),
//   ssh_opts from DOCKER_SSH_OPTS; internal/provider/docker_buildx_build.go ResolveBuilderLikeBuildx:
//   BUILDX_BUILDER, else the docker CLI's current context/endpoint.
// - pulumi v3.248.0 pkg/workspace/creds.go GetCurrentCloudURL: PULUMI_BACKEND_URL beats
//   Pulumi.yaml backend.url; pkg/backend/diy/backend.go: a relative file:// path goes through
//   filepath.Abs (the working directory).
// - npm `pulumi` 3.265.0 (node_modules/pulumi): lib/resolve.js uses PULUMI_VERSION || its own
//   version and <PULUMI_HOME|~/.pulumi>/versions/<v>/bin/pulumi (lib/cache.js), downloading via
//   lib/download.js (get.pulumi.com) when missing; run.js has no signal handler.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main as deployMain } from "../../ops/cli/deploy";
import { main as pruneMain } from "../../ops/cli/prune";
import { main as pulumiMain } from "../../ops/cli/pulumi";
import { cachedPulumiBinary, pinnedPulumiVersion, resolvePinnedPulumi } from "../../ops/pulumi/binary";
import { absoluteBackendUrl, projectBackendUrl, pulumiEnvironment } from "../../ops/pulumi/env";
import { captureContext, commandsOf, loadHistory, makeGitRepo, makeSandbox, REPO_ROOT, type Sandbox, SHA, sourceConfig, stackConfig } from "./helpers";

let sb: Sandbox;
afterEach(() => sb?.cleanup());

describe("the state backend does not depend on the working directory", () => {
  it("resolves Pulumi.yaml's relative file:// URL against the project directory", () => {
    expect(projectBackendUrl(REPO_ROOT)).toBe(`file://${path.join(REPO_ROOT, ".pulumi-state")}`);
    expect(absoluteBackendUrl("file://./state?no_legacy=1", "/p")).toBe("file:///p/state?no_legacy=1");
    expect(absoluteBackendUrl("file://~/.pulumi-x", "/p")).toBe("file://~/.pulumi-x");
    expect(absoluteBackendUrl("s3://bucket/scal", "/p")).toBe("s3://bucket/scal");
  });

  it("every pulumi call of a tool gets the absolute backend, and `npm run pulumi` works from a subfolder", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C), history: loadHistory() }, { images: [], containers: [] });
    expect(await pruneMain(["--dry-run"], captureContext(sb.env).ctx)).toBe(0);
    const sub = path.join(sb.project, "docs");
    fs.mkdirSync(sub);
    const cap = captureContext(sb.env);
    const cwd = process.cwd();
    process.chdir(sub);
    try {
      expect(await pulumiMain(["stack", "history", "--json", "--stack", "hemma"], cap.ctx)).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    const want = `file://${path.join(sb.project, ".pulumi-state")}`;
    const calls = sb.pulumiCalls();
    expect(calls.length).toBeGreaterThan(2);
    for (const c of calls) expect(c.backend).toBe(want);
  });

  it("refuses a stray PULUMI_BACKEND_URL before running pulumi", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C), history: [] });
    const cap = captureContext({ ...sb.env, PULUMI_BACKEND_URL: "file:///tmp/elsewhere" });
    expect(await pruneMain(["--dry-run"], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/error: PULUMI_BACKEND_URL=file:\/\/\/tmp\/elsewhere is set in this shell/);
    expect(cap.text()).toMatch(/what to do: unset PULUMI_BACKEND_URL/);
    expect(sb.pulumiCalls()).toEqual([]);
  });

  it("never prints the password of a stray backend URL", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C), history: [] });
    const cap = captureContext({ ...sb.env, PULUMI_BACKEND_URL: "postgres://state:hunter2-secret@db.lan/pulumi" });
    expect(await pruneMain(["--dry-run"], cap.ctx)).toBe(1);
    expect(cap.text()).toContain("PULUMI_BACKEND_URL=postgres://state:***@db.lan/pulumi is set in this shell");
    expect(cap.text()).not.toContain("hunter2");
  });

  it("accepts PULUMI_BACKEND_URL when it already names the project's backend", () => {
    const url = projectBackendUrl(REPO_ROOT)!;
    expect(pulumiEnvironment({ PULUMI_BACKEND_URL: url }, REPO_ROOT).env.PULUMI_BACKEND_URL).toBe(url);
  });
});

describe("the operator's docker and launcher variables never reach pulumi", () => {
  it("strips DOCKER_HOST, DOCKER_CONTEXT, DOCKER_SSH_OPTS, BUILDX_BUILDER and PULUMI_VERSION, saying so", async () => {
    const repo = makeGitRepo();
    sb = makeSandbox({ config: stackConfig(SHA.C, sourceConfig({ path: repo.dir })), history: [] });
    const shell = {
      DOCKER_HOST: "unix:///var/run/docker.sock",
      DOCKER_CONTEXT: "laptop",
      DOCKER_SSH_OPTS: "-p 2222",
      BUILDX_BUILDER: "desktop-linux",
      PULUMI_VERSION: "3.100.0",
    };
    const cap = captureContext({ ...sb.env, ...shell });
    try {
      expect(await deployMain(["--yes"], cap.ctx)).toBe(0);
    } finally {
      fs.rmSync(repo.dir, { recursive: true, force: true });
    }
    for (const c of sb.pulumiCalls()) expect(c.envSeen).toEqual({});
    for (const name of Object.keys(shell)) expect(cap.text()).toContain(`note: ignoring ${name}=`);
    expect(cap.text()).toMatch(/DOCKER_CONTEXT=laptop from this shell: the docker provider's `context` overrides its host/);
  });
});

describe("the pinned pulumi CLI", () => {
  it("runs the pinned version from the launcher's cache, never a pulumi on PATH", async () => {
    sb = makeSandbox({ config: stackConfig(SHA.C), history: loadHistory() }, { images: [], containers: [] });
    const other = fs.mkdtempSync(path.join(os.tmpdir(), "other-pulumi-"));
    const marker = path.join(other, "ran");
    fs.writeFileSync(path.join(other, "pulumi"), `#!/bin/sh\ntouch ${marker}\necho v3.99.0\n`, { mode: 0o755 });
    try {
      const env = { ...sb.env, PATH: `${other}${path.delimiter}${sb.env.PATH}` };
      expect(await pruneMain(["--dry-run"], captureContext(env).ctx)).toBe(0);
      expect(fs.existsSync(marker)).toBe(false);
      expect(commandsOf(sb.pulumiCalls())).toContain("config");
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
    const version = pinnedPulumiVersion(REPO_ROOT);
    expect(version).toBe(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).devDependencies.pulumi);
    expect(resolvePinnedPulumi(sb.env, REPO_ROOT)).toBe(path.join(sb.env.PULUMI_HOME!, "versions", version, "bin", "pulumi"));
    expect(cachedPulumiBinary({ HOME: "/home/op" }, "1.2.3")).toBe("/home/op/.pulumi/versions/1.2.3/bin/pulumi");
  });

  it("when the CLI is not cached and the launcher cannot download it, refuses with what to do", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-home-"));
    // The launcher's download starts with fetch("https://get.pulumi.com/install.sh"); make it fail
    // as it does offline, without touching the network.
    const offline = path.join(home, "offline.js");
    fs.writeFileSync(offline, `globalThis.fetch = async (u) => { throw new Error("getaddrinfo ENOTFOUND get.pulumi.com (" + u + ")"); };\n`);
    try {
      expect(() => resolvePinnedPulumi({ PATH: process.env.PATH, HOME: home, PULUMI_HOME: home, NODE_OPTIONS: `--require ${offline}` }, REPO_ROOT)).toThrow(
        /pinned pulumi launcher could not install pulumi v[\d.]+ [\s\S]*ENOTFOUND get\.pulumi\.com/,
      );
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
