// gpu-first-env: no lane unlocks CPU execution or declares the GPU unavailable through its
// environment. Eval defaults to CPU-only when its switch is absent, so eval must switch it off
// explicitly, unless the policy config names a recorded decision to keep it.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig, schemaWithDefaults } from "./config";
import { envEntries, isFalsy, isTruthy, laneOf, show, violation } from "./model";

export const NAME = "gpu-first-env";

export const GPU_AVAILABLE = "SIR_CONVERT_A_LOT_GPU_AVAILABLE";
export const PROD_UNLOCKS = ["SIR_CONVERT_A_LOT_ALLOW_CPU_ONLY", "SIR_CONVERT_A_LOT_ALLOW_CPU_FALLBACK"];
export const EVAL_CPU_ONLY = "SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY";
export const EVAL_CPU_FALLBACK = "SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_FALLBACK";
const EVAL_UNLOCKS = [EVAL_CPU_ONLY, EVAL_CPU_FALLBACK];

export interface GpuFirstEnvConfig {
  /** Reference to a recorded decision (ADR, issue) that lets eval keep CPU execution. Empty: none. */
  evalCpuDecision: string;
}

export const DEFAULTS: GpuFirstEnvConfig = { evalCpuDecision: "" };

const RECORD_HINT =
  `or, if eval really must run on CPU, record the decision (ADR or issue) and set ` +
  `{"${NAME}": {"evalCpuDecision": "<reference>"}} in the policy pack config (see docs/policy.md)`;

export const gpuFirstEnv: ResourceValidationPolicy = {
  name: NAME,
  description: "No service lane sets a CPU unlock variable to a truthy value or declares the GPU unavailable; eval switches its CPU-only default off.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(DEFAULTS as unknown as Record<string, unknown>, {
    evalCpuDecision: { type: "string", description: "Reference to the recorded decision allowing eval CPU execution" },
  }),
  validateResource: (args, reportViolation) => {
    const lane = laneOf(args);
    if (!lane) return args.notApplicable("not a service container");
    const cfg = readConfig(args, DEFAULTS);
    const decision = String(cfg.evalCpuDecision ?? "").trim();
    const evalRelaxed = lane.profile === "eval" && decision !== "";
    const entries = envEntries(args.props);

    for (const e of entries) {
      const unlock = PROD_UNLOCKS.includes(e.key) || EVAL_UNLOCKS.includes(e.key);
      if (!unlock || !isTruthy(e.value)) continue;
      if (evalRelaxed && EVAL_UNLOCKS.includes(e.key)) continue;
      const fix =
        lane.profile === "eval" && EVAL_UNLOCKS.includes(e.key)
          ? `set ${e.key}=0 ${RECORD_HINT}`
          : `remove ${e.key} or set it to 0 (the ${lane.lane} lane must run on the GPU)`;
      reportViolation(violation(NAME, args, `envs[${e.index}] ${e.key}`, show(e.value), fix));
    }

    const gpu = entries.filter((e) => e.key === GPU_AVAILABLE);
    if (gpu.length === 0) {
      reportViolation(violation(NAME, args, `envs ${GPU_AVAILABLE}`, "(unset)", `set ${GPU_AVAILABLE}=1 (prod treats only exactly "1" as a GPU)`));
    }
    for (const e of gpu) {
      if (e.value !== "1") {
        reportViolation(
          violation(NAME, args, `envs[${e.index}] ${GPU_AVAILABLE}`, show(e.value), `set it to exactly "1"; Hemma has the GPU and the service must use it`),
        );
      }
    }

    if (lane.profile === "eval" && !evalRelaxed) {
      const cpuOnly = entries.filter((e) => e.key === EVAL_CPU_ONLY);
      if (cpuOnly.length === 0) {
        reportViolation(
          violation(NAME, args, `envs ${EVAL_CPU_ONLY}`, "(unset, which eval treats as CPU-only allowed)", `set ${EVAL_CPU_ONLY}=0 ${RECORD_HINT}`),
        );
      }
      for (const e of cpuOnly) {
        if (!isTruthy(e.value) && !isFalsy(e.value)) {
          reportViolation(
            violation(
              NAME,
              args,
              `envs[${e.index}] ${EVAL_CPU_ONLY}`,
              show(e.value),
              `set ${EVAL_CPU_ONLY}=0 (a value that is not a boolean leaves eval on its CPU-only default)`,
            ),
          );
        }
      }
    }
  },
};
