// Hostile: the tunnel port race (issue 12, High). A local process reads the verifier's world-readable
// ssh command line, binds the forwarded local port before ssh does and proxies to the service, so
// verification would pass while it records every request. The verifier must never send the API key
// to a listener that is not its own tunnel: it forwards to a Unix socket in a private directory.
// Runs against the real /usr/sbin/sshd on 127.0.0.1 (test/verify/sshd.ts).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { runVerification } from "../../verify";
import { API_KEY, BIN_DIR, makeLane } from "../verify/harness";
import { SSHD, startSshdWithFakeTools, type TestSshd } from "../verify/sshd";

const skipSsh = !existsSync(SSHD) && process.env.SIR_CONVERT_A_LOT_SKIP_SSH_TESTS === "1";

/** Command lines of ssh processes with an -L forward (what any local user can read in /proc). */
/** Whether `pid` descends from this test process (other suites on the machine run ssh tunnels too). */
function isOurs(pid: number): boolean {
  for (let cur = pid, hops = 0; cur > 1 && hops < 64; hops += 1) {
    if (cur === process.pid) return true;
    try {
      const stat = readFileSync(`/proc/${cur}/stat`, "utf8");
      cur = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      return false;
    }
  }
  return false;
}

function sshForwards(): Array<{ pid: number; forward: string }> {
  const out: Array<{ pid: number; forward: string }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (path.basename(argv[0] ?? "") !== "ssh") continue;
    const at = argv.indexOf("-L");
    if (at >= 0 && argv[at + 1]) out.push({ pid: Number(entry), forward: argv[at + 1] as string });
  }
  return out;
}

/** The attacker: watches for `-L 127.0.0.1:P:host:port`, binds P first and proxies to host:port, recording. */
function startAttacker(): { seen: () => string; stolenPorts: () => number[]; stop: () => void } {
  let recorded = "";
  const servers: net.Server[] = [];
  const tried = new Set<string>();
  const stolen: number[] = [];
  const timer = setInterval(() => {
    for (const { forward } of sshForwards()) {
      const m = /^127\.0\.0\.1:(\d+):([^:]+):(\d+)$/.exec(forward);
      if (!m || tried.has(forward)) continue;
      tried.add(forward);
      const [port, host, hostPort] = [Number(m[1]), m[2] as string, Number(m[3])];
      const server = net.createServer((client) => {
        const upstream = net.connect({ host, port: hostPort });
        client.on("data", (d: Buffer) => {
          recorded += d.toString("latin1");
          upstream.write(d);
        });
        upstream.on("data", (d: Buffer) => client.write(d));
        client.on("error", () => upstream.destroy());
        upstream.on("error", () => client.destroy());
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      server.once("error", () => undefined);
      server.listen(port, "127.0.0.1", () => stolen.push(port));
      servers.push(server);
    }
  }, 2);
  return {
    seen: () => recorded,
    stolenPorts: () => [...stolen],
    stop: () => {
      clearInterval(timer);
      for (const s of servers) s.close();
    },
  };
}

(skipSsh ? describe.skip : describe)("hostile: tunnel port race (real sshd)", () => {
  let dir: string;
  let sshd: TestSshd;

  let box: Awaited<ReturnType<typeof startSshdWithFakeTools>> | undefined;
  beforeAll(async () => {
    box = await startSshdWithFakeTools("hostile-tunnel-", BIN_DIR);
    ({ dir, sshd } = box);
  });
  afterAll(async () => {
    await box?.stop();
  });

  test("a local process racing for the forwarded port never sees the API key (3 runs)", async () => {
    const figures = { runs: 0, keyLeaks: 0, portsStolen: 0 };
    const seenForwards: string[] = [];
    for (let run = 0; run < 3; run++) {
      const lane = await makeLane({ emulator: { gpuStateDir: path.join(dir, "gpu") } });
      await copyFile(path.join(lane.tmp, "docker.json"), path.join(dir, "docker.json"));
      const attacker = startAttacker();
      let forwards: Array<{ pid: number; forward: string }> = [];
      const watch = setInterval(() => {
        const f = sshForwards().filter(({ pid }) => isOurs(pid));
        if (f.length > 0) forwards = f;
      }, 5);
      try {
        await runVerification(lane.options({ via: sshd.via, sshOptions: sshd.sshOptions, checks: ["readiness", "liveness"], env: { ...process.env } }));
      } finally {
        clearInterval(watch);
        attacker.stop();
        await lane.cleanup();
      }
      figures.runs += 1;
      if (attacker.seen().includes(API_KEY)) figures.keyLeaks += 1;
      figures.portsStolen += attacker.stolenPorts().length;
      seenForwards.push(forwards[0]?.forward ?? "none seen");
    }
    process.stdout.write(`\nhostile tunnel race: ${figures.runs} runs, ${figures.portsStolen} ports stolen, ${figures.keyLeaks} key leaks\n`);
    expect(figures.keyLeaks).toBe(0);
    // the forward is a Unix socket in a directory only we can enter (gone after the run)
    for (const forward of seenForwards) expect(forward).toMatch(/^\/[^:]+\/http\.sock:127\.0\.0\.1:\d+$/);
  });
});
