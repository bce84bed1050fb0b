// The smoke conversions: which fixture, which API version, which job spec, and whether it uses the GPU.
import type { ArtifactFormat } from "../artifacts/validate";

export interface Conversion {
  label: string;
  /** Shown in failure lines, e.g. `v2 pdf->docx`. */
  title: string;
  api: "v1" | "v2";
  fixture: string;
  sourceFormat: "pdf" | "md" | "html";
  output: ArtifactFormat;
  /** GPU routes must report acceleration_used cuda, carry no CPU-fallback warning and take the GPU lock. */
  gpu: boolean;
  /** Sample attributed GPU use while this job runs; some use of ours above the baseline is required. */
  sampleGpuUse: boolean;
  spec: Record<string, unknown>;
}

const PDF_OPTIONS = { backend_strategy: "auto", ocr_mode: "off", table_mode: "accurate", normalize: "standard" };
const GPU_EXECUTION = { acceleration_policy: "gpu_required", priority: "normal", document_timeout_seconds: 1800 };

/** v2 routes; the GPU ones (pdf sources) are sampled like v1 pdf->md. */
function v2(label: string, fixture: string, sourceFormat: "pdf" | "md" | "html", output: "pdf" | "docx", gpu: boolean): Conversion {
  return {
    label,
    title: `v2 ${sourceFormat}->${output}`,
    api: "v2",
    fixture,
    sourceFormat,
    output,
    gpu,
    sampleGpuUse: gpu,
    spec: {
      api_version: "v2",
      source: { kind: "upload", filename: fixture, format: sourceFormat },
      conversion: { output_format: output },
      ...(sourceFormat === "pdf" ? { pdf_options: PDF_OPTIONS, execution: GPU_EXECUTION } : {}),
    },
  };
}

export const CONVERSIONS: readonly Conversion[] = [
  {
    label: "v1_pdf_to_md",
    title: "v1 pdf->md",
    api: "v1",
    fixture: "sample.pdf",
    sourceFormat: "pdf",
    output: "md",
    gpu: true,
    sampleGpuUse: true,
    spec: {
      api_version: "v1",
      source: { kind: "upload", filename: "sample.pdf" },
      conversion: { output_format: "md", ...PDF_OPTIONS },
      execution: GPU_EXECUTION,
    },
  },
  v2("v2_html_to_pdf", "sample.html", "html", "pdf", false),
  v2("v2_md_to_pdf", "sample.md", "md", "pdf", false),
  v2("v2_md_to_docx", "sample.md", "md", "docx", false),
  v2("v2_pdf_to_docx", "sample.pdf", "pdf", "docx", true),
];

/** Any warning that says the work fell back to the CPU (e.g. `docling_cuda_unavailable_fallback_cpu`). */
export function isCpuFallbackWarning(warning: string): boolean {
  return /fallback[_ -]?cpu|cpu[_ -]?fallback/i.test(warning);
}
