// zod schema for `pulumi stack history --json`: an array of updates, newest first, shaped like
// pulumi's updateInfoJSON (kind, result, startTime, endTime, version, message, environment,
// config, resourceChanges). On the default file backend `version` is always 0.
import { z } from "zod";
import { configValueSchema } from "./schemas";

export const historyEntrySchema = z.object({
  version: z.number().int().optional().default(0),
  /** update | preview | refresh | destroy | import | rename | resource-import */
  kind: z.string(),
  /** RFC 5424-style UTC timestamp, e.g. 2025-03-01T10:15:30.000Z */
  startTime: z.string(),
  /** Absent while the update is in progress. */
  endTime: z.string().optional(),
  message: z.string().optional().default(""),
  environment: z.record(z.string(), z.string()).nullish(),
  /** Stack config at the time of the update, fully qualified keys (`sir-convert-a-lot:revision`). */
  config: z.record(z.string(), configValueSchema).nullish(),
  /** succeeded | failed | in-progress | not-started (omitted when empty) */
  result: z.string().optional().default(""),
  resourceChanges: z.record(z.string(), z.number()).nullish(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

/** A page of history; pulumi prints `null` or `[]` for an empty page. */
export const historyPageSchema = z
  .array(historyEntrySchema)
  .nullable()
  .transform((page) => page ?? []);
