// Prints policy diagnostics the way `pulumi preview` lists them under "Policies:" and decides the
// outcome: any mandatory (or remediate) violation fails the run.
import type { Diagnostic } from "./analyzerClient";

export interface ReportInput {
  packName: string;
  packVersion: string;
  packSource: string;
  diagnostics: Diagnostic[];
  /** URN -> "type: name" of every analyzed resource. */
  subjects: Map<string, { type: string; name: string }>;
  /** Mandatory policies that could not decide at this preview. */
  undecided?: string[];
  /** Which preview (first deploy, new revision, unchanged). */
  previewCase?: string;
}

export function isBlocking(d: Diagnostic): boolean {
  return d.level === "mandatory" || d.level === "remediate";
}

export function formatReport(r: ReportInput): string {
  const blocking = r.diagnostics.filter(isBlocking);
  const undecided = r.undecided ?? [];
  const mark = blocking.length || undecided.length ? "❌" : r.diagnostics.length ? "⚠️" : "✅";
  const lines = [`Policies${r.previewCase ? ` (preview: ${r.previewCase})` : ""}:`, `    ${mark} ${r.packName}@v${r.packVersion} (local: ${r.packSource})`];
  const order = (d: Diagnostic) => (isBlocking(d) ? 0 : 1);
  for (const d of [...r.diagnostics].sort((a, b) => order(a) - order(b))) {
    const s = r.subjects.get(d.urn);
    const subject = s ? `  (${s.type}: ${s.name})` : "";
    const from = d.policyPackName === r.packName ? "" : `  [${d.policyPackName}]`;
    lines.push(`        - [${d.level}]  ${d.policyName}${subject}${from}`);
    for (const line of d.message.split("\n")) lines.push(`          ${line}`);
  }
  const mandatory = blocking.length;
  const advisory = r.diagnostics.length - mandatory;
  lines.push("", `${mandatory} mandatory and ${advisory} advisory policy violation${r.diagnostics.length === 1 ? "" : "s"}.`);
  if (undecided.length) {
    lines.push(
      `${undecided.length} mandatory polic${undecided.length === 1 ? "y" : "ies"} could not decide at this preview (a value they read is unknown until up): ${undecided.join(", ")}.`,
    );
  }
  return lines.join("\n");
}
