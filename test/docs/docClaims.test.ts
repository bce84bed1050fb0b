// The docs stay true: every `npm run <script>` they name is a script in package.json, every flag
// they pass to one of the operator tools is in that tool's commander definition (what --help
// lists), and every hint or doc that cites a docs heading ("(docs/runbook.md, 15. The operator
// lock)", "(README, Taking over)") cites one that exists.
import * as fs from "node:fs";
import * as path from "node:path";
import { DEPLOY_SPEC, PREVIEW_SPEC } from "../../ops/cli/deploy";
import { INIT_SPEC } from "../../ops/cli/init";
import { PRUNE_SPEC } from "../../ops/cli/prune";
import { ROLLBACK_SPEC } from "../../ops/cli/rollback";
import { BACKUP_SPEC, RESTORE_SPEC } from "../../ops/cli/state";
import { TUNNEL_SPEC } from "../../ops/cli/tunnel";
import { VERIFY_STACK_SPEC } from "../../ops/cli/verify/stack";
import { type ToolSpec, toolCommand } from "../../ops/tool/shell";
import { VERIFY_URL_SPEC } from "../../verify/cliArgs";

const ROOT = path.resolve(__dirname, "..", "..");
const DOCS = ["README.md", "docs/runbook.md", "docs/architecture.md"];
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const scripts = Object.keys(JSON.parse(read("package.json")).scripts as Record<string, string>);

const SPECS: Record<string, ToolSpec> = {
  deploy: DEPLOY_SPEC,
  preview: PREVIEW_SPEC,
  rollback: ROLLBACK_SPEC,
  prune: PRUNE_SPEC,
  tunnel: TUNNEL_SPEC,
  init: INIT_SPEC,
  "state:backup": BACKUP_SPEC,
  "state:restore": RESTORE_SPEC,
};

/** Long flags commander knows for a spec (help included). */
function flagsOf(spec: ToolSpec): Set<string> {
  return new Set([
    "--help",
    ...toolCommand(spec)
      .options.map((o) => o.long!)
      .filter(Boolean),
  ]);
}

interface Use {
  doc: string;
  script: string;
  args: string;
}

/** Every `npm run <script> [-- args]` in a doc; args end at a backtick, a table bar, a comment or the line's end. */
function uses(doc: string): Use[] {
  const found: Use[] = [];
  for (const m of read(doc).matchAll(/npm run ([a-z][\w:-]*)((?: --(?= |$)[^`\n|#]*)?)/gm)) found.push({ doc, script: m[1], args: m[2].replace(/^ --/, "") });
  return found;
}

const ALL = DOCS.flatMap(uses);

describe("docs name only scripts and flags that exist", () => {
  it("found the commands (the parser works)", () => {
    expect(ALL.length).toBeGreaterThan(40);
    expect(ALL.some((u) => u.script === "rollback" && u.args.includes("--to"))).toBe(true);
  });

  it.each(ALL.map((u) => [u.doc, u.script] as const).filter((v, i, a) => a.findIndex((w) => w[0] === v[0] && w[1] === v[1]) === i))(
    "%s: npm run %s is a script",
    (_doc, script) => {
      expect(scripts).toContain(script);
    },
  );

  const flagged = ALL.filter((u) => u.script in SPECS || u.script === "verify").filter((u) => /--[a-z]/.test(u.args));
  it.each(flagged.map((u) => [u.doc, `npm run ${u.script} --${u.args}`, u] as const))("%s: %s", (_doc, _line, u) => {
    const spec = u.script === "verify" ? (u.args.includes("--service-url") ? VERIFY_URL_SPEC : VERIFY_STACK_SPEC) : SPECS[u.script];
    const known = flagsOf(spec);
    for (const flag of u.args.match(/(?<![\w-])--[a-z][\w-]*/g) ?? []) expect([flag, known.has(flag)]).toEqual([flag, true]);
  });
});

/** Headings of a doc, with and without their "12.3 " numbering. */
function headings(doc: string): Set<string> {
  const set = new Set<string>();
  for (const m of read(doc).matchAll(/^#{1,4} (.+)$/gm)) {
    set.add(m[1].trim());
    const bare = m[1].trim().replace(/^[\d.]+\s+/, "");
    set.add(bare);
    set.add(bare.replace(/\s*\(.*\)$/, "")); // "Update (deploy a new revision)" is cited as "Update"
  }
  return set;
}

const CITED_DOCS: Record<string, string> = {
  "docs/runbook.md": "docs/runbook.md",
  README: "README.md",
  "docs/architecture.md": "docs/architecture.md",
  "docs/policy.md": "docs/policy.md",
};

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}

describe("every cited docs heading exists", () => {
  const files = [...sourceFiles("ops"), "verify/cli.ts", "verify/cliArgs.ts", ...DOCS];
  const citations = files.flatMap((f) =>
    [...read(f).matchAll(/\((docs\/runbook\.md|README|docs\/architecture\.md|docs\/policy\.md), ((?:[^()`;]|\([^()]*\))+?)\)/g)].map(
      (m) => [f, m[1], m[2].trim()] as const,
    ),
  );

  it("found the citations (the parser works)", () => {
    expect(citations.length).toBeGreaterThan(8);
  });

  it.each(citations)("%s cites %s, %s", (_file, doc, heading) => {
    expect([heading, headings(CITED_DOCS[doc]).has(heading)]).toEqual([heading, true]);
  });
});
