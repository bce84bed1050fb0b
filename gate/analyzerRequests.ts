// Turns recorded resource registrations into Analyzer requests exactly as the engine marshals them:
// inputs keep secrets and unknowns (internal `__` keys dropped), options include protect and
// friends, provider resources are attached, and stack requests carry parent and dependencies.

import { analyzerPb, Struct } from "./analyzerProto";
import type { RecordedResource } from "./mockRun";

/** Go duration ("5m", "1h30m", "90s", "250ms") to seconds, as the engine sends custom timeouts. */
export function durationSeconds(text: string | undefined): number {
  if (!text) return 0;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6, µs: 1e-6, ns: 1e-9 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== text.length) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  return total;
}

function properties(inputs: Record<string, unknown>) {
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) if (!k.startsWith("__") && v !== undefined) kept[k] = v;
  return Struct.fromJavaScript(kept as Parameters<typeof Struct.fromJavaScript>[0]);
}

function options(r: RecordedResource): analyzerPb.AnalyzerResourceOptions {
  const o = new analyzerPb.AnalyzerResourceOptions();
  o.setProtect(r.options.protect);
  o.setIgnorechangesList(r.options.ignoreChanges);
  o.setDeletebeforereplace(r.options.deleteBeforeReplace);
  o.setDeletebeforereplacedefined(r.options.deleteBeforeReplace);
  o.setAdditionalsecretoutputsList(r.options.additionalSecretOutputs);
  o.setAliasesList(r.options.aliases);
  const t = r.options.customTimeouts;
  if (t) {
    const ct = new analyzerPb.AnalyzerResourceOptions.CustomTimeouts();
    ct.setCreate(durationSeconds(t.create));
    ct.setUpdate(durationSeconds(t.update));
    ct.setDelete(durationSeconds(t.delete));
    o.setCustomtimeouts(ct);
  }
  if (r.parent) o.setParent(r.parent);
  return o;
}

function provider(r: RecordedResource, byUrn: Map<string, RecordedResource>): analyzerPb.AnalyzerProviderResource | undefined {
  if (!r.provider) return undefined;
  const urn = r.provider.slice(0, r.provider.lastIndexOf("::"));
  const p = byUrn.get(urn);
  if (!p) return undefined;
  const msg = new analyzerPb.AnalyzerProviderResource();
  msg.setType(p.type);
  msg.setUrn(p.urn);
  msg.setName(p.name);
  msg.setProperties(properties(p.inputs));
  return msg;
}

export function indexByUrn(resources: RecordedResource[]): Map<string, RecordedResource> {
  return new Map(resources.map((r) => [r.urn, r]));
}

/** The fields `Analyze` and `AnalyzeStack` both carry for a resource. */
interface ResourceMessage {
  setUrn(v: string): unknown;
  setType(v: string): unknown;
  setName(v: string): unknown;
  setProperties(v: ReturnType<typeof properties>): unknown;
  setOptions(v: analyzerPb.AnalyzerResourceOptions): unknown;
  setProvider(v: analyzerPb.AnalyzerProviderResource): unknown;
}

function describeResource<M extends ResourceMessage>(msg: M, r: RecordedResource, byUrn: Map<string, RecordedResource>): M {
  msg.setUrn(r.urn);
  msg.setType(r.type);
  msg.setName(r.name);
  msg.setProperties(properties(r.inputs));
  msg.setOptions(options(r));
  const prov = provider(r, byUrn);
  if (prov) msg.setProvider(prov);
  return msg;
}

export function analyzeRequest(r: RecordedResource, byUrn: Map<string, RecordedResource>): analyzerPb.AnalyzeRequest {
  return describeResource(new analyzerPb.AnalyzeRequest(), r, byUrn);
}

export function analyzeStackRequest(resources: RecordedResource[]): analyzerPb.AnalyzeStackRequest {
  const byUrn = indexByUrn(resources);
  const req = new analyzerPb.AnalyzeStackRequest();
  req.setResourcesList(
    resources.map((r) => {
      const msg = describeResource(new analyzerPb.AnalyzerResource(), r, byUrn);
      if (r.parent) msg.setParent(r.parent);
      msg.setDependenciesList(r.dependencies);
      const deps = msg.getPropertydependenciesMap();
      for (const [key, urns] of Object.entries(r.propertyDependencies)) {
        if (urns.length === 0) continue;
        const pd = new analyzerPb.AnalyzerPropertyDependencies();
        pd.setUrnsList(urns);
        deps.set(key, pd);
      }
      return msg;
    }),
  );
  return req;
}
