// The benchmarks answer --help like every tool (issue 11): exit 0 with every flag described, and an
// unknown flag is a usage error (exit 2). Runs each bench script as `npm run bench:*` runs it.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
const BENCHES = Object.keys(scripts).filter((name) => name.startsWith("bench:"));

function run(name: string, arg: string) {
  const [cmd, ...args] = scripts[name].split(" ");
  const bin = cmd === "ts-node" ? path.join(ROOT, "node_modules", ".bin", "ts-node") : cmd;
  return spawnSync(bin, [...args, arg], { cwd: ROOT, encoding: "utf8", timeout: 60000 });
}

describe("benchmarks: --help and unknown flags", () => {
  it("finds the benchmarks", () => {
    expect(BENCHES.length).toBeGreaterThanOrEqual(3);
  });

  it.each(BENCHES)(
    "%s --help exits 0 and describes every flag",
    (name) => {
      const res = run(name, "--help");
      expect([res.status, res.stdout]).toEqual([0, expect.stringMatching(/Usage: npm run bench:/)]);
      for (const line of res.stdout.split("\n").filter((l) => /^\s+--/.test(l))) expect(line.trim()).toMatch(/^--\S+(?: <[^>]+>)?\s{2,}\S/);
    },
    120000,
  );

  it.each(BENCHES)(
    "%s --bogus is a usage error (exit 2)",
    (name) => {
      const res = run(name, "--bogus");
      expect(res.status).toBe(2);
    },
    120000,
  );
});
