// zod schemas for the JSON the pulumi CLI prints: `config --json`, `stack export` and
// `stack output --json`. Shapes follow pulumi's own encoders (configValueJSON, apitype.DeploymentV3).
import { z } from "zod";
import { FULL_REVISION } from "../../lib/projectFacts";

/**
 * One entry of `pulumi config --json` (and of the `config` map in `stack history --json`):
 * secret values have `value` elided unless --show-secrets; objects and lists carry `objectValue`.
 */
export const configValueSchema = z.object({
  value: z.string().optional(),
  objectValue: z.unknown().optional(),
  secret: z.boolean().optional().default(false),
});
export type ConfigValue = z.infer<typeof configValueSchema>;

export const configJsonSchema = z.record(z.string(), configValueSchema);
export type ConfigJson = z.infer<typeof configJsonSchema>;

/** `pulumi stack export`: only what the tools read (pending operations left by an interrupted update). */
export const stackExportSchema = z.object({
  version: z.number().int(),
  deployment: z
    .object({
      pending_operations: z
        .array(
          z.object({
            resource: z.object({ urn: z.string(), type: z.string().optional() }),
            type: z.string(),
          }),
        )
        .nullish(),
    })
    .nullish(),
});
export type StackExport = z.infer<typeof stackExportSchema>;

export const laneOutputSchema = z.object({
  containerName: z.string().min(1),
  profile: z.string().min(1),
  dataDir: z.string().optional(),
  url: z.url(),
  hostPort: z.number().int().min(1).max(65535),
  localPort: z.number().int().min(1).max(65535),
  tunnelCommand: z.string().optional(),
});
export type LaneOutput = z.infer<typeof laneOutputSchema>;

/** `pulumi stack output --json [--show-secrets]` for this program (see docs/architecture.md "Stack outputs"). */
export const stackOutputsSchema = z.object({
  revision: z.string().regex(FULL_REVISION, "must be a 40-hex commit SHA"),
  image: z.object({ name: z.string(), id: z.string() }).optional(),
  lanes: z.record(z.string(), laneOutputSchema),
  /** Plain text with --show-secrets, "[secret]" without. */
  apiKey: z.string().optional(),
  verification: z.record(z.string(), z.object({ evidenceDirs: z.record(z.string(), z.string()).optional() })).optional(),
});
export type StackOutputs = z.infer<typeof stackOutputsSchema>;
