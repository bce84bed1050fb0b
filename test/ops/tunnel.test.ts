// `npm run tunnel` with a fake ssh that really forwards ports on 127.0.0.1: the "Hemma" lanes are
// local HTTP servers answering /healthz with their service_profile.
import * as http from "node:http";
import * as net from "node:net";
import { openTunnels, parseTunnelArgs, type TunnelSession } from "../../ops/cli/tunnel";
import { getHealthz } from "../../ops/cli/tunnel/portProbe";
import { captureContext, laneOutput, makeSandbox, type Sandbox, SHA, stackConfig } from "./helpers";

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
let sb: Sandbox | undefined;
let session: TunnelSession | undefined;

afterEach(async () => {
  session?.close();
  if (session) await session.closed;
  session = undefined;
  sockets.forEach((sock) => {
    sock.destroy();
  });
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  sb?.cleanup();
});

function listen(server: net.Server): Promise<number> {
  servers.push(server);
  server.on("connection", (sock: net.Socket) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
}

function laneServer(profile: string): Promise<number> {
  return listen(
    http.createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          status: "ok",
          service_revision: SHA.C,
          started_at: "2025-03-10T18:40:00Z",
          data_root: `/var/lib/sir-convert-a-lot/${profile}`,
          service_profile: profile,
        }),
      );
    }),
  );
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  const port = await new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as net.AddressInfo).port)));
  await new Promise((r) => s.close(r));
  return port;
}

function setup(lanes: Record<string, ReturnType<typeof laneOutput>>): Sandbox {
  sb = makeSandbox({
    config: stackConfig(SHA.C),
    outputs: { revision: SHA.C, image: { name: `sir-convert-a-lot-runtime:${SHA.C}`, id: "sha256:1" }, lanes, apiKey: "k".repeat(32) },
  });
  return sb;
}

const opts = (argv: string[] = []) => ({ ...parseTunnelArgs(argv), readyTimeoutMs: 8000 });

describe("tunnel", () => {
  it("opens one ssh with a forward per lane and waits until each answers as its lane", async () => {
    const [prodHost, evalHost, prodLocal, evalLocal] = [await laneServer("prod"), await laneServer("eval"), await freePort(), await freePort()];
    const s = setup({ prod: laneOutput("prod", prodHost, prodLocal), eval: laneOutput("eval", evalHost, evalLocal) });
    const cap = captureContext(s.env);
    session = await openTunnels(opts(), cap.ctx);
    expect(session.lanes.map((l) => [l.lane, l.localPort, l.action])).toEqual([
      ["prod", prodLocal, "open"],
      ["eval", evalLocal, "open"],
    ]);
    const ssh = s.sshCalls();
    expect(ssh).toHaveLength(1);
    expect(ssh[0].argv).toEqual(
      expect.arrayContaining(["-N", "-L", `127.0.0.1:${prodLocal}:127.0.0.1:${prodHost}`, `127.0.0.1:${evalLocal}:127.0.0.1:${evalHost}`, "hemma"]),
    );
    expect(ssh[0].argv[ssh[0].argv.length - 1]).toBe("hemma");
    expect(ssh[0].argv.slice(-2)).toEqual(["--", "hemma"]); // issue 12: `--` before the destination, and never a prompt:
    expect(ssh[0].argv.join(" ")).toContain("-o BatchMode=yes");
    const res = await getHealthz(evalLocal, 2000);
    expect("status" in res && JSON.parse(res.body).service_profile).toBe("eval");
  });

  it("reuses a port that already answers as the lane, starting no ssh", async () => {
    const prodLocal = await laneServer("prod"); // an already-open tunnel, as far as the probe can tell
    const s = setup({ prod: laneOutput("prod", 28085, prodLocal) });
    const cap = captureContext(s.env);
    session = await openTunnels(opts(), cap.ctx);
    expect(session.lanes[0]).toMatchObject({ lane: "prod", localPort: prodLocal, action: "reuse" });
    expect(session.pid).toBeUndefined();
    expect(s.sshCalls()).toHaveLength(0);
  });

  it("moves to another port, and says why, when the usual one is held by something else", async () => {
    const evalHost = await laneServer("eval");
    const squatter = await laneServer("prod"); // prod lane's service on eval's usual port
    const s = setup({ eval: laneOutput("eval", evalHost, squatter) });
    const cap = captureContext(s.env);
    session = await openTunnels(opts(), cap.ctx);
    const t = session.lanes[0];
    expect(t.action).toBe("open");
    expect(t.localPort).not.toBe(squatter);
    expect(t.note).toMatch(new RegExp(`port ${squatter} is taken by a Sir Convert-a-Lot prod lane, not the eval lane; using ${t.localPort} instead`));
    const res = await getHealthz(t.localPort, 2000);
    expect("status" in res && JSON.parse(res.body).service_profile).toBe("eval");
  });

  it("refuses a port given on the command line when something non-HTTP holds it", async () => {
    const evalHost = await laneServer("eval");
    const raw = await listen(net.createServer((sock) => sock.end("SSH-2.0-OpenSSH_9.6\r\n")));
    const s = setup({ eval: laneOutput("eval", evalHost, 28086) });
    const cap = captureContext(s.env);
    await expect(openTunnels(opts(["--eval-port", String(raw)]), cap.ctx)).rejects.toThrow(
      new RegExp(`local port ${raw} for the eval lane is taken by something that does not answer HTTP`),
    );
    expect(s.sshCalls()).toHaveLength(0);
  });

  it("refuses a lane that is not deployed", async () => {
    const s = setup({ prod: laneOutput("prod", 28085, 28085) });
    await expect(openTunnels(opts(["--lane", "eval"]), captureContext(s.env).ctx)).rejects.toThrow(/eval are not deployed on this stack \(deployed: prod\)/);
  });
});
