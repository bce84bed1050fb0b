// verification-present (stack): every service lane has post-deploy verification that runs after it
// (readiness, GPU, smoke): command resources whose dependencies include the lane container, whose
// command line shows which check they run. Readiness alone proved nothing upstream.
import type { StackValidationPolicy } from "@pulumi/policy";
import { readConfig, schemaWithDefaults } from "./config";
import { asArray, asRecord, known, LOCAL_COMMAND, REMOTE_COMMAND, type StackResourceView, stackLanes, violation } from "./model";

export const NAME = "verification-present";

export interface VerificationPresentConfig {
  /** Check group -> case-insensitive regex matched against what the command runs. */
  checks: Record<string, string>;
}

export const DEFAULTS: VerificationPresentConfig = {
  checks: {
    health: "readyz|healthz|readiness|\\bhealth\\b",
    gpu: "\\bgpu\\b|rocm-smi|/dev/kfd",
    smoke: "\\bsmoke\\b|\\bconversions?\\b",
  },
};

/**
 * What a command runs: its command lines and environment names/values (never printed). Parts
 * unknown at preview (the generated API key in `environment` at a first deploy) are skipped; the
 * command lines are built from config and known.
 */
function runs(cmd: StackResourceView): string {
  const p = cmd.props;
  const env = known(() => asRecord(p.environment)) ?? {};
  const interpreter = known(() => asArray(p.interpreter)) ?? [];
  const parts: unknown[] = [known(() => p.create), known(() => p.update)];
  for (let i = 0; i < interpreter.length; i++) parts.push(known(() => interpreter[i]));
  for (const k of Object.keys(env))
    parts.push(
      k,
      known(() => env[k]),
    );
  return parts.filter((x): x is string => typeof x === "string").join("\n");
}

function dependsOn(cmd: StackResourceView, target: StackResourceView): boolean {
  const deps = [...cmd.dependencies, ...Object.values(cmd.propertyDependencies).flat()];
  return deps.some((d) => d.urn === target.urn || (target.parent !== undefined && d.urn === target.parent.urn));
}

export const verificationPresent: StackValidationPolicy = {
  name: NAME,
  description: "Every service lane has post-deploy verification commands (readiness, GPU, smoke) that depend on the lane container.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(DEFAULTS as unknown as Record<string, unknown>, {
    checks: { type: "object", additionalProperties: { type: "string", minLength: 1 } },
  }),
  validateStack: (args, reportViolation) => {
    const cfg = readConfig(args, DEFAULTS);
    const resources = args.resources as unknown as StackResourceView[];
    const lanes = stackLanes(resources);
    if (lanes.length === 0) return args.notApplicable("no service lanes in the stack");
    const commands = resources.filter((r) => r.type === LOCAL_COMMAND || r.type === REMOTE_COMMAND);
    for (const { lane, container } of lanes) {
      const c = container as StackResourceView;
      const mine = commands.filter((cmd) => dependsOn(cmd, c));
      for (const [group, pattern] of Object.entries(cfg.checks)) {
        const re = new RegExp(pattern, "i");
        if (mine.some((cmd) => re.test(runs(cmd)))) continue;
        const have = mine.map((m) => m.name);
        reportViolation(
          violation(
            NAME,
            c,
            `dependents (${LOCAL_COMMAND})`,
            `without a ${group} check (commands depending on it: ${have.length ? have.join(", ") : "none"})`,
            `add a ${LOCAL_COMMAND} that runs the ${group} verification for lane ${lane} with dependsOn: [the lane container]`,
          ),
          c.urn,
        );
      }
    }
  },
};
