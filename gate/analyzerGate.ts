// One policy run over recorded registrations, in the engine's order: GetAnalyzerInfo, Configure,
// Analyze for every resource, AnalyzeStack once; then the gate's engine-side checks and the report.

import type { AnalyzerClient, Diagnostic, PackInfo, PolicyConfigMap } from "./analyzerClient";
import { buildPolicyConfig, type PolicyPackConfigFile } from "./analyzerConfig";
import { gateChecks } from "./analyzerGateChecks";
import { formatReport, isBlocking } from "./analyzerReport";
import { analyzeRequest, analyzeStackRequest, indexByUrn } from "./analyzerRequests";
import type { RecordedResource } from "./mockRun";

export interface GateResult {
  info: PackInfo;
  config: PolicyConfigMap;
  diagnostics: Diagnostic[];
  report: string;
  /** Mandatory policies that could not decide at this preview (they touched an unknown value). */
  undecided: string[];
  /** True when a mandatory violation refuses the deployment, or a mandatory policy could not decide. */
  refused: boolean;
}

/**
 * @pulumi/policy v1.21.0 (sdk/nodejs/policy/server.ts, makeAnalyzeRpcFun / makeAnalyzeStackRpcFun)
 * catches the UnknownValueError its unknownCheckingProxy (proxy.ts) throws when a policy reads a
 * value unknown at preview, and reports `can't run policy '<name>' from policy pack ... during
 * preview: ...` at level advisory, whatever the policy's own level: the engine then lets the
 * preview pass. The gate treats such a diagnostic of a mandatory policy as a refusal.
 */
const CANNOT_RUN = /^can't run policy '([^']+)' from policy pack .* during preview/;

export function undecidedMandatory(diagnostics: Diagnostic[], config: PolicyConfigMap): string[] {
  const names = new Set<string>();
  for (const d of diagnostics) {
    const m = CANNOT_RUN.exec(d.message);
    const level = m ? config[m[1]]?.level : undefined;
    if (m && (level === "mandatory" || level === "remediate")) names.add(m[1]);
  }
  return [...names].sort();
}

export async function runGate(
  client: AnalyzerClient,
  resources: RecordedResource[],
  opts: { policyConfig?: PolicyPackConfigFile; packSource?: string; previewCase?: string } = {},
): Promise<GateResult> {
  const info = await client.getAnalyzerInfo();
  const config = buildPolicyConfig(info, opts.policyConfig);
  await client.configure(config);
  const byUrn = indexByUrn(resources);
  const diagnostics: Diagnostic[] = [];
  for (const r of resources) diagnostics.push(...(await client.analyze(analyzeRequest(r, byUrn))));
  diagnostics.push(...(await client.analyzeStack(analyzeStackRequest(resources))));
  diagnostics.push(...gateChecks(resources, config));
  const subjects = new Map(resources.map((r) => [r.urn, { type: r.type, name: r.name }]));
  const undecided = undecidedMandatory(diagnostics, config);
  const report = formatReport({
    packName: info.name,
    packVersion: info.version,
    packSource: opts.packSource ?? "policy",
    diagnostics,
    subjects,
    undecided,
    previewCase: opts.previewCase,
  });
  return { info, config, diagnostics, report, undecided, refused: diagnostics.some(isBlocking) || undecided.length > 0 };
}
