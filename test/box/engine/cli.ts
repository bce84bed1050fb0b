// `pulumi up` of the fake CLI (test/ops/bin/pulumi) on the box: when FAKE_PULUMI_ENGINE names this
// file, the fake runs it for `up` as `node -r ts-node/register/transpile-only cli.ts <state file>
// --stack <s> [--target <urn>]...`. It reads the fake's stack config, runs the box engine
// (boxEngine.ts) against the stack's docker host, prints pulumi-like progress lines and writes the
// new state (`stack export` resources, stack outputs) back into the fake's state file. Exit 0 when
// the update succeeded, 1 when it failed (pulumi's exit code for a failed update; the tools sort
// failures by text, ops/pulumiFailure.ts).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { NAMESPACE } from "../../../lib/projectFacts";
import { projectRoot } from "../../../lib/projectRoot";
import { sshOptionValues } from "../../../lib/sshTarget";
import { EngineApi } from "../lib/engineApi";
import { type EngineState, up } from "./boxEngine";

interface ConfigValue {
  value?: string;
  objectValue?: unknown;
  secret?: boolean;
}

const PROGRAM_DIR = projectRoot(__dirname);

async function main(argv: string[]): Promise<number> {
  const statePath = argv[0];
  if (!statePath) throw new Error("usage: cli.ts <fake pulumi state file> --stack <name> [--target <urn>]...");
  let stack = "hemma";
  const targets: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === "--stack") stack = argv[++i]!;
    else if (argv[i] === "--target") targets.push(argv[++i]!);
  }
  const fake = JSON.parse(readFileSync(statePath, "utf8")) as {
    config?: Record<string, ConfigValue>;
    engine?: EngineState;
    export?: unknown;
    outputs?: unknown;
  };
  const config: Record<string, string> = {};
  const secretConfigKeys: string[] = [];
  for (const [k, v] of Object.entries(fake.config ?? {})) {
    if (v.value === undefined || /^v1:encrypted/.test(v.value)) throw new Error(`config ${k} has no value the box engine can use (a secret it cannot decrypt)`);
    config[k] = v.value;
    if (v.secret) secretConfigKeys.push(k);
  }
  const ns = NAMESPACE;
  const dockerHost = config[`${ns}:dockerHost`] ?? "ssh://hemma";
  const sshOpts = JSON.parse(config[`${ns}:sshOpts`] ?? "[]") as string[];
  const docker = await EngineApi.connect({ kind: "ssh", dockerHost, sshOptions: sshOptionValues(sshOpts) });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`Updating (${stack}) with the box engine (test/box/engine): the real program, its steps done on ${dockerHost}`);
  const started = Date.now();
  const result = await up({
    programDir: PROGRAM_DIR,
    stack,
    config,
    secretConfigKeys,
    targets,
    state: fake.engine ?? { resources: [], digests: {} },
    docker,
    log,
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loadProgram: () => require(path.join(PROGRAM_DIR, "index.ts")),
  });
  const now = JSON.parse(readFileSync(statePath, "utf8")) as Record<string, unknown>;
  now.engine = result.state;
  now.export = {
    version: 3,
    deployment: { manifest: { time: new Date().toISOString(), magic: "box-engine", version: "v3" }, resources: result.state.resources },
  };
  if (result.ok) now.outputs = result.outputs;
  writeFileSync(statePath, JSON.stringify(now, null, 2));
  const summary = Object.entries(result.changes)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  log(`Resources: ${summary}`);
  log(`Duration: ${Math.round((Date.now() - started) / 1000)}s`);
  if (!result.ok) {
    process.stderr.write(`error: update failed: ${(result.error ?? "").split("\n")[0]}\n`);
    return 1;
  }
  return 0;
}

// The update must end through main(): an empty event loop before that is a stalled program.
let ended = false;
process.on("beforeExit", () => {
  if (ended) return;
  process.stderr.write("error: box engine: the program stopped making progress before the update ended\n");
  process.exit(1);
});
main(process.argv.slice(2)).then(
  (code) => {
    ended = true;
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`error: box engine: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
