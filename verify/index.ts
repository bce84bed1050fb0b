// Library entry of the post-deploy verifier: call runVerification once per lane (concurrently if wanted).

export { GpuLock } from "./gpuLock";
export { DEFAULT_API_KEY_ENV, type VerificationOptions } from "./options";
export { runVerification } from "./run";
export {
  CHECK_NAMES,
  type CheckFailure,
  type CheckName,
  type CheckResult,
  type CheckStatus,
  PROFILES,
  type Profile,
  type StepResult,
  type VerificationReport,
} from "./types";
