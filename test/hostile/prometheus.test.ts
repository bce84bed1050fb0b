// Hostile /metrics bodies (issue 12): the parser must be linear in its input. A 195 KiB body of one
// long digit run once blocked the event loop for 66 s (regex backtracking), so neither the deadline
// nor SIGTERM fired. Every case here must be refused with an ExpositionError or parsed, quickly.
import { ExpositionError, parseExposition } from "../../verify/metrics/prometheus";
import { measure, newFigures, printFigures, prng } from "./figures";

const KIB195 = 195 * 1024;
const f = newFigures("prometheus parser");
afterAll(() => printFigures(f));

function parseOutcome(body: string): "refused" | "accepted" {
  try {
    parseExposition(body);
    return "accepted";
  } catch (error) {
    if (error instanceof ExpositionError) return "refused";
    throw error;
  }
}

const HOSTILE: Array<[string, string]> = [
  ["195 KiB digit run then garbage (value)", `m ${"1".repeat(KIB195)}x\n`],
  ["195 KiB digit run with a dot then garbage", `m 1.${"1".repeat(KIB195)}e\n`],
  ["195 KiB exponent digits then garbage", `m 1e${"1".repeat(KIB195)}x\n`],
  ["195 KiB timestamp digits then garbage", `m 1 ${"1".repeat(KIB195)}x\n`],
  ["195 KiB unterminated label value", `m{a="${"x".repeat(KIB195)}\n`],
  ["195 KiB of backslashes in a label value", `m{a="${"\\\\".repeat(KIB195 / 2)}"} 1\n`],
  ["20k labels on one line", `m{${Array.from({ length: 20_000 }, (_, i) => `l${i}="v"`).join(",")}} 1\n`],
  ["195 KiB metric name", `${"a".repeat(KIB195)} 1\n`],
  ["195 KiB of spaces before the value", `m${" ".repeat(KIB195)}1\n`],
  ["195 KiB HELP line", `# HELP m ${"x".repeat(KIB195)}\n`],
  ["195 KiB TYPE whitespace", `# TYPE m${" ".repeat(KIB195)}x\n`],
  ["20k sample lines", Array.from({ length: 20_000 }, (_, i) => `m{i="${i}"} ${i}\n`).join("")],
];

describe("hostile /metrics bodies", () => {
  for (const [name, body] of HOSTILE) {
    test(`${name}: refused or parsed, fast`, async () => {
      const { ms } = await measure(f, name, () => parseOutcome(body));
      // generous bound (the backtracking parser took 94 s here); the figures print the real time
      expect(ms).toBeLessThan(2000);
    }, 20_000);
  }

  test("300 seeded mutations of a valid exposition: never an unexpected error", async () => {
    const rnd = prng(12);
    const base =
      '# HELP m_total Requests.\n# TYPE m_total counter\nm_total{method="GET",path="/healthz",status_code="200"} 3\n# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 0.3\nh_count 2\n';
    const alphabet = ['"', "\\", "{", "}", "=", ",", " ", "\n", "#", "1", ".", "e", "-", "+", "\0", "é", "Inf", "NaN"];
    for (let i = 0; i < 300; i++) {
      let body = base;
      const edits = 1 + Math.floor(rnd() * 6);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * body.length);
        const piece = (alphabet[Math.floor(rnd() * alphabet.length)] ?? "x").repeat(1 + Math.floor(rnd() * (rnd() < 0.1 ? 20_000 : 4)));
        body = rnd() < 0.5 ? body.slice(0, at) + piece + body.slice(at) : body.slice(0, at) + body.slice(at + 1);
      }
      const { ms } = await measure(f, `mutation ${i}`, () => parseOutcome(body));
      expect(ms).toBeLessThan(2000);
    }
  }, 60_000);
});
