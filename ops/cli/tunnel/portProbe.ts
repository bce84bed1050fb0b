// Looks at a local port before `npm run tunnel` uses it: is a tunnel to the right lane already
// there (GET /healthz answers with the lane's service_profile), is the port free, or is something
// else listening on it.
import * as http from "node:http";
import * as net from "node:net";

export type PortState = { kind: "lane"; profile: string; revision?: string } | { kind: "free" } | { kind: "taken"; detail: string };

/** GET http://127.0.0.1:<port>/healthz; resolves with status and body, or an error description. */
export function getHealthz(port: number, timeoutMs: number): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    // agent:false: no pooled keep-alive socket outlives the probe (it would keep the CLI alive).
    const req = http.get({ host: "127.0.0.1", port, path: "/healthz", timeout: timeoutMs, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        if (body.length < 65536) body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", (err) => resolve({ error: err.message }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err: NodeJS.ErrnoException) => {
      req.destroy();
      resolve({ error: err.code ?? err.message });
    });
  });
}

/** Whether nothing listens on 127.0.0.1:<port> (we can bind it ourselves). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function profileOf(body: string): { profile?: string; revision?: string } {
  try {
    const json = JSON.parse(body) as { service_profile?: unknown; service_revision?: unknown };
    return {
      profile: typeof json.service_profile === "string" ? json.service_profile : undefined,
      revision: typeof json.service_revision === "string" ? json.service_revision : undefined,
    };
  } catch {
    return {};
  }
}

/** Classifies a local port for a lane whose service reports `service_profile` = `profile`. */
export async function probePort(port: number, profile: string, timeoutMs = 2000): Promise<PortState> {
  const res = await getHealthz(port, timeoutMs);
  if ("status" in res) {
    const seen = profileOf(res.body);
    if (res.status === 200 && seen.profile === profile) return { kind: "lane", profile, revision: seen.revision };
    const what = seen.profile ? `a Sir Convert-a-Lot ${seen.profile} lane` : `an HTTP server answering ${res.status} on /healthz`;
    return { kind: "taken", detail: `${what}, not the ${profile} lane` };
  }
  if (await portIsFree(port)) return { kind: "free" };
  return { kind: "taken", detail: `something that does not answer HTTP /healthz (${res.error}); maybe a stale tunnel whose lane is down` };
}

/** The first free port after `from` (up to `span` tries), or undefined. */
export async function nextFreePort(from: number, avoid: Set<number>, span = 50): Promise<number | undefined> {
  for (let p = from + 1; p <= Math.min(65535, from + span); p++) {
    if (!avoid.has(p) && (await portIsFree(p))) return p;
  }
  return undefined;
}
