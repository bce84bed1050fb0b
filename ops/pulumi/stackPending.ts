// Detects pending operations (resources a killed or crashed `pulumi up` left half-done) in the
// `pulumi stack export` JSON, and refuses with the recovery steps from the runbook.
import { OpsError } from "../tool/error";
import type { StackExport } from "./schemas";

export function pendingOperations(exp: StackExport): { urn: string; type: string }[] {
  return (exp.deployment?.pending_operations ?? []).map((op) => ({ urn: op.resource.urn, type: op.type }));
}

export function refuseIfPending(exp: StackExport, stack: string, action: string): void {
  const pending = pendingOperations(exp);
  if (pending.length === 0) return;
  const list = pending.map((p) => `      - ${p.type}: ${p.urn}`).join("\n");
  throw new OpsError(
    `stack ${stack} has ${pending.length} pending operation(s) from an interrupted deploy, so ${action} is unsafe:\n${list}`,
    `check those resources on Hemma (\`ssh hemma docker ps -a\`), then run \`npm run pulumi -- refresh --stack ${stack}\` ` +
      "(interactively, to resolve pending creates) and retry; see (docs/runbook.md, 12.1 A deploy was interrupted)",
  );
}
