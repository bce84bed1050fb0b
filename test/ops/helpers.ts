// Test scaffolding for the ops tools: a temp sandbox with the fake pulumi/ssh state files, a
// project directory (Pulumi.yaml, stack file, policy and node_modules linked, an empty
// .pulumi-state backend), the fake pulumi installed where the pinned launcher caches its CLI
// ($PULUMI_HOME/versions/<pinned>/bin/pulumi), an environment whose PATH starts with
// test/ops/bin (fake ssh), a captured OpsContext, and log readers.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { OpsContext } from "../../ops/tool/context";

export const BIN_DIR = path.join(__dirname, "bin");
export const FIXTURES = path.join(__dirname, "fixtures");
export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const NS = "sir-convert-a-lot";

export const SHA = {
  A: "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8",
  B: "e9d71f5ee7c92d6dc9e92ffdad17b8bd49418f98",
  C: "84a516841ba77a5b4648de2cd0dfcb30ea46dbb4",
  D: "3c363836cf4e16666669a25da280a1865c2d2874",
  BENCH: "e5c89c529dccb9b42716f4d9118d61079c883d9e",
};

export function loadHistory(): unknown[] {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, "history-hemma.json"), "utf8")) as unknown[];
}

export function imageConfig(build = true, keepRevisions = 5) {
  const o = { build, keepRevisions, name: "sir-convert-a-lot-runtime" };
  return { value: JSON.stringify(o), objectValue: o, secret: false };
}

export function stackConfig(revision: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    [`${NS}:revision`]: { value: revision, secret: false },
    [`${NS}:dockerHost`]: { value: "ssh://hemma", secret: false },
    [`${NS}:image`]: imageConfig(),
    [`${NS}:apiKey`]: { value: "v1:ciphertext-of-the-key", secret: true },
    ...extra,
  };
}

/** A lane as the stack output `lanes.<lane>` records it (index.ts), prod on 28085 by default. */
export function laneOutput(profile: string, hostPort: number, localPort = hostPort) {
  return {
    containerName: `sir_convert_a_lot_${profile}`,
    profile,
    dataDir: `/var/lib/sir-convert-a-lot/${profile}`,
    url: `http://127.0.0.1:${hostPort}`,
    hostPort,
    localPort,
    tunnelCommand: `ssh -N -L ${localPort}:127.0.0.1:${hostPort} hemma`,
  };
}

export function imageRow(tag: string, id: string) {
  return { Repository: "sir-convert-a-lot-runtime", Tag: tag, ID: id };
}

export const imageId = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

export interface Sandbox {
  dir: string;
  /** The project directory the tools run in (ctx.projectDir). */
  project: string;
  env: NodeJS.ProcessEnv;
  pulumiState(): Record<string, any>;
  hemmaState(): Record<string, any>;
  pulumiCalls(): {
    argv: string[];
    cwd: string;
    backend: string;
    envSeen: Record<string, string>;
    pid: number;
    signal?: string;
    config?: Record<string, any>;
  }[];
  /** ssh calls that ran docker on "Hemma" (the operator lock's calls are in lockCalls). */
  sshCalls(): { argv: string[] }[];
  lockCalls(): { argv: string[] }[];
  cleanup(): void;
}

const isLockCall = (c: { argv: string[] }) => (c.argv[c.argv.length - 1] ?? "").startsWith("sh -c ");

export function makeSandbox(pulumi: Record<string, unknown>, hemma: Record<string, unknown> = {}): Sandbox {
  for (const f of fs.readdirSync(BIN_DIR)) fs.chmodSync(path.join(BIN_DIR, f), 0o755);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-test-"));
  const files = {
    pulumi: path.join(dir, "pulumi-state.json"),
    hemma: path.join(dir, "hemma-state.json"),
    pulumiLog: path.join(dir, "pulumi-log.jsonl"),
    sshLog: path.join(dir, "ssh-log.jsonl"),
  };
  const project = path.join(dir, "project");
  fs.mkdirSync(path.join(project, ".pulumi-state"), { recursive: true });
  for (const f of ["Pulumi.yaml", "Pulumi.hemma.yaml", "package.json"]) fs.copyFileSync(path.join(REPO_ROOT, f), path.join(project, f));
  // The fake pulumi does not load the pack: an empty policy/ lets tests add policy/config.<stack>.json.
  fs.mkdirSync(path.join(project, "policy"));
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(project, "node_modules"));
  const pulumiHome = path.join(dir, "pulumi-home");
  const pinned = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "node_modules", "pulumi", "package.json"), "utf8")).version as string;
  fs.mkdirSync(path.join(pulumiHome, "versions", pinned, "bin"), { recursive: true });
  fs.symlinkSync(path.join(BIN_DIR, "pulumi"), path.join(pulumiHome, "versions", pinned, "bin", "pulumi"));
  fs.writeFileSync(files.pulumi, JSON.stringify(pulumi));
  fs.writeFileSync(files.hemma, JSON.stringify(hemma));
  const readLines = (file: string) =>
    fs.existsSync(file)
      ? fs
          .readFileSync(file, "utf8")
          .split("\n")
          .filter((l) => l)
          .map((l) => JSON.parse(l))
      : [];
  const env: NodeJS.ProcessEnv = {
    PATH: `${BIN_DIR}${path.delimiter}${process.env.PATH ?? ""}`,
    HOME: dir,
    PULUMI_HOME: pulumiHome,
    // Read only by captureContext below (the tools never see it as such).
    FAKE_PROJECT_DIR: project,
    PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
    FAKE_PULUMI_STATE: files.pulumi,
    FAKE_PULUMI_LOG: files.pulumiLog,
    FAKE_HEMMA_STATE: files.hemma,
    FAKE_SSH_LOG: files.sshLog,
    // "Hemma"'s operator lock (ops/hemma/lock.ts), kept inside the sandbox.
    SIR_CONVERT_A_LOT_HEMMA_LOCK_DIR: path.join(dir, "hemma-var-tmp", "ops.lock"),
  };
  return {
    dir,
    project,
    env,
    pulumiState: () => JSON.parse(fs.readFileSync(files.pulumi, "utf8")),
    hemmaState: () => JSON.parse(fs.readFileSync(files.hemma, "utf8")),
    pulumiCalls: () => readLines(files.pulumiLog),
    sshCalls: () => readLines(files.sshLog).filter((c: { argv: string[] }) => !isLockCall(c)),
    lockCalls: () => readLines(files.sshLog).filter(isLockCall),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Captured {
  ctx: OpsContext;
  out: string[];
  err: string[];
  text(): string;
}

export function captureContext(env: NodeJS.ProcessEnv, overrides: Partial<OpsContext> = {}): Captured {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: OpsContext = {
    env,
    projectDir: env.FAKE_PROJECT_DIR ?? REPO_ROOT,
    stack: "hemma",
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    isTTY: false,
    prompt: async () => {
      throw new Error("unexpected prompt");
    },
    inheritStdio: false,
    ...overrides,
  };
  return { ctx, out, err, text: () => [...out, ...err].join("\n") };
}

/** The pulumi subcommands invoked, e.g. "config set", "up", "stack history". */
export function commandsOf(calls: { argv: string[] }[]): string[] {
  const valueFlags = new Set(["--stack", "--page-size", "--page", "--policy-pack", "--policy-pack-config", "--message", "--json"]);
  return calls.map((c) => {
    const words = c.argv.filter((a, i) => !a.startsWith("-") && !valueFlags.has(c.argv[i - 1]));
    return words[0] === "up" ? "up" : words.slice(0, 2).join(" ");
  });
}

/** A throwaway git checkout with one commit; returns its path and HEAD. */
export function makeGitRepo(): { dir: string; head: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-src-"));
  const git = (...args: string[]) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8" }).trim();
  git("init", "-q");
  fs.writeFileSync(path.join(dir, "README"), "service\n");
  git("add", "README");
  git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "c");
  return { dir, head: git("rev-parse", "HEAD") };
}

/**
 * A fresh service checkout (makeGitRepo) for each test of the calling file, removed after it; the
 * returned object always holds the current test's checkout. `cleanup` runs first after each test
 * (the file's sandbox).
 */
export function gitRepoPerTest(cleanup: () => void = () => undefined): { dir: string; head: string } {
  const repo = { dir: "", head: "" };
  beforeEach(() => Object.assign(repo, makeGitRepo()));
  afterEach(() => {
    cleanup();
    fs.rmSync(repo.dir, { recursive: true, force: true });
  });
  return repo;
}

export function sourceConfig(source: Record<string, unknown>): Record<string, unknown> {
  return { [`${NS}:source`]: { value: JSON.stringify(source), objectValue: source, secret: false } };
}
