// Evidence writer: every file under the evidence dir goes through the redactor first.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Redactor } from "../redact";

export class EvidenceWriter {
  constructor(
    readonly dir: string,
    private readonly redactor: Redactor,
  ) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  path(relative: string): string {
    const full = path.resolve(this.dir, relative);
    if (!full.startsWith(path.resolve(this.dir) + path.sep)) {
      throw new Error(`evidence path escapes the evidence dir: ${relative}`);
    }
    return full;
  }

  async writeBuffer(relative: string, data: Buffer): Promise<string> {
    const full = this.path(relative);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, this.redactor.buffer(data));
    return full;
  }

  async writeText(relative: string, text: string): Promise<string> {
    return this.writeBuffer(relative, Buffer.from(this.redactor.text(text), "utf8"));
  }

  /** Redacts every string of the value first (a key holding `"` or `\` is escaped in JSON text), then the text. */
  async writeJson(relative: string, value: unknown): Promise<string> {
    return this.writeText(relative, `${JSON.stringify(this.redactor.value(value), null, 2)}\n`);
  }
}

/** Makes a label safe to use as a file name. */
export function fileSafe(label: string): string {
  return label.replace(/[^A-Za-z0-9._-]+/g, "_");
}
