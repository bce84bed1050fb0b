// One-off generator of verify/fixtures/sample.pdf (run: npx ts-node --transpile-only test/emulator/make-fixtures.ts).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { makePdf } from "./documents";

export const FIXTURE_PDF_LINES = [
  "Sir Convert-a-Lot deployment smoke test",
  "This one-page PDF is converted to Markdown (v1) and to DOCX (v2)",
  "on the GPU after every deploy. Table: lane | port | data dir",
  "prod | 28085 | /var/lib/sir-convert-a-lot/prod",
  "eval | 28086 | /var/lib/sir-convert-a-lot/eval",
];

if (require.main === module) {
  const out = path.join(__dirname, "..", "..", "verify", "fixtures", "sample.pdf");
  writeFileSync(out, makePdf(FIXTURE_PDF_LINES, "Sir Convert-a-Lot smoke fixture"));
  process.stdout.write(`wrote ${out}\n`);
}
