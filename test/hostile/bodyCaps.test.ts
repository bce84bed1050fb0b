// Hostile response bodies (issue 12, Medium): a 1 GiB `/readyz` once grew the verifier to 2.3 GB and an
// endless chunked body to 1.2 GB. Every route's body is now read against a cap (JSON small, artifacts
// larger, both configurable); past it the request fails naming the route and the cap. The hostile
// server runs in its own process on 127.0.0.1 so the peak RSS measured here is the verifier's alone.
import { type ChildProcess, spawn } from "node:child_process";
import { errorToFailure } from "../../verify/checks/context";
import { parseCliArgs } from "../../verify/cliArgs";
import {
  DEFAULT_MAX_ARTIFACT_BYTES,
  DEFAULT_MAX_JSON_BYTES,
  type HttpRequest,
  ResponseTooLargeError,
  ServiceClient,
  TransportError,
} from "../../verify/http/client";
import { OptionsError, resolveOptions } from "../../verify/options";
import { measure, newFigures, printFigures } from "./figures";

// Paths: /declared/N (Content-Length N, streams N bytes), /chunked/N (chunked, N bytes), /endless
// (chunked, never ends), /drip (one byte every 20 ms, never ends). Writes honour backpressure and stop
// when the client goes away, so the server itself stays small.
const SERVER = `
const http = require("node:http");
const chunk = Buffer.alloc(64 * 1024, 0x61);
function stream(res, total) {
  let sent = 0;
  const pump = () => {
    while (total === Infinity || sent < total) {
      const n = total === Infinity ? chunk.length : Math.min(chunk.length, total - sent);
      sent += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once("drain", pump);
    }
    res.end();
  };
  res.on("close", () => (total = 0));
  pump();
}
const server = http.createServer((req, res) => {
  const [, mode, n] = req.url.split("/");
  if (mode === "declared") { res.writeHead(200, { "content-type": "application/json", "content-length": n }); return stream(res, Number(n)); }
  if (mode === "chunked") { res.writeHead(200, { "content-type": "application/json" }); return stream(res, Number(n)); }
  if (mode === "endless") { res.writeHead(200, { "content-type": "text/plain" }); return stream(res, Infinity); }
  if (mode === "drip") {
    res.writeHead(200, { "content-type": "application/json" });
    const t = setInterval(() => res.write("1"), 20);
    return res.on("close", () => clearInterval(t));
  }
  res.writeHead(404); res.end();
});
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
`;

const GIB = 1024 ** 3;
const f = newFigures("HTTP body caps");
let server: ChildProcess;
let baseUrl: URL;

beforeAll(async () => {
  server = spawn(process.execPath, ["-e", SERVER], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    server.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim()));
    server.once("exit", (code) => reject(new Error(`hostile server exited ${code}`)));
  });
  baseUrl = new URL(`http://127.0.0.1:${port}`);
});

afterAll(async () => {
  printFigures(f);
  server.stdin?.end();
  if (server.exitCode === null) await new Promise((resolve) => server.once("exit", resolve));
});

type Outcome = { outcome: "refused" | "accepted"; error?: Error; size?: number };

async function attempt(client: ServiceClient, req: HttpRequest, timeoutMs = 20_000): Promise<Outcome> {
  try {
    const res = await client.send(req, timeoutMs);
    return { outcome: "accepted", size: res.body.length };
  } catch (error) {
    if (error instanceof ResponseTooLargeError || error instanceof TransportError) return { outcome: "refused", error };
    throw error;
  }
}

async function hostileCase(name: string, client: ServiceClient, req: HttpRequest, timeoutMs?: number): Promise<Outcome & { ms: number }> {
  let result!: Outcome;
  const { ms } = await measure(f, name, async () => {
    result = await attempt(client, req, timeoutMs);
    return result.outcome;
  });
  return { ...result, ms };
}

describe("hostile response bodies (loopback server in its own process)", () => {
  let client: ServiceClient;
  beforeAll(() => {
    client = new ServiceClient(baseUrl, { apiKey: "k".repeat(32) });
  });
  afterAll(async () => {
    await client.close();
  });

  test("a declared 1 GiB /readyz is refused from its Content-Length, naming route and cap", async () => {
    const r = await hostileCase("declared 1 GiB on a JSON route", client, { method: "GET", path: `/declared/${GIB}` });
    expect(r.error).toBeInstanceOf(ResponseTooLargeError);
    expect(r.error?.message).toBe(
      `GET /declared/${GIB}: response body declares ${GIB} bytes, over the 1 MiB cap for json routes (stopped reading; raise it with --max-json-bytes if the service is right)`,
    );
    expect(r.ms).toBeLessThan(5_000);
  });

  test("an undeclared (chunked) 1 GiB body stops at the JSON cap", async () => {
    const r = await hostileCase("chunked 1 GiB on a JSON route", client, { method: "GET", path: `/chunked/${GIB}` });
    expect(r.error).toBeInstanceOf(ResponseTooLargeError);
    expect(r.error?.message).toMatch(/^GET \/chunked\/\d+: response body exceeded \d+ bytes, over the 1 MiB cap for json routes/);
    expect((r.error as ResponseTooLargeError).seenBytes).toBeLessThanOrEqual(DEFAULT_MAX_JSON_BYTES + 64 * 1024);
  });

  test("an endless chunked body stops at the JSON cap, and at the artifact cap on artifact routes", async () => {
    const json = await hostileCase("endless chunked on a JSON route", client, { method: "GET", path: "/endless" });
    expect(json.error).toBeInstanceOf(ResponseTooLargeError);
    const art = await hostileCase("endless chunked on an artifact route (64 MiB default)", client, { method: "GET", path: "/endless", bodyKind: "artifact" });
    expect(art.error).toBeInstanceOf(ResponseTooLargeError);
    expect(art.error?.message).toMatch(/over the 64 MiB cap for artifact routes .*--max-artifact-bytes/);
    expect((art.error as ResponseTooLargeError).capBytes).toBe(DEFAULT_MAX_ARTIFACT_BYTES);
  });

  test("an endless drip is bounded by the attempt timeout, not read forever", async () => {
    const r = await hostileCase("endless drip, 1 s timeout", client, { method: "GET", path: "/drip" }, 1000);
    expect(r.error).toBeInstanceOf(TransportError);
    expect(r.error?.message).toMatch(/timed out/);
    expect(r.ms).toBeLessThan(3000);
  });

  test("bodies within the cap are read whole; the same size over a configured cap is refused", async () => {
    const small = new ServiceClient(baseUrl, { apiKey: "k".repeat(32), maxJsonBytes: 4096, maxArtifactBytes: 1024 * 1024 });
    try {
      for (const [path, bodyKind, expected] of [
        ["/declared/4096", "json", "accepted"],
        ["/chunked/4096", "json", "accepted"],
        ["/declared/4097", "json", "refused"],
        ["/chunked/4097", "json", "refused"],
        ["/chunked/1048576", "artifact", "accepted"],
        ["/chunked/1048577", "artifact", "refused"],
        ["/declared/1048577", "artifact", "refused"],
        [`/declared/${DEFAULT_MAX_JSON_BYTES}`, "artifact", "accepted"],
      ] as const) {
        const r = await hostileCase(`${path} as ${bodyKind} (caps 4 KiB / 1 MiB)`, small, { method: "GET", path, bodyKind });
        expect([path, r.outcome]).toEqual([path, expected]);
        if (expected === "accepted") expect(r.size).toBe(Number(path.split("/")[2]));
        else expect(r.error?.message).toContain(bodyKind === "json" ? "4 KiB cap for json routes" : "1 MiB cap for artifact routes");
      }
      // a refused body is not retried: one attempt, the cap error, no backoff loop
      const { Deadline } = await import("../../verify/deadline");
      await expect(small.sendRetrying({ method: "GET", path: "/chunked/5000" }, new Deadline(10_000))).rejects.toBeInstanceOf(ResponseTooLargeError);
    } finally {
      await small.close();
    }
  });

  test("peak RSS stays bounded across the hostile cases", () => {
    // The unbounded client grew to 2.3 GB on the 1 GiB case; with caps the growth is the cap plus buffers.
    expect(f.worstRssMiB).toBeLessThan(DEFAULT_MAX_ARTIFACT_BYTES / 1048576 + 96);
  });
});

describe("body caps are configurable and reach the report", () => {
  const base = ["--service-url", "http://127.0.0.1:1", "--profile", "prod", "--expected-revision", "a".repeat(40)];
  const env = { SIR_CONVERT_A_LOT_API_KEY: "k".repeat(32) };

  test("--max-json-bytes and --max-artifact-bytes set the caps; defaults otherwise; nonsense refused", () => {
    const opts = parseCliArgs([...base, "--max-json-bytes", "65536", "--max-artifact-bytes", "2097152"], env);
    expect([opts.maxJsonBytes, opts.maxArtifactBytes]).toEqual([65536, 2097152]);
    const resolved = resolveOptions(parseCliArgs(base, env));
    expect([resolved.maxJsonBytes, resolved.maxArtifactBytes]).toEqual([DEFAULT_MAX_JSON_BYTES, DEFAULT_MAX_ARTIFACT_BYTES]);
    expect(() => parseCliArgs([...base, "--max-json-bytes", "lots"], env)).toThrow(/--max-json-bytes/);
    expect(() => resolveOptions({ ...parseCliArgs(base, env), maxJsonBytes: 10 })).toThrow(OptionsError);
    expect(() => resolveOptions({ ...parseCliArgs(base, env), maxArtifactBytes: 1.5e10 })).toThrow(/--max-artifact-bytes/);
  });

  test("a cap failure becomes a body-cap fact naming the route and cap", () => {
    const failure = errorToFailure(new ResponseTooLargeError("GET /readyz", "json", 1048576, 1048600, false));
    expect(failure.fact).toBe("body-cap");
    expect(failure.seen).toContain("GET /readyz");
    expect(failure.seen).toContain("1 MiB cap for json routes");
  });
});
