// A small Docker Engine API client for the box suites: HTTP/1.1 over `ssh … docker system
// dial-stdio` (what the docker provider's connhelper does for an `ssh://` host, one ssh per
// request) or over the daemon's Unix socket. The API version is negotiated once with /_ping (as
// the Go client's NegotiateAPIVersion does), and every path is prefixed with it.
import { spawn } from "node:child_process";
import http from "node:http";
import { Duplex, Readable } from "node:stream";
import { sshArgs, sshOptionArgs } from "../../../lib/commands/ssh";
import { parseSshUrl } from "../../../lib/sshTarget";

export type EngineTransport = { kind: "ssh"; dockerHost: string; sshOptions: string[] } | { kind: "socket"; socketPath: string };

export interface EngineRequest {
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON value, or a stream (e.g. a tar build context) sent as is. */
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export interface EngineResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class EngineError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    message: string,
  ) {
    super(`${method} ${path}: ${status} ${message}`);
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class EngineApi {
  private constructor(
    private readonly transport: EngineTransport,
    /** Negotiated API version, e.g. `1.41`. */
    readonly apiVersion: string,
  ) {}

  static async connect(transport: EngineTransport): Promise<EngineApi> {
    const raw = new EngineApi(transport, "");
    const ping = await raw.raw("GET", "/_ping", {});
    const version = String(ping.headers["api-version"] ?? "");
    if (!/^\d+\.\d+$/.test(version)) throw new Error(`/_ping gave no API-Version header (status ${ping.status})`);
    return new EngineApi(transport, version);
  }

  /** Whether the negotiated API version is below `min` (e.g. `1.44`). */
  below(min: string): boolean {
    const [a, b] = this.apiVersion.split(".").map(Number);
    const [c, d] = min.split(".").map(Number);
    return a! < c! || (a === c && b! < d!);
  }

  async request(method: string, path: string, req: EngineRequest = {}): Promise<EngineResponse> {
    return this.raw(method, `/v${this.apiVersion}${path}`, req);
  }

  /** The parsed JSON answer; throws EngineError on a status >= 400 with the daemon's message. */
  async json<T = any>(method: string, path: string, req: EngineRequest = {}): Promise<T> {
    const res = await this.request(method, path, req);
    if (res.status >= 400) throw new EngineError(method, path, res.status, messageOf(res.body));
    const text = res.body.toString("utf8").trim();
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }

  private connection(): { socket: Duplex; close(): void } {
    if (this.transport.kind === "socket") {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const net = require("node:net") as typeof import("node:net");
      const socket = net.connect(this.transport.socketPath);
      return { socket, close: () => socket.destroy() };
    }
    const target = parseSshUrl(this.transport.dockerHost);
    const args = ["-o", "BatchMode=yes", ...sshArgs(target, sshOptionArgs(this.transport.sshOptions)), "docker", "system", "dial-stdio"];
    const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const socket = Duplex.from({ readable: child.stdout, writable: child.stdin });
    child.on("exit", (code) => {
      if (code !== 0 && code !== null) socket.destroy(new Error(`ssh docker system dial-stdio exited ${code}: ${stderr.trim()}`));
    });
    return {
      socket,
      close: () => {
        child.stdin.end();
        if (child.exitCode === null) child.kill("SIGTERM");
      },
    };
  }

  private raw(method: string, path: string, req: EngineRequest): Promise<EngineResponse> {
    const query = Object.entries(req.query ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join("&");
    const fullPath = query ? `${path}?${query}` : path;
    const isStream = req.body instanceof Readable;
    const payload = req.body === undefined || isStream ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = { host: "docker" };
    if (payload) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(payload.length);
    } else if (isStream) {
      headers["content-type"] = req.contentType ?? "application/x-tar";
    }
    const conn = this.connection();
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<EngineResponse>((resolve, reject) => {
      let settled = false;
      const done = (err: Error | undefined, res?: EngineResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.close();
        if (err) reject(err);
        else resolve(res!);
      };
      const timer = setTimeout(() => {
        done(new Error(`${method} ${fullPath}: no answer within ${timeoutMs} ms`));
        r.destroy();
      }, timeoutMs);
      const r = http.request({ method, path: fullPath, headers, createConnection: () => conn.socket as any }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => done(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", (e) => done(e));
      });
      r.on("error", (e) => done(e));
      conn.socket.on("error", (e) => done(e));
      if (isStream) (req.body as Readable).pipe(r);
      else r.end(payload);
    });
  }
}

function messageOf(body: Buffer): string {
  const text = body.toString("utf8").trim();
  try {
    const parsed = JSON.parse(text) as { message?: string };
    return parsed.message ?? text;
  } catch {
    return text;
  }
}
