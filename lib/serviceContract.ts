// Facts from the service's runtime contract that the program, the verifier and the operator tools
// share (the policy pack is a standalone package and keeps its own copies).

/** Where each profile keeps its data inside the container (the image creates both). */
export const DATA_DIR_ROOT = "/var/lib/sir-convert-a-lot";

export function dataDirFor(profile: string): string {
  return `${DATA_DIR_ROOT}/${profile}`;
}

/** The variable the service reads its API key from; the verifier reads it from the same name. */
export const API_KEY_ENV = "SIR_CONVERT_A_LOT_API_KEY";

/** The key the service falls back to when none is set; never acceptable in a deploy. */
export const SERVICE_FALLBACK_API_KEY = "dev-only-key";
