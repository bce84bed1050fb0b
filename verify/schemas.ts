// zod schemas for every payload the verifier reads (service JSON, probe JSON, manifest.json) and a
// parser that turns malformed bodies into one clear message naming the source and the problem.
import { z } from "zod";

export const readinessReasonSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).nullable(),
});
export type ReadinessReason = z.infer<typeof readinessReasonSchema>;

export const readyzSchema = z.object({
  status: z.enum(["ready", "not_ready"]),
  ready: z.boolean(),
  service_revision: z.string(),
  expected_revision: z.string(),
  service_profile: z.string(),
  expected_service_profile: z.string(),
  started_at: z.string(),
  data_root: z.string(),
  reasons: z.array(readinessReasonSchema),
});
export type Readyz = z.infer<typeof readyzSchema>;

export const healthzSchema = z.object({
  status: z.literal("ok"),
  service_revision: z.string(),
  started_at: z.string(),
  data_root: z.string(),
  service_profile: z.string(),
});
export type Healthz = z.infer<typeof healthzSchema>;

export const errorEnvelopeSchema = z.object({
  api_version: z.enum(["v1", "v2"]),
  error: z.object({
    code: z.string(),
    message: z.string(),
    retryable: z.boolean(),
    details: z.unknown().nullable(),
    correlation_id: z.string(),
  }),
});
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;

export const jobStatusSchema = z.enum(["queued", "running", "succeeded", "failed", "canceled"]);
export type JobStatus = z.infer<typeof jobStatusSchema>;
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "canceled"]);

const jobCoreSchema = z.object({
  job_id: z.string().min(1),
  status: jobStatusSchema,
  created_at: z.string(),
  updated_at: z.string(),
  expires_at: z.string().nullable(),
  source_filename: z.string(),
});

export const v1JobRecordSchema = z.object({
  api_version: z.literal("v1"),
  job: jobCoreSchema.extend({
    progress: z.object({ stage: z.string() }),
    links: z.object({ self: z.string(), result: z.string(), cancel: z.string() }),
  }),
});
export type V1JobRecord = z.infer<typeof v1JobRecordSchema>;

export const v2JobRecordSchema = z.object({
  api_version: z.literal("v2"),
  job: jobCoreSchema.extend({
    source_format: z.enum(["pdf", "md", "html"]),
    output_format: z.enum(["pdf", "docx"]),
    progress: z.object({ stage: z.string() }),
    links: z.object({ self: z.string(), result: z.string(), artifact: z.string(), cancel: z.string() }),
  }),
});
export type V2JobRecord = z.infer<typeof v2JobRecordSchema>;

export const v1ResultSchema = z.object({
  api_version: z.literal("v1"),
  job_id: z.string(),
  status: z.literal("succeeded"),
  result: z.object({
    artifact: z.object({ markdown_filename: z.string(), size_bytes: z.number().int().nonnegative(), sha256: z.string() }),
    conversion_metadata: z.object({
      backend_used: z.string(),
      acceleration_used: z.string().nullable(),
      ocr_enabled: z.boolean(),
      table_mode: z.string(),
      options_fingerprint: z.string(),
    }),
    warnings: z.array(z.string()),
    markdown_content: z.string().nullable(),
  }),
});
export type V1Result = z.infer<typeof v1ResultSchema>;

export const v2ResultSchema = z.object({
  api_version: z.literal("v2"),
  job_id: z.string(),
  status: z.literal("succeeded"),
  result: z.object({
    artifact: z.object({
      filename: z.string(),
      format: z.enum(["pdf", "docx"]),
      size_bytes: z.number().int().nonnegative(),
      sha256: z.string(),
      content_type: z.string(),
    }),
    conversion_metadata: z.object({
      pipeline_used: z.string(),
      backend_used: z.string().nullable(),
      acceleration_used: z.string().nullable(),
      options_fingerprint: z.string(),
    }),
    warnings: z.array(z.string()),
  }),
});
export type V2Result = z.infer<typeof v2ResultSchema>;

/** 202 body of a result route while the job is not terminal. */
export const pendingResultSchema = z.object({
  api_version: z.enum(["v1", "v2"]),
  job_id: z.string(),
  status: jobStatusSchema,
});

export const torchProbeSchema = z.object({
  runtime_kind: z.enum(["rocm", "cuda", "none"]),
  torch_version: z.string().nullable(),
  hip_version: z.string().nullable(),
  cuda_version: z.string().nullable(),
  is_available: z.boolean(),
  device_count: z.number().int().nonnegative(),
  device_name: z.string().nullable(),
});
export type TorchProbe = z.infer<typeof torchProbeSchema>;

export const manifestSchema = z.object({
  job_id: z.string(),
  status: jobStatusSchema,
  error: z
    .object({
      code: z.string(),
      message: z.string(),
      retryable: z.boolean().optional(),
      details: z.unknown().optional(),
    })
    .nullable(),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** A body did not match the contract; the message names where it came from and what was wrong. */
export class ContractError extends Error {}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 120 ? `${flat.slice(0, 120)}...` : flat;
}

export function parseJsonWith<T>(schema: z.ZodType<T>, text: string, source: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ContractError(`${source}: body is not valid JSON (${(error as Error).message}); body starts: ${JSON.stringify(snippet(text))}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ContractError(`${source}: body does not match the contract: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** Like parseJsonWith but returns undefined instead of throwing. */
export function tryParseJson<T>(schema: z.ZodType<T>, text: string): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
