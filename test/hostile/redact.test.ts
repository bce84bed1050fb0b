// Hostile keys for the redactor (issue 12, Low). The redactor once worked on JSON text, so a key
// holding `"` or `\` reached report.json escaped (unmasked). Seeded keys made of the awkward characters
// are written into evidence the ways the verifier writes (JSON values and object keys, log lines,
// URL queries, form bodies, Basic auth base64, base64url, JSON inside JSON); each output is then
// decoded independently of the redactor (JSON.parse, decodeURIComponent, base64 decode) and must not
// hold the key, and JSON output must still parse. Also: a failed `pulumi stack output --show-secrets`
// never prints its stdout.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiCli } from "../../ops/pulumi/cli";
import { OpsError } from "../../ops/tool/error";
import type { RunResult } from "../../ops/tool/runCommand";
import { EvidenceWriter } from "../../verify/evidence/writer";
import { encodingsOf, REDACTED, Redactor } from "../../verify/redact";
import { measure, newFigures, printFigures, prng } from "./figures";

const f = newFigures("redactor");
let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-redact-"))));
afterAll(() => {
  printFigures(f);
  fs.rmSync(dir, { recursive: true, force: true });
});

const AWKWARD = ['"', "\\", "/", "%", "+", " ", "&", "=", "?", "#", "'", "\n", "\t", "\u0001", "é", "€", "😀", "<", ">", "~", ":"];
const PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

function hostileKeys(count: number): string[] {
  const rand = prng(12);
  const keys = ['abc"def\\ghi"jkl\\mno"pqr\\stu', "ends-with-backslash-xxxxxxxxxxxx\\", '"starts-with-quote-xxxxxxxxxxxxx', "plain-key-0123456789abcdefghij"];
  while (keys.length < count) {
    const len = 24 + Math.floor(rand() * 40);
    let k = "";
    for (let i = 0; i < len; i++)
      k += rand() < 0.3 ? (AWKWARD[Math.floor(rand() * AWKWARD.length)] as string) : (PLAIN[Math.floor(rand() * PLAIN.length)] as string);
    keys.push(k);
  }
  return keys;
}

/** Every string in a parsed JSON value, keys included. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

/** Decodes every base64/base64url-looking run (at each alignment) and percent/form-encoded text. */
function decodedViews(text: string): string[] {
  const views = [text];
  try {
    views.push(decodeURIComponent(text.replace(/\+/g, " ")));
  } catch {
    views.push(text.replace(/%[0-9a-fA-F]{2}/g, (h) => String.fromCharCode(parseInt(h.slice(1), 16))));
  }
  for (const run of text.match(/[A-Za-z0-9+/_-]{8,}={0,2}/g) ?? []) {
    for (let skip = 0; skip < 4; skip++) views.push(Buffer.from(run.slice(skip).replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8"));
  }
  return views;
}

const CONTEXTS: Array<[string, (key: string) => { json?: unknown; text?: string }]> = [
  ["JSON value in report", (k) => ({ json: { checks: [{ failures: [{ seen: `HTTP 401: key ${k} rejected` }] }] } })],
  ["JSON object key", (k) => ({ json: { [k]: 1, nested: { [`x${k}y`]: [k] } } })],
  ["response headers echo", (k) => ({ json: { headers: { "x-api-key": k, "set-cookie": `s=${k}; Path=/` } } })],
  ["JSON text inside a JSON string", (k) => ({ json: { body: JSON.stringify({ key: k }) } })],
  ["JSON text inside JSON inside JSON", (k) => ({ json: { body: JSON.stringify({ body: JSON.stringify({ key: k }) }) } })],
  ["log line", (k) => ({ text: `[prod] FAIL liveness -> auth: saw ${k} in the body` })],
  ["URL query", (k) => ({ text: `GET /v1/jobs?api_key=${encodeURIComponent(k)}&x=1` })],
  ["form body", (k) => ({ text: new URLSearchParams({ api_key: k, other: "v" }).toString() })],
  ["lowercase percent-encoding", (k) => ({ text: encodeURIComponent(k).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()) })],
  ["Basic auth base64(user:key)", (k) => ({ text: `authorization: Basic ${Buffer.from(`user:${k}`).toString("base64")}` })],
  ["base64 at offset 2", (k) => ({ text: Buffer.from(`ab${k}zz`).toString("base64") })],
  ["base64url of the key", (k) => ({ text: Buffer.from(k).toString("base64url") })],
  [
    "ASCII-escaped JSON (Python json.dumps)",
    (k) => ({ text: `{"key": ${JSON.stringify(k).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}}` }),
  ],
];

describe("hostile keys never reach evidence in any encoding", () => {
  const keys = hostileKeys(40);

  for (const [name, make] of CONTEXTS) {
    test(`${name}: ${keys.length} seeded keys masked, JSON still parses`, async () => {
      for (const [i, key] of keys.entries()) {
        await measure(f, `${name} #${i}`, async () => {
          const redactor = new Redactor([key]);
          const writer = new EvidenceWriter(path.join(dir, `e${i}`), redactor);
          await writer.init();
          const { json, text } = make(key);
          const file = json !== undefined ? await writer.writeJson("report.json", json) : await writer.writeText("log.txt", text as string);
          const written = fs.readFileSync(file, "utf8");
          if (json !== undefined) {
            const parsed = JSON.parse(written) as unknown; // never broken by a key holding " or \
            for (const s of strings(parsed)) for (const view of [s, ...decodedViews(s)]) expect(view.includes(key)).toBe(false);
            // what is left around the key survives
            expect(written).toContain(REDACTED);
          }
          for (const view of decodedViews(written)) expect([name, i, view.includes(key)]).toEqual([name, i, false]);
          return "refused" as const;
        });
      }
    });
  }

  test("text without the key is left untouched (near misses included)", async () => {
    for (const [i, key] of keys.entries()) {
      await measure(f, `near miss #${i}`, () => {
        const redactor = new Redactor([key]);
        // NUL never occurs in a key: it replaces the key's last, then its first character
        const nearMiss = `${key.slice(0, -1)}\u0000|\u0000${key.slice(1)} ${Buffer.from(key.slice(0, 4)).toString("base64")}`;
        expect(redactor.text(nearMiss)).toBe(nearMiss);
        expect(redactor.value({ a: nearMiss })).toEqual({ a: nearMiss });
        return "accepted" as const;
      });
    }
  });

  test("a 1 MiB text with the key in every encoding is masked in bounded time", async () => {
    const key = keys[0] as string;
    const redactor = new Redactor([key]);
    const chunk = encodingsOf(key).join(" filler ");
    const big = chunk.repeat(Math.ceil((1024 * 1024) / chunk.length));
    const { ms } = await measure(f, "1 MiB of every encoding", () => {
      const out = redactor.text(big);
      for (const view of decodedViews(out.slice(0, 4096))) expect(view.includes(key)).toBe(false);
      return "refused" as const;
    });
    expect(ms).toBeLessThan(5000);
  });
});

describe("a failed `pulumi stack output --show-secrets` never prints its stdout", () => {
  const KEY = "the-api-key-printed-before-the-failure-0123";
  /** PulumiCli with the process boundary replaced by what the real CLI did: exit 255, the outputs on stdout. */
  function failingCli(result: RunResult): PulumiCli {
    const cli = Object.create(PulumiCli.prototype) as PulumiCli;
    Object.assign(cli, { ctx: { stack: "hemma" }, capture: async () => result });
    return cli;
  }

  test.each([
    ["empty stderr", ""],
    ["an error on stderr", "error: failed to decrypt secrets: incorrect passphrase"],
  ])("exit 255 with the key on stdout and %s", async (_name, stderr) => {
    const cli = failingCli({ code: 255, stdout: `{\n    "apiKey": "${KEY}"\n`, stderr } as RunResult);
    const error = (await cli.outputs(true).catch((e: unknown) => e)) as OpsError;
    expect(error).toBeInstanceOf(OpsError);
    expect(error.message).not.toContain(KEY);
    expect(error.message).toContain(stderr || "stdout not shown");
  });

  test("without --show-secrets the stdout tail is still shown (nothing secret in it)", async () => {
    const cli = failingCli({ code: 1, stdout: "plain output line", stderr: "" } as RunResult);
    await expect(cli.outputs(false)).rejects.toThrow(/plain output line/);
  });
});
