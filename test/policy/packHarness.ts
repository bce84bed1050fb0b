// One policy pack process per test file, started the way the engine starts it, plus helpers to run
// the gate over registrations and pick out diagnostics.

import { AnalyzerClient, type Diagnostic } from "../../gate/analyzerClient";
import type { PolicyPackConfigFile } from "../../gate/analyzerConfig";
import { type GateResult, runGate } from "../../gate/analyzerGate";
import { type PolicyPackProcess, startPolicyPack } from "../../gate/analyzerPack";
import type { RecordedResource } from "../../gate/mockRun";
import { PACK_DIR } from "../../gate/policyCheck";

export interface PackSession {
  pack: PolicyPackProcess;
  client: AnalyzerClient;
  check(resources: RecordedResource[], policyConfig?: PolicyPackConfigFile): Promise<GateResult>;
  close(): Promise<void>;
}

export async function openPack(): Promise<PackSession> {
  const pack = await startPolicyPack({ packDir: PACK_DIR, timeoutMs: 150000 });
  const client = new AnalyzerClient(pack.port);
  return {
    pack,
    client,
    check: (resources, policyConfig) => runGate(client, resources, { policyConfig }),
    close: async () => {
      client.close();
      await pack.stop();
    },
  };
}

export function of(result: GateResult, policy: string): Diagnostic[] {
  return result.diagnostics.filter((d) => d.policyName === policy);
}

/** Policy names with a mandatory diagnostic. */
export function refusedBy(result: GateResult): string[] {
  return [...new Set(result.diagnostics.filter((d) => d.level === "mandatory").map((d) => d.policyName))].sort();
}
