// The stack's verification commands run as pulumi-command v1.2.1 runs a local.Command's `create`
// (provider/pkg/provider/local/commandController.go, util: `/bin/sh -c <create>` in the program
// directory with the provider's environment plus `environment`): per lane `health` first, then
// `gpu` and `smoke` side by side (both depend only on health), lanes in parallel.

import type { RecordedResource } from "../../../gate/mockRun";
import { runCaptured } from "../../harness/runCaptured";
import { PROGRAM_DIR, type StackRun } from "../../harness/stack";

export interface CommandRun {
  name: string;
  exitCode: number | null;
  output: string;
  ms: number;
}

export interface LaneCommand {
  lane: string;
  group: "health" | "gpu" | "smoke";
  name: string;
  create: string;
  environment: Record<string, string>;
}

const COMMAND = "command:local:Command";

export function verificationCommands(run: StackRun): LaneCommand[] {
  return run.ofType(COMMAND).map((r: RecordedResource) => {
    const inputs = run.plain(r) as { create: string; environment?: Record<string, string> };
    const m = /^(.*)-verify-(health|gpu|smoke)$/.exec(r.name);
    if (!m) throw new Error(`unexpected command resource ${r.name}`);
    return { lane: m[1]!, group: m[2] as LaneCommand["group"], name: r.name, create: inputs.create, environment: inputs.environment ?? {} };
  });
}

/** Runs one command's `create` as the provider does; bounded by `timeoutMs` (then SIGKILL). */
export async function runCreate(cmd: LaneCommand, timeoutMs: number, environment: Record<string, string> = cmd.environment): Promise<CommandRun> {
  const run = await runCaptured("/bin/sh", ["-c", cmd.create], { cwd: PROGRAM_DIR, env: { ...process.env, ...environment }, timeoutMs });
  return { name: cmd.name, exitCode: run.code, output: run.output, ms: run.ms };
}

/** The given lanes' commands in the engine's order (a missing group is skipped); all runs, and the wall time. */
export async function runVerification(commands: LaneCommand[], timeoutMs: number): Promise<{ runs: CommandRun[]; wallMs: number }> {
  const started = Date.now();
  const lanes = [...new Set(commands.map((c) => c.lane))];
  const perLane = await Promise.all(
    lanes.map(async (lane) => {
      const of = (g: LaneCommand["group"]) => commands.filter((c) => c.lane === lane && c.group === g);
      const health = await Promise.all(of("health").map((c) => runCreate(c, timeoutMs)));
      if (health.some((h) => h.exitCode !== 0)) return health;
      const rest = await Promise.all([...of("gpu"), ...of("smoke")].map((c) => runCreate(c, timeoutMs)));
      return [...health, ...rest];
    }),
  );
  return { runs: perLane.flat(), wallMs: Date.now() - started };
}
