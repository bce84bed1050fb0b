// Secret redaction: every string or buffer that leaves the verifier (logs, evidence, report) passes here.
// A secret is masked in every encoding in which it can appear in what we write: raw, JSON-escaped
// (once and twice, with and without \u escapes of non-ASCII; a key holding `"` or `\` appears
// escaped in JSON text), URL-encoded (percent and form encoding, either hex case) and base64
// (standard and URL-safe, at each of the three byte alignments, so a key inside a longer base64
// value such as `Basic base64(user:key)` is caught). Structured values are redacted string by string,
// never by re-parsing JSON text.

export const REDACTED = "[REDACTED]";

/** Base64 fragments that only the secret's bytes determine, at byte offsets 0, 1 and 2. */
function base64Fragments(secret: Buffer): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), secret])
      .toString("base64")
      .replace(/=+$/, "");
    const start = [0, 2, 3][offset] as number;
    const total = offset + secret.length;
    const end = encoded.length - (total % 3 === 0 ? 0 : 1);
    const fragment = encoded.slice(start, end);
    if (fragment.length >= 8) out.push(fragment, fragment.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return out;
}

function jsonEscaped(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

function asciiJsonEscaped(s: string): string {
  return jsonEscaped(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Every form in which `secret` may appear in text we write, longest first. */
export function encodingsOf(secret: string): string[] {
  const forms = new Set<string>([secret]);
  for (const once of [jsonEscaped(secret), asciiJsonEscaped(secret)]) {
    forms.add(once);
    forms.add(jsonEscaped(once));
    forms.add(once.replace(/\//g, "\\/"));
  }
  const percent = encodeURIComponent(secret);
  const form = new URLSearchParams({ k: secret }).toString().slice(2);
  for (const u of [percent, form, encodeURI(secret)]) {
    forms.add(u);
    forms.add(u.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()));
  }
  if (Buffer.byteLength(secret) >= 6) for (const b of base64Fragments(Buffer.from(secret, "utf8"))) forms.add(b);
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

export class Redactor {
  private readonly needles: string[];
  private readonly byteNeedles: Buffer[];

  constructor(secrets: Array<string | undefined>) {
    const forms = new Set<string>();
    for (const s of secrets) if (typeof s === "string" && s.length > 0) for (const f of encodingsOf(s)) forms.add(f);
    // Longest first so a form that contains another is masked whole.
    this.needles = [...forms].sort((a, b) => b.length - a.length);
    this.byteNeedles = this.needles.map((n) => Buffer.from(n, "utf8"));
  }

  text(value: string): string {
    let out = value;
    for (const needle of this.needles) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    return out;
  }

  buffer(value: Buffer): Buffer {
    let out = value;
    for (const needle of this.byteNeedles) {
      let at = out.indexOf(needle);
      if (at < 0) continue;
      if (out === value) out = Buffer.from(value); // copy before masking in place
      while (at >= 0) {
        out.fill("*", at, at + needle.length);
        at = out.indexOf(needle, at + needle.length);
      }
    }
    return out;
  }

  /** Deep-redacts JSON-like values: every string and every object key, wherever it is. */
  value<T>(value: T): T {
    return this.walk(value) as T;
  }

  private walk(value: unknown): unknown {
    if (typeof value === "string") return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.walk(v));
    if (value !== null && typeof value === "object") {
      const maybeJson = value as { toJSON?: () => unknown };
      if (typeof maybeJson.toJSON === "function") return this.walk(maybeJson.toJSON());
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[this.text(k)] = this.walk(v);
      return out;
    }
    return value;
  }
}
