// Public types of the post-deploy verifier: check names, per-check results and the run report.

export const CHECK_NAMES = ["readiness", "liveness", "metrics", "gpu", "smoke"] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export const PROFILES = ["prod", "eval"] as const;
export type Profile = (typeof PROFILES)[number];

export type CheckStatus = "passed" | "failed" | "skipped";

/** One fact that did not hold: what the verifier expected and what it saw. */
export interface CheckFailure {
  fact: string;
  expected: string;
  seen: string;
  note?: string;
}

/** A timed sub-step of a check (for example one smoke conversion). */
export interface StepResult {
  name: string;
  status: CheckStatus;
  durationMs: number;
  detail: string;
}

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  startedAt: string;
  durationMs: number;
  /** One-line human summary (the failure line body when failed). */
  detail: string;
  failures: CheckFailure[];
  steps: StepResult[];
}

export interface VerificationReport {
  ok: boolean;
  lane: string;
  profile: Profile;
  serviceUrl: string;
  via: string | null;
  expectedRevision: string;
  dataDir: string;
  container: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  evidenceDir: string;
  checks: CheckResult[];
  /** `FAIL <check>: expected ..., saw ...` lines, one per failed check (and `SKIP` lines). */
  failureLines: string[];
}
