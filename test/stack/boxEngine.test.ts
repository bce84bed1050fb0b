// The box engine's step logic (test/box/engine/boxEngine.ts) on an in-memory daemon with a tiny
// program (fixtures/boxEngineRun.ts, in its own process): what a failed update leaves in the state
// decides what the next deploy deletes and what the automatic rollback concludes
// (ops/autoRollback.ts reads it), so it must be what the engine leaves (pulumi/pulumi v3.248.0
// pkg/resource/deploy/step_generator.go, step_executor.go): a container replaced (deleted first,
// then created) is in the state with its new id even when a later step fails; a failed command
// create keeps the old command (a replace without deleteBeforeReplace creates before it deletes);
// what waits on the failed step never starts, and the update ends although the program would wait
// for it forever; `--target` (the engine's URNs) limits the steps to the targeted resources.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

describe("box engine: what a failed update leaves in the state", () => {
  it("keeps the new container of a replace that succeeded and the old command of a create that failed; the next deploy replaces the container that really runs", () => {
    const run = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "fixtures", "boxEngineRun.ts")], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect([run.status, run.stderr]).toEqual([0, expect.any(String)]);
    const [first, second, third, targeted, noteChanged] = JSON.parse(run.stdout) as Array<{
      ok: boolean;
      error?: string;
      laneId?: string;
      laneUrn?: string;
      running?: string;
      checkTriggers?: string[];
      afterCheckTriggers?: string[];
      noteRan: boolean;
      changes: Record<string, number>;
    }>;
    // the engine's URN (no root stack type in the chain), which `--target` names
    expect(first!.laneUrn).toBe("urn:pulumi:t::sir-convert-a-lot::t:x:Group$docker:index/container:Container::lane");
    expect(first).toMatchObject({ ok: true, laneId: first!.running, checkTriggers: ["sha256:a", first!.running] });
    expect(second!.ok).toBe(false);
    expect(second!.error).toMatch(/lane-check/);
    expect(second!.laneId).toBe(second!.running);
    expect(second!.laneId).not.toBe(first!.laneId);
    expect(second!.checkTriggers).toEqual(["sha256:a", first!.laneId]);
    expect(second!.afterCheckTriggers).toEqual([first!.laneId]);
    expect(third).toMatchObject({ ok: true, laneId: third!.running, checkTriggers: ["sha256:c", third!.running], afterCheckTriggers: [third!.running] });
    // --target of the image and the container: both replaced; the checks are same steps (their old state)
    expect(targeted).toMatchObject({ ok: true, laneId: targeted!.running, checkTriggers: third!.checkTriggers, afterCheckTriggers: third!.afterCheckTriggers });
    expect(targeted!.laneId).not.toBe(third!.laneId);
    expect(targeted!.changes.replace).toBe(2);
    // an update of a command without `update` runs `create` again (pulumi-command v1.2.1)
    expect(targeted!.noteRan).toBe(false);
    expect(noteChanged).toMatchObject({ ok: true, noteRan: true, changes: expect.objectContaining({ update: 1 }) });
  }, 90_000);
});
