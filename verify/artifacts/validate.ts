// Artifact validators for smoke outputs: PDF (header and %%EOF trailer), DOCX (zip with
// word/document.xml) and Markdown (non-empty UTF-8). Each returns a problem string or undefined.
import { ZipError, zipEntryNames } from "./zip";

export type ArtifactFormat = "pdf" | "docx" | "md";

export function validatePdf(data: Buffer): string | undefined {
  if (!data.subarray(0, 5).equals(Buffer.from("%PDF-"))) {
    return `PDF header %PDF- missing (starts with ${JSON.stringify(data.subarray(0, 8).toString("latin1"))})`;
  }
  const tail = data.subarray(Math.max(0, data.length - 1024)).toString("latin1");
  if (!/%%EOF\s*$/.test(tail)) return "PDF trailer %%EOF missing at the end of the file";
  return undefined;
}

export function validateDocx(data: Buffer): string | undefined {
  let names: string[];
  try {
    names = zipEntryNames(data);
  } catch (error) {
    if (error instanceof ZipError) return `DOCX is not a zip: ${error.message}`;
    throw error;
  }
  if (!names.includes("word/document.xml")) {
    return `DOCX zip has no word/document.xml (entries: ${names.slice(0, 8).join(", ") || "none"})`;
  }
  return undefined;
}

export function validateMarkdown(data: Buffer): string | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return "Markdown is not valid UTF-8";
  }
  if (text.trim().length === 0) return "Markdown is empty";
  return undefined;
}

export function validateArtifact(format: ArtifactFormat, data: Buffer): string | undefined {
  switch (format) {
    case "pdf":
      return validatePdf(data);
    case "docx":
      return validateDocx(data);
    case "md":
      return validateMarkdown(data);
  }
}
