// The service's own GPU claim: SIR_CONVERT_A_LOT_GPU_AVAILABLE as each profile parses it (contract
// §1.2): prod declares a GPU only for exactly `1`; eval for a trimmed, lower-cased 1/true/yes/on.
// Unset means the service default (available). A lane whose value the service reads as "no GPU"
// refuses every GPU job (503 gpu_not_available), so the gpu check fails on it, not only smoke.
import type { Profile } from "../types";

export const GPU_AVAILABLE_ENV = "SIR_CONVERT_A_LOT_GPU_AVAILABLE";
const EVAL_TRUE = ["1", "true", "yes", "on"];

/** Undefined when the service reads `value` as "GPU available"; else what it needs, for the failure line. */
export function gpuAvailableProblem(profile: Profile, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (profile === "prod") return value === "1" ? undefined : "exactly 1";
  return EVAL_TRUE.includes(value.trim().toLowerCase()) ? undefined : `one of ${EVAL_TRUE.join(", ")}`;
}
