// What every check gets (options, HTTP client, host runner, evidence, deadline) and the recorder that
// collects its failed facts and timed steps. Errors thrown inside a check become failures here.
import type { Deadline } from "../deadline";
import type { EvidenceWriter } from "../evidence/writer";
import type { GpuLock } from "../gpuLock";
import type { HostRunner } from "../host/runner";
import { ResponseTooLargeError, type ServiceClient, TransportError } from "../http/client";
import type { ResolvedOptions } from "../options";
import { ContractError } from "../schemas";
import type { JobRegistry } from "../smoke/jobRegistry";
import type { CheckFailure, CheckStatus, StepResult } from "../types";

export interface CheckContext {
  opts: ResolvedOptions;
  client: ServiceClient;
  host: HostRunner;
  evidence: EvidenceWriter;
  deadline: Deadline;
  gpuLock: GpuLock;
  /** Jobs submitted and not yet seen terminal (canceled when the run gives up on them). */
  jobs: JobRegistry;
  /** Unique per run; used in idempotency keys and correlation ids. */
  runId: string;
  log(line: string): void;
}

/** Thrown to stop a check at a fact that failed. */
export class FactFailure extends Error {
  constructor(readonly failure: CheckFailure) {
    super(`${failure.fact}: expected ${failure.expected}, saw ${failure.seen}`);
  }
}

export function fact(fact: string, expected: string, seen: string, note?: string): CheckFailure {
  return { fact, expected, seen, ...(note !== undefined ? { note } : {}) };
}

export function errorToFailure(error: unknown, where?: string): CheckFailure {
  const prefix = where ? `${where}: ` : "";
  if (error instanceof FactFailure) return error.failure;
  if (error instanceof ContractError) return fact("contract", "a response body matching the contract", `${prefix}${error.message}`);
  if (error instanceof ResponseTooLargeError) {
    return fact("body-cap", `a ${error.kind} response body within ${error.capBytes} bytes`, `${prefix}${error.message}`);
  }
  if (error instanceof TransportError) {
    return fact("transport", error.kind === "timeout" ? "a response before the deadline" : "an HTTP response", `${prefix}${error.message}`);
  }
  return fact("internal", "no internal error", `${prefix}${error instanceof Error ? error.message : String(error)}`);
}

export class CheckRecorder {
  readonly failures: CheckFailure[] = [];
  readonly steps: StepResult[] = [];
  private readonly notes: string[] = [];

  fail(failure: CheckFailure): void {
    this.failures.push(failure);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** Takes over another recorder's failures, steps and notes (for steps run in parallel). */
  merge(other: CheckRecorder): void {
    this.failures.push(...other.failures);
    this.steps.push(...other.steps);
    this.notes.push(...other.notes);
  }

  summary(): string {
    return this.notes.join("; ");
  }

  addStep(name: string, status: CheckStatus, durationMs: number, detail: string): void {
    this.steps.push({ name, status, durationMs, detail });
  }

  /** Runs `fn` as a timed step; a thrown error becomes a failure of this check, tagged with the step. */
  async step<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
    const started = Date.now();
    const before = this.failures.length;
    try {
      const value = await fn();
      const failed = this.failures.length > before;
      this.addStep(name, failed ? "failed" : "passed", Date.now() - started, failed ? this.lastFailureText(before) : "ok");
      return value;
    } catch (error) {
      this.fail(errorToFailure(error, name));
      this.addStep(name, "failed", Date.now() - started, this.lastFailureText(before));
      return undefined;
    }
  }

  private lastFailureText(from: number): string {
    return this.failures
      .slice(from)
      .map((f) => `expected ${f.expected}, saw ${f.seen}`)
      .join("; ");
  }
}

export type Check = (ctx: CheckContext, rec: CheckRecorder) => Promise<void>;
