// SSH facts shared by the program, the verifier and the operator tools: parsing an
// `ssh://[user@]host[:port]` URL, turning config `sshOpts` into `-o Key=Value` options, and the
// ready-to-paste tunnel command.
export interface SshTarget {
  /** `host` or `user@host`, as `ssh` takes it (an ssh_config alias works too). */
  destination: string;
  port?: number;
  /** The URL it came from, for messages. */
  display: string;
}

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
  return { destination: user ? `${user}@${host}` : host, port: parsed.port ? Number(parsed.port) : undefined, display: url };
}

const KEY_VALUE = /^[A-Za-z][A-Za-z0-9]*=\S.*$/s;

/**
 * Config `sshOpts` (`["-o", "Key=Value"]` pairs or `"-oKey=Value"` items, as the docker provider
 * takes them) as plain `Key=Value` options; throws naming the first item of another form.
 */
export function sshOptionValues(sshOpts: readonly string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i < sshOpts.length; i++) {
    const item = sshOpts[i];
    const value = item === "-o" ? sshOpts[++i] : item.startsWith("-o") ? item.slice(2) : undefined;
    if (value === undefined || !KEY_VALUE.test(value)) {
      throw new Error(`only ssh -o options are supported ("-o", "Key=Value" or "-oKey=Value"), saw ${JSON.stringify(value ?? item)}`);
    }
    values.push(value);
  }
  return values;
}

/** `-o Key=Value` arguments for ssh. */
export function sshOptionArgs(values: readonly string[]): string[] {
  return values.flatMap((v) => ["-o", v]);
}

/** ssh arguments that select the target: options, port, destination (a remote command may follow). */
export function sshTargetArgs(target: SshTarget, optionValues: readonly string[]): string[] {
  return [...sshOptionArgs(optionValues), ...(target.port !== undefined ? ["-p", String(target.port)] : []), target.destination];
}

/** The ready-to-paste command that forwards a local port to a loopback port on the docker host. */
export function tunnelCommand(dockerHost: string, localPort: number, remoteHost: string, remotePort: number): string {
  if (!isSshUrl(dockerHost)) return `(no tunnel needed: the docker host is ${dockerHost}; use http://${remoteHost}:${remotePort})`;
  const target = parseSshUrl(dockerHost);
  const bracketed = remoteHost.includes(":") ? `[${remoteHost}]` : remoteHost;
  const port = target.port !== undefined ? ["-p", String(target.port)] : [];
  return ["ssh", "-N", ...port, "-L", `${localPort}:${bracketed}:${remotePort}`, target.destination].join(" ");
}
