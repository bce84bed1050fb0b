// Which policy pack (and pack config) every pulumi preview/up of this project runs with: the pack
// in `policy/`, plus `policy/config.<stack>.json` when that file exists (where a recorded decision,
// e.g. an eval CPU decision, is named). Deploy, preview, rollback and the offline gate share it.
import * as fs from "node:fs";
import * as path from "node:path";

export const POLICY_PACK_DIR = "policy";

/** `policy/config.<stack>.json` under the project, if present. */
export function stackPolicyConfigFile(projectDir: string, stack: string): string | undefined {
  const file = path.join(projectDir, POLICY_PACK_DIR, `config.${stack}.json`);
  return fs.existsSync(file) ? file : undefined;
}

/** `--policy-pack policy [--policy-pack-config policy/config.<stack>.json]`. */
export function policyPackArgs(projectDir: string, stack: string): string[] {
  const config = stackPolicyConfigFile(projectDir, stack);
  return ["--policy-pack", POLICY_PACK_DIR, ...(config ? ["--policy-pack-config", path.relative(projectDir, config)] : [])];
}
