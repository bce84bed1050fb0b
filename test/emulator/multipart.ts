// A small multipart/form-data parser for the emulator's job-creation routes.

export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? "");
  return m ? (m[1] ?? m[2])?.trim() : undefined;
}

export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new Error("multipart body without boundary");
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === "--") return parts;
    if (body.subarray(pos, pos + 2).toString() !== "\r\n") throw new Error("malformed multipart delimiter line");
    pos += 2;
    const headerEnd = body.indexOf("\r\n\r\n", pos);
    if (headerEnd < 0) throw new Error("multipart part without header terminator");
    const headers = body.subarray(pos, headerEnd).toString("utf8").split("\r\n");
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd + 4);
    if (next < 0) throw new Error("multipart part without closing delimiter");
    const data = body.subarray(headerEnd + 4, next);
    let name: string | undefined;
    let filename: string | undefined;
    let contentType: string | undefined;
    for (const header of headers) {
      const [key, ...rest] = header.split(":");
      const value = rest.join(":").trim();
      if (key?.toLowerCase() === "content-disposition") {
        name = /\bname="([^"]*)"/.exec(value)?.[1];
        filename = /\bfilename="([^"]*)"/.exec(value)?.[1];
      } else if (key?.toLowerCase() === "content-type") {
        contentType = value;
      }
    }
    if (name === undefined) throw new Error("multipart part without a name");
    parts.push({ name, data, ...(filename !== undefined ? { filename } : {}), ...(contentType ? { contentType } : {}) });
    pos = next + 2;
  }
}
