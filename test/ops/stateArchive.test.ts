// `npm run state:backup` / `state:restore` (ops/cli/state.ts): the file backend's folder goes to
// an archive outside the checkout without the passphrase, comes back after `git clean` took it,
// state already present is moved aside (never deleted), foreign archives are refused, and both
// refuse while a pulumi update holds the stack.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { backupMain, restoreMain } from "../../ops/cli/state";
import { captureContext, makeSandbox, REPO_ROOT, type Sandbox, SHA, stackConfig } from "./helpers";

let sb: Sandbox;
afterEach(() => sb?.cleanup());

function setup() {
  sb = makeSandbox({ config: stackConfig(SHA.C) });
  const stacks = path.join(sb.project, ".pulumi-state", ".pulumi", "stacks", "sir-convert-a-lot");
  fs.mkdirSync(stacks, { recursive: true });
  fs.writeFileSync(path.join(stacks, "hemma.json"), JSON.stringify({ checkpoint: { stack: "hemma", secrets: "v1:ciphertext" } }));
  return { cap: captureContext({ ...sb.env, HOME: sb.dir }), checkpoint: path.join(stacks, "hemma.json") };
}

describe("state backup and restore", () => {
  it("backs up outside the checkout without the passphrase, and restores after the state was deleted", async () => {
    const { cap, checkpoint } = setup();
    expect(await backupMain([], cap.ctx)).toBe(0);
    const archive = /to (\S+\.tar\.gz)/.exec(cap.out.join("\n"))![1];
    expect(archive.startsWith(path.join(sb.dir, "sir-convert-a-lot-state"))).toBe(true);
    expect(archive.startsWith(sb.project)).toBe(false);
    expect(fs.statSync(archive).mode & 0o777).toBe(0o600);
    const bytes = zlib.gunzipSync(fs.readFileSync(archive)).toString("latin1");
    expect(bytes).toContain("v1:ciphertext");
    expect(bytes).not.toContain(sb.env.PULUMI_CONFIG_PASSPHRASE);
    expect(cap.text()).not.toContain(sb.env.PULUMI_CONFIG_PASSPHRASE);
    expect(cap.text()).toContain("hand the passphrase over separately");

    fs.rmSync(path.join(sb.project, ".pulumi-state"), { recursive: true }); // what `git clean -fdx` does
    const cap2 = captureContext(sb.env);
    expect(await restoreMain(["--from", archive], cap2.ctx)).toBe(0);
    expect(JSON.parse(fs.readFileSync(checkpoint, "utf8")).checkpoint.stack).toBe("hemma");
  });

  it("moves state that is already there aside instead of deleting it", async () => {
    const { cap, checkpoint } = setup();
    const out = path.join(sb.dir, "b.tar.gz");
    expect(await backupMain(["--out", out], cap.ctx)).toBe(0);
    fs.writeFileSync(checkpoint, "newer");
    const cap2 = captureContext(sb.env);
    expect(await restoreMain(["--from", out], cap2.ctx)).toBe(0);
    const aside = fs.readdirSync(sb.project).find((f) => f.startsWith(".pulumi-state.before-restore-"))!;
    expect(fs.readFileSync(path.join(sb.project, aside, ".pulumi", "stacks", "sir-convert-a-lot", "hemma.json"), "utf8")).toBe("newer");
    expect(fs.readFileSync(checkpoint, "utf8")).toContain("ciphertext");
  });

  it("refuses an archive with members outside the state folder, and --from missing", async () => {
    const { cap } = setup();
    const evil = path.join(sb.dir, "evil");
    fs.mkdirSync(path.join(evil, "x"), { recursive: true });
    fs.writeFileSync(path.join(evil, "x", "Pulumi.yaml"), "oops");
    const out = path.join(sb.dir, "evil.tar.gz");
    execFileSync("tar", ["-czf", out, "-C", evil, "x"]);
    expect(await restoreMain(["--from", out], cap.ctx)).toBe(1);
    expect(cap.text()).toContain("not a state:backup archive");
    expect(fs.existsSync(path.join(sb.project, "x"))).toBe(false);
    const cap2 = captureContext(sb.env);
    expect(await restoreMain([], cap2.ctx)).toBe(2);
    expect(cap2.text()).toContain("--from <file> is required");
  });

  it("refuses while a pulumi update holds the stack", async () => {
    const { cap } = setup();
    const locks = path.join(sb.project, ".pulumi-state", ".pulumi", "locks", "organization", "sir-convert-a-lot", "hemma");
    fs.mkdirSync(locks, { recursive: true });
    fs.writeFileSync(path.join(locks, "x.json"), JSON.stringify({ pid: 4242, username: "ada", hostname: "laptop", timestamp: "2026-01-01T00:00:00Z" }));
    expect(await backupMain(["--out", path.join(sb.dir, "c.tar.gz")], cap.ctx)).toBe(1);
    expect(cap.text()).toContain("is locked by a pulumi update (ada@laptop (pid 4242)");
  });

  it("npm run state:backup -- --help works through the npm script", () => {
    const res = spawnSync("npm", ["run", "--silent", "state:backup", "--", "--help"], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(res.status).toBe(0);
    expect(res.stdout).toContain("--out <file>");
  }, 60_000);
});
