// Parses an `ssh://[user@]host[:port]` docker-host URL into the pieces an OpenSSH command needs.
export interface SshTarget {
  /** `[user@]host`, as `ssh` takes it. */
  destination: string;
  port?: number;
  /** Extra `ssh` arguments for the port (`-p N`), empty when default. */
  portArgs: string[];
}

export function parseSshUrl(url: string): SshTarget {
  const match = /^ssh:\/\/(?:([^@/\s]+)@)?([^:/\s]+|\[[0-9a-fA-F:]+\])(?::(\d+))?\/?$/.exec(url);
  if (!match) throw new Error(`not an ssh:// URL: ${url} (expected ssh://[user@]host[:port])`);
  const [, user, host, port] = match;
  const destination = user ? `${user}@${host}` : host;
  return port ? { destination, port: Number(port), portArgs: ["-p", port] } : { destination, portArgs: [] };
}

/** The ready-to-paste command that forwards a local port to a loopback port on the docker host. */
export function tunnelCommand(dockerHost: string, localPort: number, remoteHost: string, remotePort: number): string {
  if (!dockerHost.startsWith("ssh://")) return `(no tunnel needed: the docker host is ${dockerHost}; use http://${remoteHost}:${remotePort})`;
  const target = parseSshUrl(dockerHost);
  const bracketed = remoteHost.includes(":") ? `[${remoteHost}]` : remoteHost;
  return ["ssh", "-N", ...target.portArgs, "-L", `${localPort}:${bracketed}:${remotePort}`, target.destination].join(" ");
}
