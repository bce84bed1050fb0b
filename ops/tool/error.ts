// The one error type the operator tools throw: a message saying what failed plus a hint saying
// what to do about it. The CLIs print both and exit non-zero; anything else is a bug.
export class OpsError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "OpsError";
  }
}

/** Formats any thrown value for the terminal: OpsError with its hint, other errors with their stack. */
export function describeError(err: unknown): string {
  if (err instanceof OpsError) return err.hint ? `error: ${err.message}\n  what to do: ${err.hint}` : `error: ${err.message}`;
  if (err instanceof Error) return `unexpected error: ${err.stack ?? err.message}`;
  return `unexpected error: ${String(err)}`;
}
