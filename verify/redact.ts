// Secret redaction: every string or buffer that leaves the verifier (logs, evidence, report) passes here.

export const REDACTED = "[REDACTED]";

export class Redactor {
  private readonly secrets: string[];
  constructor(secrets: Array<string | undefined>) {
    // Longest first so a secret that contains another is masked whole.
    this.secrets = secrets
      .filter((s): s is string => typeof s === "string" && s.length > 0)
      .sort((a, b) => b.length - a.length);
  }

  text(value: string): string {
    let out = value;
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED);
    return out;
  }

  buffer(value: Buffer): Buffer {
    let out = value;
    for (const secret of this.secrets) {
      const needle = Buffer.from(secret, "utf8");
      let at = out.indexOf(needle);
      if (at < 0) continue;
      out = Buffer.from(out); // copy before masking in place
      while (at >= 0) {
        out.fill("*", at, at + needle.length);
        at = out.indexOf(needle, at + needle.length);
      }
    }
    return out;
  }

  /** Deep-redacts JSON-like values (strings anywhere in objects/arrays). */
  value<T>(value: T): T {
    return JSON.parse(this.text(JSON.stringify(value))) as T;
  }
}
