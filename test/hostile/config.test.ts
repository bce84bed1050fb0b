// Hostile configs (issue 12, Low): a seeded generator of bad and borderline stack configs. Every case
// must be refused naming the key it broke, or accepted and safe: GPU device nodes only, an evidence root
// that cannot be an option, hold newlines or climb out, ssh destinations that cannot be options, no
// host-key-weakening or command-running sshOpts without allowUnsafeSshOpts, bounded string lengths,
// IPv4 binds, and every ssh argv the project builds from the config putting `--` before the
// destination (the ready-to-paste tunnelCommand is run through /bin/sh to check its quoting).
// Before: /dev/sda, /dev/mem, /dev/../etc/passwd, a leading "-", newlines, "../" and 1 MB values,
// `ssh://-oProxyCommand=...`, StrictHostKeyChecking=no and `::1` were all accepted.
import { execFileSync } from "node:child_process";
import { sshArgs } from "../../lib/commands/ssh";
import { ConfigError, loadStackConfig, type StackConfig } from "../../lib/config/load";
import { parseSshUrl, sshOptionValues, tunnelCommand, unsafeSshOption } from "../../lib/sshTarget";
import { sshTargetFromDockerHost } from "../../ops/hemma/ssh";
import { targetArgs } from "../../verify/ssh/target";
import { measure, newFigures, printFigures, prng } from "./figures";

const NS = "sir-convert-a-lot";
const REV = "0123456789abcdef0123456789abcdef01234567";
const MB = "x".repeat(1024 * 1024);
const f = newFigures("stack config");
afterAll(() => printFigures(f));

type Values = Record<string, unknown>;
/** One mutation: the config keys it sets, and the key a refusal must name (undefined: it must be accepted). */
type Mutation = { name: string; set: Values; refusedAt?: string; invariant?: boolean };

const BASE: Values = { image: { build: false }, revision: REV };

const M = (name: string, set: Values, refusedAt?: string): Mutation => ({ name, set, ...(refusedAt !== undefined ? { refusedAt } : {}) });
/**
 * Refused by one of the pack's mandatory invariants (policy/policies/invariants.ts), which
 * lib/config/load.ts checks once the schema passes: named only when no schema rule refused first.
 */
const I = (name: string, set: Values, refusedAt: string): Mutation => ({ ...M(name, set, refusedAt), invariant: true });

const MUTATIONS: Mutation[] = [
  // ssh destinations
  M("user is an option", { dockerHost: "ssh://-oProxyCommand=touch%20pwned@hemma" }, "dockerHost"),
  M("host is an option", { dockerHost: "ssh://-oProxyCommand=x" }, "dockerHost"),
  M("user@host with option host", { dockerHost: "ssh://ops@-F/etc/passwd" }, "dockerHost"),
  M("1 MB docker host", { dockerHost: `ssh://${MB}` }, "dockerHost"),
  M("docker host with a path", { dockerHost: "ssh://hemma/x" }, "dockerHost"),
  M("docker host with a newline", { dockerHost: "ssh://hemma\n-oProxyCommand=x" }, "dockerHost"),
  M("user, host and port", { dockerHost: "ssh://ops@hemma.lan:2222" }),
  M("dash inside the host", { dockerHost: "ssh://hemma-box" }),
  M("tcp docker host", { dockerHost: "tcp://hemma:2376" }),
  // sshOpts
  M("StrictHostKeyChecking=no", { sshOpts: ["-o", "StrictHostKeyChecking=no"] }, "sshOpts"),
  M("stricthostkeychecking=OFF (case)", { sshOpts: ["-ostricthostkeychecking=OFF"] }, "sshOpts"),
  M("UserKnownHostsFile=/dev/null", { sshOpts: ["-o", "UserKnownHostsFile=/dev/null"] }, "sshOpts"),
  M("GlobalKnownHostsFile=/dev/null", { sshOpts: ["-o", "GlobalKnownHostsFile=/dev/null"] }, "sshOpts"),
  M("ProxyCommand", { sshOpts: ["-o", "ProxyCommand=sh -c 'id > /tmp/pwned'"] }, "sshOpts"),
  M("LocalCommand", { sshOpts: ["-o", "LocalCommand=id"] }, "sshOpts"),
  M("PermitLocalCommand=yes", { sshOpts: ["-oPermitLocalCommand=yes"] }, "sshOpts"),
  M("KnownHostsCommand", { sshOpts: ["-o", "KnownHostsCommand=/bin/true"] }, "sshOpts"),
  M("BatchMode=no", { sshOpts: ["-o", "BatchMode=no"] }, "sshOpts"),
  M("an -i option", { sshOpts: ["-i", "/key"] }, "sshOpts"),
  M("1 MB option", { sshOpts: ["-o", `SetEnv=${MB}`] }, "sshOpts"),
  M("option with a newline", { sshOpts: ["-o", "ConnectTimeout=15\nProxyCommand=x"] }, "sshOpts"),
  M("100 options", { sshOpts: Array.from({ length: 100 }, () => "-oConnectTimeout=15") }, "sshOpts"),
  M("StrictHostKeyChecking=accept-new", { sshOpts: ["-o", "StrictHostKeyChecking=accept-new"] }),
  M("UserKnownHostsFile of our own", { sshOpts: ["-o", "UserKnownHostsFile=~/.ssh/hemma_known_hosts"] }),
  M("ProxyCommand=none", { sshOpts: ["-o", "ProxyCommand=none"] }),
  M("ProxyJump (ssh, no local command)", { sshOpts: ["-o", "ProxyJump=bastion"] }),
  M("opted in: StrictHostKeyChecking=no", { sshOpts: ["-o", "StrictHostKeyChecking=no"], allowUnsafeSshOpts: true }),
  M("opted in: ProxyCommand", { sshOpts: ["-oProxyCommand=nc %h %p"], allowUnsafeSshOpts: true }),
  M("opt-in not a boolean", { allowUnsafeSshOpts: "yes" }, "allowUnsafeSshOpts"),
  // bindAddress
  M("IPv6 loopback", { bindAddress: "::1" }, "bindAddress"),
  M("IPv6 any", { bindAddress: "::" }, "bindAddress"),
  M("hostname", { bindAddress: "localhost" }, "bindAddress"),
  M("1 MB bind", { bindAddress: MB }, "bindAddress"),
  M("IPv4 loopback", { bindAddress: "127.0.0.1" }),
  // refused since the program shares the pack's mandatory invariants (policy/policies/invariants.ts)
  I("IPv4 LAN", { bindAddress: "192.168.1.20" }, "bindAddress"),
  // gpu.devices
  ...[
    "/dev/sda",
    "/dev/mem",
    "/dev/../etc/passwd",
    "/dev/dri/../sda",
    "/dev/dri/renderD128/../../mem",
    "/dev/kfd\n",
    "/dev/dri/renderD128 ",
    "/dev/dri/card",
    "/dev/nvidia0",
    "dev/kfd",
    `/dev/${MB}`,
  ].map((d) => M(`device ${JSON.stringify(d.length > 40 ? `${d.slice(0, 12)}...` : d)}`, { gpu: { devices: ["/dev/kfd", d] } }, "gpu.devices.1")),
  M("200 devices", { gpu: { devices: Array.from({ length: 200 }, () => "/dev/kfd") } }, "gpu.devices"),
  I("render and card nodes without /dev/dri itself", { gpu: { devices: ["/dev/kfd", "/dev/dri/renderD128", "/dev/dri/card0"] } }, "gpu.devices"),
  M("kfd and the dri dir", { gpu: { devices: ["/dev/kfd", "/dev/dri"] } }),
  // verification.evidenceRoot
  ...["-rf", "--evidence", "a\nb", "a\rb", "../outside", "a/../../b", "..", "a\\..\\b", MB, "x".repeat(256), ""].map((r) =>
    M(`evidence root ${JSON.stringify(r.length > 40 ? `${r.slice(0, 12)}...` : r)}`, { verification: { evidenceRoot: r } }, "verification.evidenceRoot"),
  ),
  M("evidence root nested", { verification: { evidenceRoot: ".verification/hemma" } }),
  M("evidence root absolute", { verification: { evidenceRoot: "/srv/evidence" } }),
  M("evidence root with dots in a name", { verification: { evidenceRoot: "evidence..old" } }),
  // free strings
  M("1 MB dockerfile", { source: { dockerfile: MB } }, "source.dockerfile"),
  M("option-like source path", { source: { path: "-x" } }, "source.path"),
  M("1 MB CPU-only decision", { evalCpu: { cpuOnlyDecision: MB } }, "evalCpu.cpuOnlyDecision"),
  M("CPU-only decision with a newline", { evalCpu: { cpuOnlyDecision: "ADR-7\n-rf" } }, "evalCpu.cpuOnlyDecision"),
  I("CPU-only decision not recorded in the pack config", { evalCpu: { cpuOnlyDecision: "docs/adr/0007-eval-cpu.md" } }, "evalCpu.cpuOnlyDecision"),
  M("model cache path climbing", { modelCache: { path: "/var/cache/../../etc" } }, "modelCache.path"),
  M("1 MB log-opt value", { container: { daemonLogOpts: { "max-buffer-size": MB } } }, "container.daemonLogOpts.max-buffer-size"),
  M("log-opt value with a newline", { container: { daemonLogOpts: { mode: "non-blocking\nx" } } }, "container.daemonLogOpts.mode"),
  M("1 MB container name", { lanes: { prod: { containerName: `a${MB}` } } }, "lanes.prod.containerName"),
  M("1 MB volume name", { modelCache: { volume: `a${MB}` } }, "modelCache.volume"),
  M("1 MB API key", { apiKey: `k${MB}` }, "apiKey"),
  M("1 MB torch index", { torch: { indexUrl: `https://download.pytorch.org/${MB}/rocm7.1` } }, "torch.indexUrl"),
  M("long torch version", { torch: { torchVersion: `2.10.0+rocm${"7.".repeat(100)}1` } }, "torch.torchVersion"),
  M("1 MB group", { gpu: { groups: [`g${"a".repeat(64)}`] } }, "gpu.groups.0"),
];

function load(values: Values): StackConfig {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...BASE, ...values })) raw[`${NS}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  return loadStackConfig({ raw, project: NS, stack: "hemma", projectDir: process.cwd() });
}

/** argv of a shell command line, as /bin/sh splits it. */
function shellWords(line: string): string[] {
  return execFileSync("/bin/sh", ["-c", `set -- ${line}; for a; do printf '%s\\0' "$a"; done`], { encoding: "utf8" })
    .split("\0")
    .slice(0, -1);
}

let shellChecks = 0;
/** What must hold for an accepted config. */
function assertSafe(cfg: StackConfig): void {
  for (const d of cfg.gpu.devices) expect(d).toMatch(/^\/dev\/(kfd|dri|dri\/renderD\d+|dri\/card\d+)$/);
  const root = cfg.verification.evidenceRoot;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: asserts the loaded evidence root holds no control characters
  expect(root.startsWith("-") || /[\0-\x1f]/.test(root) || root.split(/[\\/]/).includes("..") || root.length > 255).toBe(false);
  expect(cfg.bindAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  if (!cfg.allowUnsafeSshOpts) for (const o of sshOptionValues(cfg.sshOpts, true)) expect(unsafeSshOption(o)).toBeUndefined();
  const strings = JSON.stringify(cfg).match(/"(?:[^"\\]|\\.)*"/g) ?? [];
  for (const s of strings) expect(s.length).toBeLessThan(2100);
  if (!cfg.dockerHost.startsWith("ssh://")) return;
  const target = parseSshUrl(cfg.dockerHost);
  expect(target.destination.startsWith("-")).toBe(false);
  const values = sshOptionValues(cfg.sshOpts, true);
  // every ssh argv built from the config: `--` right before the destination, nothing after it but a command
  const verifier = targetArgs(target, values);
  const ops = sshArgs(sshTargetFromDockerHost(cfg.dockerHost, cfg.sshOpts));
  for (const argv of [verifier, ops]) expect(argv.slice(-2)).toEqual(["--", target.destination]);
  if (shellChecks++ < 25) {
    const words = shellWords(tunnelCommand(cfg.dockerHost, 28085, cfg.bindAddress, 28085));
    expect(words.slice(-2)).toEqual(["--", target.destination]);
    expect(words.slice(0, 2)).toEqual(["ssh", "-N"]);
    expect(words).toContain(`28085:${cfg.bindAddress}:28085`);
  }
}

async function runCase(name: string, mutations: Mutation[]): Promise<void> {
  const values: Values = {};
  for (const m of mutations) Object.assign(values, m.set);
  // a later mutation of the same top-level key replaces an earlier one
  const effective = mutations.filter((m, i) => !mutations.slice(i + 1).some((later) => Object.keys(later.set).some((k) => k in m.set)));
  const refusals = effective.filter((m) => m.refusedAt !== undefined);
  const schemaRefuses = refusals.some((m) => !m.invariant);
  const expectedKeys = refusals.length === 0 ? [] : refusals.filter((m) => !(m.invariant && schemaRefuses)).map((m) => m.refusedAt as string);
  await measure(f, name, () => {
    let cfg: StackConfig;
    try {
      cfg = load(values);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error; // a crash, not a refusal
      const keys = error.issues.map((i) => i.key);
      expect([name, expectedKeys.length > 0 ? "refused as expected" : error.message]).toEqual([name, "refused as expected"]);
      for (const k of expectedKeys) expect([name, keys.some((key) => key === k || key.startsWith(`${k}.`))]).toEqual([name, true]);
      // secrets stay secret and huge values are not echoed whole
      expect(error.message).not.toContain(MB.slice(0, 200));
      return "refused";
    }
    expect([name, expectedKeys]).toEqual([name, []]);
    assertSafe(cfg);
    return "accepted";
  });
}

describe("hostile stack configs", () => {
  test("the default config is accepted and safe", async () => {
    await runCase("defaults", []);
  });

  test(`each of ${MUTATIONS.length} crafted values is refused naming its key, or accepted and safe`, async () => {
    for (const m of MUTATIONS) await runCase(m.name, [m]);
  });

  test("300 seeded combinations of 2 to 4 values", async () => {
    const rand = prng(328);
    for (let i = 0; i < 300; i++) {
      const n = 2 + Math.floor(rand() * 3);
      const picked = Array.from({ length: n }, () => MUTATIONS[Math.floor(rand() * MUTATIONS.length)] as Mutation);
      // nested keys of one top-level object do not combine by Object.assign: keep one per top-level key
      const byKey = new Map<string, Mutation>();
      for (const m of picked) byKey.set(Object.keys(m.set).sort().join(","), m);
      const distinct = [...byKey.values()].filter((m, j, all) => !all.slice(j + 1).some((o) => Object.keys(o.set).some((k) => k in m.set)));
      await runCase(`combo #${i}: ${distinct.map((m) => m.name).join(" + ")}`, distinct);
    }
  }, 120_000);
});
