// Before/after guard for restructuring: every registration the committed hemma stack makes at
// each of the policy gate's three previews (first deploy, new revision, unchanged; see
// gate/mockRun.ts PREVIEW_CASES), compared by deep equality with a committed fixture generated
// from the code as it was. A refactor that moves no resource keeps this green untouched: same URNs,
// types, names, parents, providers, diff-relevant options and wire-form inputs.
// Normalised, because they legitimately differ per run: the scratch service checkout's temp
// directory (-> <scratch-checkout>), its HEAD revision (-> <scratch-head>, also as a 12-character
// prefix <scratch-head-12>) and this worktree's absolute path (-> <project>).
// Regenerate only on purpose (a change that is meant to alter the stack):
//   SIR_CONVERT_A_LOT_UPDATE_REGISTRATIONS=1 npx jest test/stack/registrationSnapshot.test.ts
import * as fs from "node:fs";
import * as path from "node:path";
import { PREVIEW_CASES, type PreviewCase, type RecordedResource } from "../../gate/mockRun";
import { PROGRAM_DIR, runStack, scratchCheckout } from "../harness/stack";

const FIXTURE = path.join(__dirname, "fixtures", "registrations.json");

interface Snapshot {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent: string | null;
  provider: string | null;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  options: Pick<
    RecordedResource["options"],
    "protect" | "retainOnDelete" | "deleteBeforeReplace" | "replaceOnChanges" | "ignoreChanges" | "aliases" | "additionalSecretOutputs"
  > & {
    customTimeouts: RecordedResource["options"]["customTimeouts"] | null;
  };
  inputs: Record<string, unknown>;
}

/** Replaces every per-run string (see the header) with its stable placeholder. */
function normalise(value: unknown, replacements: [string, string][]): unknown {
  if (typeof value === "string") return replacements.reduce((s, [from, to]) => s.split(from).join(to), value);
  if (Array.isArray(value)) return value.map((v) => normalise(v, replacements));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [normalise(k, replacements) as string, normalise(v, replacements)]),
    );
  }
  return value;
}

function snapshot(r: RecordedResource): Snapshot {
  const o = r.options;
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    custom: r.custom,
    parent: r.parent ?? null,
    provider: r.provider ?? null,
    dependencies: [...r.dependencies].sort(),
    propertyDependencies: Object.fromEntries(
      Object.entries(r.propertyDependencies)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, [...v].sort()]),
    ),
    options: {
      protect: o.protect,
      retainOnDelete: o.retainOnDelete,
      deleteBeforeReplace: o.deleteBeforeReplace,
      replaceOnChanges: o.replaceOnChanges,
      ignoreChanges: o.ignoreChanges,
      aliases: o.aliases,
      additionalSecretOutputs: o.additionalSecretOutputs,
      customTimeouts: o.customTimeouts ? JSON.parse(JSON.stringify(o.customTimeouts)) : null,
    },
    inputs: r.inputs,
  };
}

async function record(previewCase: PreviewCase): Promise<Snapshot[]> {
  const run = await runStack({ preview: true, previewCase });
  const { dir, head } = scratchCheckout();
  const replacements: [string, string][] = [
    [fs.realpathSync(dir), "<scratch-checkout>"],
    [dir, "<scratch-checkout>"],
    [head, "<scratch-head>"],
    [head.slice(0, 12), "<scratch-head-12>"],
    [PROGRAM_DIR, "<project>"],
  ];
  // JSON round trip: the fixture holds what JSON can (undefined members drop out on both sides).
  return JSON.parse(JSON.stringify(normalise(run.resources.map(snapshot), replacements))) as Snapshot[];
}

describe("registration snapshot (issue 13: a layout change moves no resource)", () => {
  const recorded: Partial<Record<PreviewCase, Snapshot[]>> = {};
  beforeAll(async () => {
    for (const c of PREVIEW_CASES) recorded[c] = await record(c);
    if (process.env.SIR_CONVERT_A_LOT_UPDATE_REGISTRATIONS === "1") {
      fs.writeFileSync(FIXTURE, `${JSON.stringify(recorded, null, 2)}\n`);
    }
  });

  test.each(PREVIEW_CASES)("%s preview registers exactly the committed resources, options and inputs", (previewCase) => {
    const fixture = JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as Record<PreviewCase, Snapshot[]>;
    const actual = recorded[previewCase]!;
    const expected = fixture[previewCase];
    expect(actual.map((r) => r.urn)).toEqual(expected.map((r) => r.urn));
    expect(actual).toEqual(expected);
  });

  test("the fixture is not trivially empty and the previews differ where the engine's knowledge does", () => {
    const fixture = JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as Record<PreviewCase, Snapshot[]>;
    for (const c of PREVIEW_CASES) expect(fixture[c].length).toBeGreaterThan(10);
    expect(fixture["first-deploy"]).not.toEqual(fixture.unchanged);
  });
});
