// Unit tests of the small parts: artifact validators and the bundled fixtures, rocm-smi parsing, SSH
// target parsing and quoting, redaction, and CLI argument handling.
import { readFileSync } from "node:fs";
import path from "node:path";
import { validateArtifact, validateDocx, validateMarkdown, validatePdf } from "../../verify/artifacts/validate";
import { parseCliArgs, UsageError } from "../../verify/cliArgs";
import { gpuUsePercents, listedGpus } from "../../verify/host/rocmSmi";
import { OptionsError, resolveOptions } from "../../verify/options";
import { Redactor } from "../../verify/redact";
import { isCpuFallbackWarning } from "../../verify/smoke/conversions";
import { parseSshTarget, shellQuote, sshOptionArgs, targetArgs } from "../../verify/ssh/target";
import { makeDocx, makePdf, makeZip } from "../emulator/documents";

const FIXTURES = path.resolve(__dirname, "..", "..", "verify", "fixtures");

/** Structural PDF parse: every xref offset points at its `N 0 obj`, startxref points at `xref`. */
function parsePdfStructure(pdf: Buffer): { objects: number; text: string[] } {
  const s = pdf.toString("latin1");
  const startxref = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(s)?.[1]);
  expect(s.slice(startxref, startxref + 4)).toBe("xref");
  const header = /^xref\n0 (\d+)\n/.exec(s.slice(startxref));
  const count = Number(header?.[1]);
  const entries = s
    .slice(startxref + (header?.[0].length ?? 0))
    .split("\n")
    .slice(0, count);
  entries.forEach((entry, n) => {
    expect(entry).toMatch(/^\d{10} \d{5} [nf] $/);
    if (n === 0) return;
    const offset = Number(entry.slice(0, 10));
    expect(s.slice(offset, offset + `${n} 0 obj`.length)).toBe(`${n} 0 obj`);
  });
  const stream = /stream\n([\s\S]*?)\nendstream/.exec(s)?.[1] ?? "";
  const length = Number(/\/Length (\d+)/.exec(s)?.[1]);
  expect(Buffer.byteLength(stream, "latin1")).toBe(length);
  expect(s).toMatch(/trailer\n<< \/Size \d+ \/Root 1 0 R/);
  return { objects: count - 1, text: [...stream.matchAll(/\(((?:\\.|[^\\)])*)\)\s*(?:Tj|')/g)].map((m) => m[1] ?? "") };
}

describe("artifact validation", () => {
  test("the bundled fixtures are real documents", () => {
    const pdf = readFileSync(path.join(FIXTURES, "sample.pdf"));
    expect(validatePdf(pdf)).toBeUndefined();
    const parsed = parsePdfStructure(pdf);
    expect(parsed.objects).toBe(6);
    expect(parsed.text[0]).toBe("Sir Convert-a-Lot deployment smoke test");
    expect(validateMarkdown(readFileSync(path.join(FIXTURES, "sample.md")))).toBeUndefined();
    expect(readFileSync(path.join(FIXTURES, "sample.html"), "utf8")).toMatch(/^<!DOCTYPE html>[\s\S]*<\/html>\n$/);
  });

  test("PDF: header and %%EOF trailer", () => {
    const pdf = makePdf(["hello (world)"]);
    expect(parsePdfStructure(pdf).text).toEqual(["hello \\(world\\)"]);
    expect(validatePdf(pdf)).toBeUndefined();
    expect(validatePdf(Buffer.from("<html>nope</html>"))).toMatch(/PDF header %PDF- missing/);
    expect(validatePdf(pdf.subarray(0, pdf.length - 10))).toBe("PDF trailer %%EOF missing at the end of the file");
  });

  test("DOCX: a zip holding word/document.xml", () => {
    expect(validateDocx(makeDocx(["a", "b"]))).toBeUndefined();
    expect(validateDocx(makeZip([{ name: "word/other.xml", data: Buffer.from("x") }]))).toBe("DOCX zip has no word/document.xml (entries: word/other.xml)");
    expect(validateDocx(Buffer.from("PK not really a zip at all, just text"))).toMatch(/^DOCX is not a zip: no end-of-central-directory record/);
    const broken = makeDocx(["a"]);
    broken.writeUInt32LE(0, 0); // destroy the first local header
    expect(validateDocx(broken)).toMatch(/no local file header at offset 0/);
  });

  test("Markdown: non-empty UTF-8", () => {
    expect(validateMarkdown(Buffer.from("# x\n"))).toBeUndefined();
    expect(validateMarkdown(Buffer.from(" \n\t"))).toBe("Markdown is empty");
    expect(validateMarkdown(Buffer.from([0xff, 0xfe, 0x41]))).toBe("Markdown is not valid UTF-8");
    expect(validateArtifact("md", Buffer.alloc(0))).toBe("Markdown is empty");
  });

  test("CPU-fallback warnings are recognised", () => {
    expect(isCpuFallbackWarning("docling_cuda_unavailable_fallback_cpu")).toBe(true);
    expect(isCpuFallbackWarning("cpu fallback engaged")).toBe(true);
    expect(isCpuFallbackWarning("docling_ordering_layout_fallback_applied")).toBe(false);
    expect(isCpuFallbackWarning("docling_formula_enrichment_unavailable_fallback")).toBe(false);
  });
});

describe("rocm-smi parsing", () => {
  const out = [
    "============================ ROCm System Management Interface ============================",
    "GPU[0]\t\t: Card Series: \t\tNavi 31",
    "GPU[1]\t\t: Card Series: \t\tNavi 31",
    "GPU[0]\t\t: GPU use (%): 0",
    "GPU[1]\t\t: GPU use (%): 97",
    "GPU[0]\t\t: GPU Memory Read/Write Activity (%): 55",
  ].join("\n");
  test("lists GPUs and GPU use values only", () => {
    expect(listedGpus(out)).toEqual([0, 1]);
    expect(gpuUsePercents(out)).toEqual([0, 97]);
    expect(listedGpus("WARNING: No AMD GPUs specified\n")).toEqual([]);
  });
});

describe("ssh target", () => {
  test("parses ssh://host and ssh://user@host:port", () => {
    expect(parseSshTarget("ssh://hemma")).toEqual({ destination: "hemma", port: undefined, display: "ssh://hemma" });
    expect(parseSshTarget("ssh://deploy@10.0.0.5:2222")).toEqual({ destination: "deploy@10.0.0.5", port: 2222, display: "ssh://deploy@10.0.0.5:2222" });
    expect(() => parseSshTarget("hemma")).toThrow(/expected ssh:\/\//);
    expect(() => parseSshTarget("http://hemma")).toThrow(/expected ssh:\/\//);
    expect(() => parseSshTarget("ssh://u:pw@hemma")).toThrow(/passwords are not supported/);
  });
  test("builds args and quotes remote commands", () => {
    expect(targetArgs(parseSshTarget("ssh://u@h:22"), ["IdentityFile=/k"])).toEqual(["-o", "IdentityFile=/k", "-p", "22", "--", "u@h"]);
    expect(() => sshOptionArgs(["-i /k"])).toThrow(/expected Key=Value/);
    expect(shellQuote("/dev/kfd")).toBe("/dev/kfd");
    expect(shellQuote("print('x')\nok")).toBe("'print('\\''x'\\'')\nok'");
    expect(shellQuote("a b")).toBe("'a b'");
  });
});

describe("redaction", () => {
  test("masks secrets in text, buffers and nested values", () => {
    const r = new Redactor(["s3cret-key", undefined, ""]);
    expect(r.text("key=s3cret-key;again s3cret-key")).toBe("key=[REDACTED];again [REDACTED]");
    expect(r.buffer(Buffer.from("xs3cret-keyx")).toString()).toBe("x**********x");
    expect(r.value({ a: ["s3cret-key"] })).toEqual({ a: ["[REDACTED]"] });
  });
});

describe("CLI arguments", () => {
  const base = ["--service-url", "http://127.0.0.1:28085", "--profile", "prod", "--expected-revision", "abcdef1"];
  test("reads the key from the named env var, never from argv", () => {
    const opts = parseCliArgs([...base, "--api-key-env", "MY_KEY", "--checks", "readiness,gpu", "--ssh-opt", "Port=2222"], {
      MY_KEY: "k1",
      SIR_CONVERT_A_LOT_VERIFY_SSH_OPTS: "IdentityFile=/id UserKnownHostsFile=/kh",
    });
    expect(opts.apiKey).toBe("k1");
    expect(opts.checks).toEqual(["readiness", "gpu"]);
    expect(opts.sshOptions).toEqual(["IdentityFile=/id", "UserKnownHostsFile=/kh", "Port=2222"]);
    expect(parseCliArgs(base, { SIR_CONVERT_A_LOT_API_KEY: "k2" }).apiKey).toBe("k2");
    expect(() => parseCliArgs([...base, "--api-key", "k"], { SIR_CONVERT_A_LOT_API_KEY: "k2" })).toThrow(/--api-key is not accepted/);
    expect(() => parseCliArgs(base, {})).toThrow(/environment variable SIR_CONVERT_A_LOT_API_KEY \(the API key\) is not set/);
  });
  test("takes a GPU lock file shared with other runs", () => {
    const opts = parseCliArgs([...base, "--gpu-lock-file", ".verification/gpu.lock"], { SIR_CONVERT_A_LOT_API_KEY: "k" });
    expect(opts.gpuLockFile).toBe(".verification/gpu.lock");
    expect(parseCliArgs(base, { SIR_CONVERT_A_LOT_API_KEY: "k" }).gpuLockFile).toBeUndefined();
  });
  test("rejects bad values", () => {
    const env = { SIR_CONVERT_A_LOT_API_KEY: "k" };
    expect(() => parseCliArgs([...base, "--checks", "readiness,gpus"], env)).toThrow(UsageError);
    expect(() => parseCliArgs(["--profile", "staging"], env)).toThrow(/--profile: expected prod or eval/);
    expect(() => parseCliArgs([...base, "--timeout-seconds", "-1"], env)).toThrow(/--timeout-seconds/);
    expect(() => parseCliArgs([...base, "--bogus"], env)).toThrow(UsageError);
  });
});

describe("option defaults", () => {
  const base = { serviceUrl: "http://127.0.0.1:28086", profile: "eval" as const, expectedRevision: "abcdef1234567", apiKey: "k" };
  test("lane data dir, container and evidence dir", () => {
    const o = resolveOptions(base, new Date("2026-01-02T03:04:05.678Z"));
    expect(o.dataDir).toBe("/var/lib/sir-convert-a-lot/eval");
    expect(o.container).toBe("sir_convert_a_lot_eval");
    expect(o.evidenceDir).toBe(path.resolve(".verification/eval-20260102T030405Z"));
    expect([...o.checks]).toEqual(["readiness", "liveness", "metrics", "gpu", "smoke"]);
    expect(resolveOptions({ ...base, dataDir: "/srv/eval/" }).dataDir).toBe("/srv/eval");
  });
  test("rejects bad input", () => {
    expect(() => resolveOptions({ ...base, expectedRevision: "HEAD" })).toThrow(OptionsError);
    expect(() => resolveOptions({ ...base, serviceUrl: "ftp://x" })).toThrow(/expected http/);
    expect(() => resolveOptions({ ...base, timeoutSeconds: 0 })).toThrow(/timeout-seconds/);
  });
});
