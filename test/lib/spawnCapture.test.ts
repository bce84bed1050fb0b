// The shared spawn-and-capture core (lib/spawnCapture.ts): output, exit code, a program that
// cannot start (reported, not thrown) and the caller's way of ending a run at its timeout.
import { spawnCapture } from "../../lib/spawnCapture";

describe("spawnCapture", () => {
  it("captures stdout and stderr apart, streams them, and reports the exit code", async () => {
    const streamed: string[] = [];
    const res = await spawnCapture("/bin/sh", ["-c", "printf out; printf err >&2; exit 3"], { env: process.env, onStdout: (t) => streamed.push(t) });
    expect([res.code, res.stdout, res.stderr, res.timedOut, res.spawnError]).toEqual([3, "out", "err", false, undefined]);
    expect(streamed.join("")).toBe("out");
  });

  it("reports a program that cannot start instead of throwing", async () => {
    const res = await spawnCapture("/nonexistent/program", [], { env: process.env });
    expect(res.spawnError?.code).toBe("ENOENT");
  });

  it("ends a run at its timeout: SIGTERM by default, or the caller's way", async () => {
    const plain = await spawnCapture("/bin/sh", ["-c", "exec sleep 30"], { env: process.env, timeoutMs: 100 });
    expect([plain.timedOut, plain.signal]).toEqual([true, "SIGTERM"]);
    const killed: string[] = [];
    const custom = await spawnCapture("/bin/sh", ["-c", "exec sleep 30"], {
      env: process.env,
      timeoutMs: 100,
      onTimeout: (c) => {
        killed.push("custom");
        c.kill("SIGKILL");
      },
    });
    expect([custom.timedOut, custom.signal, killed]).toEqual([true, "SIGKILL", ["custom"]]);
  });
});
