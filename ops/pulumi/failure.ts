// Sorts a failed pulumi command into what went wrong and what the operator does about it, from its
// exit code and stderr: a locked stack, a missing or wrong passphrase, a missing stack, a declined
// confirmation; anything else gets the general backend hint. (The pinned launcher failing to
// download the CLI is caught before pulumi runs: ops/pulumi/binary.ts.) The patterns match the
// messages of pulumi 3.x: diy backend lock ("the stack is currently locked by N lock(s)"),
// passphrase secrets manager ("passphrase must be set with PULUMI_CONFIG_PASSPHRASE or
// PULUMI_CONFIG_PASSPHRASE_FILE", "incorrect passphrase"), stack lookup ("no stack named '…' found")
// and the update prompt ("confirmation declined").

export type PulumiFailureKind = "locked" | "missing-passphrase" | "wrong-passphrase" | "missing-stack" | "declined" | "other";

export interface PulumiFailure {
  kind: PulumiFailureKind;
  hint: string;
}

export const GENERAL_PULUMI_HINT =
  "run from the project directory (or use `npm run pulumi -- …`), and check that the state backend in Pulumi.yaml (backend.url) is reachable (README, State and secrets)";

/**
 * Sorts by pulumi's own texts (checked against pulumi v3.248/v3.265: pkg/backend/diy/lock.go,
 * pkg/secrets/passphrase/manager.go, pkg/backend/backenderr/backenderr.go, pkg/backend/apply.go),
 * not by the exit code, which is 1 for most of them since v3.226 (ExitStackNotFound = 6).
 */
export function classifyPulumiFailure(_code: number, output: string, stack: string): PulumiFailure {
  if (/currently locked by|stack is locked/i.test(output)) {
    return {
      kind: "locked",
      hint: `another pulumi update holds stack ${stack}: wait for it to end; if its process is gone (killed), check Hemma and run \`npm run pulumi -- cancel --stack ${stack}\` (docs/runbook.md, 12.1 A deploy was interrupted)`,
    };
  }
  if (/passphrase must be set|PULUMI_CONFIG_PASSPHRASE(_FILE)? (or|environment)/i.test(output)) {
    return { kind: "missing-passphrase", hint: "export PULUMI_CONFIG_PASSPHRASE_FILE=<file holding the stack's passphrase> (README, State and secrets)" };
  }
  if (/incorrect passphrase|failed to decrypt|unable to decrypt|invalid passphrase/i.test(output)) {
    return {
      kind: "wrong-passphrase",
      hint: `the passphrase does not open stack ${stack}'s secrets: point PULUMI_CONFIG_PASSPHRASE_FILE at the passphrase this stack was created with (ask the operator who handed over the state; README, Taking over)`,
    };
  }
  if (/no stack named/i.test(output)) {
    return {
      kind: "missing-stack",
      hint: `check the name (--stack); if this checkout has no state yet, restore it (\`npm run state:restore\`, README, Taking over), or create the stack with \`npm run init -- --stack ${stack}\` for a first deploy`,
    };
  }
  // pulumi v3.265 pkg/backend/apply.go: "confirmation declined|cancelled, not proceeding with the
  // update" on stdout; the bail exits 1 (pkg/cmd/pulumi/cmd/exit_codes.go), not the old 255.
  if (/confirmation (declined|cancelled), not proceeding/i.test(output)) {
    return { kind: "declined", hint: "nothing was changed; run `npm run deploy` again and answer yes to apply it" };
  }
  return { kind: "other", hint: GENERAL_PULUMI_HINT };
}
