// SSH facts shared by the program, the verifier and the operator tools: parsing an
// `ssh://[user@]host[:port]` URL (refusing option-like users and hosts), turning config `sshOpts`
// into `-o Key=Value` options (refusing ones that weaken host-key checking or run local commands
// unless `allowUnsafeSshOpts` opts in), and the ready-to-paste, shell-quoted tunnel command. The
// ssh argv itself is built by lib/commands/ssh.ts, the project's one ssh command-line builder.
import { localForward, type SshTarget } from "./commands/ssh";
import { shellJoin } from "./shellQuote";

/** Whether a docker host URL is reached over SSH. */
export function isSshUrl(url: string): boolean {
  return url.startsWith("ssh://");
}

/** Parses `ssh://[user@]host[:port]`; throws with the expected form otherwise. */
export function parseSshUrl(url: string): SshTarget {
  const expected = `expected ssh://[user@]host[:port], saw ${url}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(expected);
  }
  if (parsed.protocol !== "ssh:" || parsed.hostname === "" || (parsed.pathname !== "" && parsed.pathname !== "/")) throw new Error(expected);
  if (parsed.password) throw new Error(`passwords are not supported in ${url} (use keys; ssh runs in batch mode)`);
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  const user = decodeURIComponent(parsed.username);
  if (user.startsWith("-") || host.startsWith("-"))
    throw new Error(`the ssh ${user.startsWith("-") ? "user" : "host"} in ${url} begins with "-" (ssh would read it as an option)`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refuses control characters in the ssh user and host (they would reach ssh's argv)
  if (/[\s\0-\x1f\x7f@]/.test(user) || /[\s\0-\x1f\x7f]/.test(host))
    throw new Error(`the ssh user or host in ${url} holds whitespace, control characters or "@"`);
  return { destination: user ? `${user}@${host}` : host, port: parsed.port ? Number(parsed.port) : undefined, display: url };
}

const KEY_VALUE = /^[A-Za-z][A-Za-z0-9]*=\S.*$/s;

/**
 * Options that weaken host-key checking or run local commands. Refused unless config
 * `allowUnsafeSshOpts` is true (documented in README, Configuration). Names are case-insensitive in ssh.
 */
const UNSAFE_OPTIONS: Array<{ name: string; unsafe: (value: string) => boolean; why: string }> = [
  { name: "stricthostkeychecking", unsafe: (v) => /^(no|off|false)$/i.test(v), why: "turns off host-key checking" },
  { name: "userknownhostsfile", unsafe: (v) => v.split(/\s+/).some((f) => f === "/dev/null"), why: "discards known host keys" },
  { name: "globalknownhostsfile", unsafe: (v) => v.split(/\s+/).some((f) => f === "/dev/null"), why: "discards known host keys" },
  { name: "proxycommand", unsafe: (v) => !/^none$/i.test(v), why: "runs a local command" },
  { name: "localcommand", unsafe: () => true, why: "runs a local command" },
  { name: "permitlocalcommand", unsafe: (v) => /^(yes|true)$/i.test(v), why: "lets ssh run local commands" },
  { name: "knownhostscommand", unsafe: (v) => !/^none$/i.test(v), why: "runs a local command" },
  { name: "batchmode", unsafe: (v) => /^(no|false)$/i.test(v), why: "lets ssh prompt (the tools must never wait for a password)" },
];

/** Why a `Key=Value` option is unsafe, or undefined. */
export function unsafeSshOption(option: string): string | undefined {
  const at = option.indexOf("=");
  const name = option.slice(0, at).toLowerCase();
  const value = option.slice(at + 1).trim();
  const rule = UNSAFE_OPTIONS.find((r) => r.name === name);
  return rule?.unsafe(value) ? `${option.slice(0, at)}=${value} ${rule.why}` : undefined;
}

/**
 * Config `sshOpts` (`["-o", "Key=Value"]` pairs or `"-oKey=Value"` items, as the docker provider
 * takes them) as plain `Key=Value` options; throws naming the first item of another form.
 */
export function sshOptionValues(sshOpts: readonly string[], allowUnsafe = false): string[] {
  const values: string[] = [];
  for (let i = 0; i < sshOpts.length; i++) {
    const item = sshOpts[i];
    const value = item === "-o" ? sshOpts[++i] : item.startsWith("-o") ? item.slice(2) : undefined;
    if (value === undefined || !KEY_VALUE.test(value)) {
      throw new Error(`only ssh -o options are supported ("-o", "Key=Value" or "-oKey=Value"), saw ${JSON.stringify(value ?? item)}`);
    }
    const unsafe = unsafeSshOption(value);
    if (unsafe && !allowUnsafe) throw new Error(`${unsafe}; refused unless allowUnsafeSshOpts is true`);
    values.push(value);
  }
  return values;
}

/** The ready-to-paste command that forwards a local port to a loopback port on the docker host. */
export function tunnelCommand(dockerHost: string, localPort: number, remoteHost: string, remotePort: number): string {
  if (!isSshUrl(dockerHost)) return `(no tunnel needed: the docker host is ${dockerHost}; use http://${remoteHost}:${remotePort})`;
  const target = parseSshUrl(dockerHost);
  const port = target.port !== undefined ? ["-p", String(target.port)] : [];
  return shellJoin(["ssh", "-N", ...port, "-L", localForward(localPort, remoteHost, remotePort), "--", target.destination]);
}
