// One policy run over recorded registrations, in the engine's order: GetAnalyzerInfo, Configure,
// Analyze for every resource, AnalyzeStack once; then the gate's engine-side checks and the report.
import type { RecordedResource } from "./mockRun";
import { AnalyzerClient, Diagnostic, PackInfo, PolicyConfigMap } from "./analyzerClient";
import { buildPolicyConfig, PolicyPackConfigFile } from "./analyzerConfig";
import { gateChecks } from "./analyzerGateChecks";
import { formatReport, isBlocking } from "./analyzerReport";
import { analyzeRequest, analyzeStackRequest, indexByUrn } from "./analyzerRequests";

export interface GateResult {
  info: PackInfo;
  config: PolicyConfigMap;
  diagnostics: Diagnostic[];
  report: string;
  /** True when a mandatory violation refuses the deployment. */
  refused: boolean;
}

export async function runGate(
  client: AnalyzerClient,
  resources: RecordedResource[],
  opts: { policyConfig?: PolicyPackConfigFile; packSource?: string } = {},
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
  const report = formatReport({ packName: info.name, packVersion: info.version, packSource: opts.packSource ?? "policy", diagnostics, subjects });
  return { info, config, diagnostics, report, refused: diagnostics.some(isBlocking) };
}
