// The order a deploy will take through the canary gate, in words for `npm run preview` (and the
// deploy's log), derived from the same config facts the program's gate uses (canaryGate.ts): when
// the image changes, eval (or the short-lived canary) is replaced and verified first, prod only
// after that passed; when it does not change, nothing waits.
import { gateKind } from "./canaryGate";
import { CANARY_CONTAINER_NAME, CANARY_SCRATCH_VOLUME } from "./canaryScript";

export interface OrderFacts {
  /** The revision the stack runs now (undefined: never deployed). */
  deployedRevision?: string;
  /** The revision this deploy runs. */
  nextRevision: string;
  /** Whether the image is (re)built: a new image id even for the same revision. */
  build: boolean;
  verificationEnabled: boolean;
  lanes: Record<"prod" | "eval", { enabled: boolean; containerName: string }>;
}

const short = (rev: string) => rev.slice(0, 12);

export function deployOrder(f: OrderFacts): string[] {
  const kind = gateKind({ verificationEnabled: f.verificationEnabled, prodEnabled: f.lanes.prod.enabled, evalEnabled: f.lanes.eval.enabled });
  const changes = f.build || f.deployedRevision !== f.nextRevision;
  const from = f.deployedRevision ? short(f.deployedRevision) : "nothing deployed";
  const head = `Order (canary gate): `;
  if (!changes) {
    return [
      `${head}the image does not change (${short(f.nextRevision)}): no canary runs; a change of one lane's own settings replaces only that lane, at once`,
    ];
  }
  const lines = [`${head}the image changes (${from} -> ${short(f.nextRevision)}${f.build ? ", built on Hemma" : ""})`];
  const prod = f.lanes.prod.containerName;
  if (kind === "none") {
    lines.push(
      `  no gate: ${f.verificationEnabled ? "the prod lane is disabled" : "verification is off, so nothing proves the image"}; every enabled lane is replaced from the new image without a canary`,
    );
    return lines;
  }
  if (kind === "eval") {
    lines.push(
      `  1. canary = eval: ${f.lanes.eval.containerName} is replaced from the new image and verified (eval-verify-health, then eval-verify-gpu and eval-verify-smoke)`,
    );
  } else {
    lines.push(
      `  1. canary: eval is disabled, so a short-lived ${CANARY_CONTAINER_NAME} from the new image (eval profile, scratch volume ${CANARY_SCRATCH_VOLUME}, a loopback port docker picks) runs every check (canary-verify) and is removed, pass or fail`,
    );
  }
  lines.push(
    `  2. prod: ${prod} is replaced only after the canary passed; a failed canary check stops the update with prod's old container still serving`,
    `  3. prod is verified (prod-verify-health, then prod-verify-gpu and prod-verify-smoke); if that fails, npm run deploy rolls back on its own to the last good revision (--no-rollback keeps the failed state)`,
  );
  return lines;
}
