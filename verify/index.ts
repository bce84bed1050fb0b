// Library entry of the post-deploy verifier: call runVerification once per lane (concurrently if wanted).
export { runVerification } from "./run";
export { GpuLock } from "./gpuLock";
export { DEFAULT_API_KEY_ENV, type VerificationOptions } from "./options";
export {
  CHECK_NAMES,
  PROFILES,
  type CheckName,
  type CheckFailure,
  type CheckResult,
  type CheckStatus,
  type Profile,
  type StepResult,
  type VerificationReport,
} from "./types";
