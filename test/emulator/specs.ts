// The service's job-spec schemas (v1 and v2) as the emulator validates them: unknown keys rejected.
import { z } from "zod";

const pdfOptions = {
  backend_strategy: z.enum(["auto", "docling", "pymupdf"]),
  ocr_mode: z.enum(["auto", "off", "force"]),
  table_mode: z.enum(["fast", "accurate"]),
  normalize: z.enum(["none", "standard", "strict"]),
};

const execution = z.strictObject({
  acceleration_policy: z.enum(["gpu_required", "gpu_prefer", "cpu_only"]),
  priority: z.enum(["normal", "high"]).default("normal"),
  document_timeout_seconds: z.number().int().min(30).max(7200).default(1800),
});

const retention = z.strictObject({ pin: z.boolean().default(false) }).optional();

export const v1SpecSchema = z.strictObject({
  api_version: z.literal("v1"),
  source: z.strictObject({ kind: z.literal("upload"), filename: z.string().min(1) }),
  conversion: z.strictObject({ output_format: z.literal("md"), ...pdfOptions }),
  execution,
  retention,
});
export type V1Spec = z.infer<typeof v1SpecSchema>;

export const v2SpecSchema = z
  .strictObject({
    api_version: z.literal("v2"),
    source: z.strictObject({ kind: z.literal("upload"), filename: z.string().min(1), format: z.enum(["pdf", "md", "html"]) }),
    conversion: z.strictObject({
      output_format: z.enum(["pdf", "docx"]),
      css_filenames: z.array(z.string()).default([]),
      reference_docx_filename: z.string().nullable().default(null),
    }),
    pdf_options: z.strictObject(pdfOptions).optional(),
    execution: execution.optional(),
    retention,
  })
  .superRefine((spec, ctx) => {
    const route = `${spec.source.format}->${spec.conversion.output_format}`;
    if (route === "pdf->pdf") ctx.addIssue({ code: "custom", message: `unsupported route ${route}` });
    if (spec.source.format === "pdf" && (!spec.pdf_options || !spec.execution)) {
      ctx.addIssue({ code: "custom", message: "pdf_options and execution are required for a pdf source" });
    }
  });
export type V2Spec = z.infer<typeof v2SpecSchema>;
