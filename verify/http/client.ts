// HTTP client for one service URL: one keep-alive undici Pool, per-request deadlines, bounded retry of
// transient failures, API-key injection and recording of raw responses as (redacted) evidence.
// Every body is read against a per-route cap (JSON routes small, artifacts larger): a hostile or broken
// server sending a huge or endless body fails the request naming the route and the cap, and the
// verifier never holds more than the cap (plus one chunk) of it in memory.
import { createHash } from "node:crypto";
import { type FormData, Pool } from "undici";
import { Backoff, type Deadline, sleep } from "../deadline";
import { type EvidenceWriter, fileSafe } from "../evidence/writer";
import { type ErrorEnvelope, errorEnvelopeSchema, tryParseJson } from "../schemas";

export interface HttpRequest {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: FormData | string;
  /** Send X-API-Key (default false: health routes need none). */
  auth?: boolean;
  /** Record the response under responses/<label>.json. */
  label?: string;
  /** Send even after the run was aborted (job cancellations on the way out). */
  ignoreRunSignal?: boolean;
  /** Which body cap applies: "json" (default: JSON, text and metrics routes) or "artifact" (conversion results). */
  bodyKind?: BodyKind;
}

export type BodyKind = "json" | "artifact";

/** Default caps: JSON answers are a few KiB; artifacts of the bundled fixtures well under a MiB. */
export const DEFAULT_MAX_JSON_BYTES = 1024 * 1024;
export const DEFAULT_MAX_ARTIFACT_BYTES = 64 * 1024 * 1024;

/** The flag that sets each cap, for failure lines. */
const CAP_FLAG: Record<BodyKind, string> = { json: "--max-json-bytes", artifact: "--max-artifact-bytes" };

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** A response body larger than its route's cap (declared by Content-Length or seen while reading). Not retried. */
export class ResponseTooLargeError extends Error {
  constructor(
    readonly route: string,
    readonly kind: BodyKind,
    readonly capBytes: number,
    readonly seenBytes: number,
    declared: boolean,
  ) {
    super(
      `${route}: response body ${declared ? `declares ${seenBytes} bytes` : `exceeded ${seenBytes} bytes`}, over the ${formatBytes(capBytes)} cap for ${kind} routes (stopped reading; raise it with ${CAP_FLAG[kind]} if the service is right)`,
    );
  }
}

export interface HttpResponse {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  durationMs: number;
  text(): string;
}

export type TransportErrorKind = "timeout" | "network" | "aborted";

/** No HTTP response at all: connection refused/reset, timeout or abort. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly kind: TransportErrorKind,
  ) {
    super(message);
  }
}

export function errorEnvelope(res: HttpResponse): ErrorEnvelope | undefined {
  return tryParseJson(errorEnvelopeSchema, res.text());
}

/** `HTTP 401 auth_invalid_api_key: message` or `HTTP 500: <body start>`. */
export function describeResponse(res: HttpResponse): string {
  const envelope = errorEnvelope(res);
  if (envelope) return `HTTP ${res.status} ${envelope.error.code}: ${envelope.error.message}`;
  const text = res.text().replace(/\s+/g, " ").trim();
  return `HTTP ${res.status}${text ? `: ${text.length > 120 ? `${text.slice(0, 120)}...` : text}` : ""}`;
}

/** 5xx answers that are not a service error envelope (proxy errors, crashes) are worth retrying. */
export function isTransientStatus(res: HttpResponse): boolean {
  return res.status >= 500 && errorEnvelope(res) === undefined;
}

function describeCause(error: unknown): string {
  const err = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  const message = err.cause?.message ?? err.message ?? String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

export interface ClientOptions {
  apiKey: string;
  evidence?: EvidenceWriter;
  signal?: AbortSignal;
  connections?: number;
  /** Connect through this Unix socket (the SSH tunnel's private socket) instead of TCP. */
  socketPath?: string;
  /** Body cap of JSON/text routes in bytes; default DEFAULT_MAX_JSON_BYTES. */
  maxJsonBytes?: number;
  /** Body cap of artifact routes in bytes; default DEFAULT_MAX_ARTIFACT_BYTES. */
  maxArtifactBytes?: number;
}

type CappedBody = AsyncIterable<Buffer> & { destroy(err?: Error): unknown; on(event: "error", fn: () => void): unknown };

/** Stops reading a body we refuse (undici reports the abort as an error event; it is expected here). */
function discard(body: CappedBody): void {
  body.on("error", () => undefined);
  body.destroy();
}

/** Reads `body` up to `cap` bytes; past the cap it stops, destroys the stream and throws. */
async function readCapped(body: CappedBody, route: string, kind: BodyKind, cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > cap) {
      discard(body);
      throw new ResponseTooLargeError(route, kind, cap, total, false);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

export class ServiceClient {
  private readonly pool: Pool;
  private readonly basePath: string;

  constructor(
    readonly baseUrl: URL,
    private readonly options: ClientOptions,
  ) {
    this.pool = new Pool(baseUrl.origin, {
      connections: options.connections ?? 16,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: 0, // deadlines are enforced per request with AbortSignal
      bodyTimeout: 0,
      ...(options.socketPath ? { socketPath: options.socketPath } : {}),
    });
    this.basePath = baseUrl.pathname.replace(/\/+$/, "");
  }

  private capOf(kind: BodyKind): number {
    return kind === "artifact" ? (this.options.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES) : (this.options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES);
  }

  /** One attempt. Throws TransportError when no response arrives within `timeoutMs`. */
  async send(req: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), Math.max(1, timeoutMs));
    const runSignal = req.ignoreRunSignal ? undefined : this.options.signal;
    const signals = [timeout.signal, ...(runSignal ? [runSignal] : [])];
    const signal = AbortSignal.any(signals);
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    if (req.auth) headers["x-api-key"] = this.options.apiKey;
    const started = Date.now();
    const where = `${req.method} ${req.path}`;
    try {
      const res = await this.pool.request({
        method: req.method,
        path: `${this.basePath}${req.path}`,
        headers,
        body: req.body,
        signal,
      });
      const kind = req.bodyKind ?? "json";
      const cap = this.capOf(kind);
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > cap) {
        discard(res.body);
        throw new ResponseTooLargeError(where, kind, cap, declared, true);
      }
      const body = await readCapped(res.body, where, kind, cap);
      const flatHeaders: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) flatHeaders[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
      }
      const response: HttpResponse = {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        headers: flatHeaders,
        body,
        durationMs: Date.now() - started,
        text: () => body.toString("utf8"),
      };
      if (req.label) await this.record(req, headers, response);
      return response;
    } catch (error) {
      if (error instanceof ResponseTooLargeError) throw error;
      if (timeout.signal.aborted) {
        throw new TransportError(`${where}: no response within ${(timeoutMs / 1000).toFixed(1)}s (timed out)`, "timeout");
      }
      if (runSignal?.aborted) throw new TransportError(`${where}: aborted`, "aborted");
      throw new TransportError(`${where}: ${describeCause(error)}`, "network");
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Retries connection errors, timeouts and non-envelope 5xx with bounded backoff until `deadline`
   * or `maxAttempts`; returns the last response, or throws the last TransportError.
   */
  async sendRetrying(req: HttpRequest, deadline: Deadline, opts: { attemptTimeoutMs?: number; maxAttempts?: number } = {}): Promise<HttpResponse> {
    const attemptTimeoutMs = opts.attemptTimeoutMs ?? 30_000;
    const maxAttempts = opts.maxAttempts ?? 6;
    const backoff = new Backoff(100, 1000);
    let attempt = 0;
    for (;;) {
      attempt += 1;
      let outcome: HttpResponse | TransportError;
      if (deadline.expired()) {
        throw new TransportError(`${req.method} ${req.path}: deadline reached before the request was sent`, "timeout");
      }
      try {
        outcome = await this.send(req, deadline.cap(attemptTimeoutMs));
        if (!isTransientStatus(outcome)) return outcome;
      } catch (error) {
        if (!(error instanceof TransportError) || error.kind === "aborted") throw error;
        outcome = error;
      }
      const wait = backoff.next();
      if (attempt >= maxAttempts || deadline.remainingMs() <= wait) {
        if (outcome instanceof TransportError) {
          throw new TransportError(`${outcome.message} (after ${attempt} attempt(s))`, outcome.kind);
        }
        return outcome;
      }
      await sleep(wait, this.options.signal);
    }
  }

  private async record(req: HttpRequest, sentHeaders: Record<string, string>, res: HttpResponse): Promise<void> {
    if (!this.options.evidence) return;
    const contentType = res.headers["content-type"] ?? "";
    let body: unknown;
    if (contentType.includes("json")) {
      try {
        body = JSON.parse(res.text());
      } catch {
        body = res.text();
      }
    } else if (contentType.startsWith("text/")) {
      body = res.text();
    } else {
      body = { binary: true, size_bytes: res.body.length, sha256: createHash("sha256").update(res.body).digest("hex") };
    }
    const headers = { ...sentHeaders };
    if (headers["x-api-key"] !== undefined) headers["x-api-key"] = "[REDACTED]";
    await this.options.evidence.writeJson(`responses/${fileSafe(req.label ?? "response")}.json`, {
      request: { method: req.method, path: req.path, headers },
      status: res.status,
      headers: res.headers,
      duration_ms: res.durationMs,
      body,
    });
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
