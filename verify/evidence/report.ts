// Renders the run report: failure lines (`FAIL <check>: expected ..., saw ...`) and report.md.
import type { CheckResult, CheckStatus, VerificationReport } from "../types";

export function failureLine(check: CheckResult): string | undefined {
  if (check.status === "skipped") return `SKIP ${check.name}: ${check.detail}`;
  if (check.status !== "failed") return undefined;
  const body = check.failures.map((f) => `expected ${f.expected}, saw ${f.seen}${f.note ? ` (${f.note})` : ""}`).join("; ");
  return `FAIL ${check.name}: ${body || check.detail}`;
}

function statusWord(status: CheckStatus): string {
  return status === "passed" ? "PASS" : status === "failed" ? "FAIL" : "SKIP";
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

export function renderMarkdown(report: VerificationReport): string {
  const lines = [
    `# Verification report: ${report.lane} (${report.profile})`,
    "",
    `- Result: **${report.ok ? "PASS" : "FAIL"}**`,
    `- Service URL: ${report.serviceUrl}${report.via ? ` via ${report.via}` : ""}`,
    `- Expected revision: \`${report.expectedRevision}\``,
    `- Data dir: \`${report.dataDir}\`; container: \`${report.container}\``,
    `- Started: ${report.startedAt}; finished: ${report.finishedAt}; duration ${(report.durationMs / 1000).toFixed(2)}s`,
    "",
    "| check | result | duration | detail |",
    "| --- | --- | --- | --- |",
    ...report.checks.map((c) => `| ${c.name} | ${statusWord(c.status)} | ${(c.durationMs / 1000).toFixed(2)}s | ${cell(failureLine(c) ?? c.detail)} |`),
    "",
  ];
  const steps = report.checks.flatMap((c) => c.steps.map((s) => ({ check: c.name, ...s })));
  if (steps.length > 0) {
    lines.push("## Steps", "", "| check | step | result | duration | detail |", "| --- | --- | --- | --- | --- |");
    for (const s of steps) {
      lines.push(`| ${s.check} | ${s.name} | ${statusWord(s.status)} | ${(s.durationMs / 1000).toFixed(2)}s | ${cell(s.detail)} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}
