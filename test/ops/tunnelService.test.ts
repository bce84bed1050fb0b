// `npm run tunnel -- --install | --uninstall | --status`: the unit / plist contents, and install,
// status and uninstall against fake systemctl and launchctl (test/ops/bin) with lanes answering
// /healthz on 127.0.0.1 where the tunnels' local ends would be.
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { main as tunnelMain } from "../../ops/cli/tunnel";
import { serviceMain } from "../../ops/cli/tunnel/service";
import { launchdPlist, plistPath, type ServiceSpec, systemdUnit, systemdWord, unitPath } from "../../ops/plan/tunnelServiceFiles";
import { managerCommands, parseLaunchctlPrint, parseSystemdShow } from "../../ops/plan/tunnelServiceManager";
import { BIN_DIR, captureContext, makeSandbox, type Sandbox, SHA, stackConfig } from "./helpers";

const spec: ServiceSpec = {
  stack: "hemma",
  sshBinary: "/usr/bin/ssh",
  sshTargetArgs: ["-o", "ServerAliveInterval=30", "-p", "2222"],
  destination: "op@hemma",
  forwards: [
    { lane: "prod", localPort: 18085, remoteHost: "127.0.0.1", remotePort: 28085 },
    { lane: "eval", localPort: 18086, remoteHost: "::1", remotePort: 28086 },
  ],
};

describe("service files (pure)", () => {
  it("writes a systemd user unit that restarts ssh forever, with keep-alive, batch mode and exit-on-forward-failure", () => {
    expect(systemdUnit(spec)).toBe(
      [
        "# Written by `npm run tunnel -- --install` (Sir Convert-a-Lot, stack hemma); remove with `npm run tunnel -- --uninstall`.",
        "[Unit]",
        "Description=Sir Convert-a-Lot tunnels to Hemma (stack hemma: prod 127.0.0.1:18085, eval 127.0.0.1:18086)",
        "Wants=network-online.target",
        "After=network-online.target",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=/usr/bin/ssh -N -o BatchMode=yes -o ExitOnForwardFailure=yes -o ServerAliveInterval=15 -o ServerAliveCountMax=3 -o ConnectTimeout=15 -L 127.0.0.1:18085:127.0.0.1:28085 -L 127.0.0.1:18086:[::1]:28086 -o ServerAliveInterval=30 -p 2222 op@hemma",
        "Restart=always",
        "RestartSec=5",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
      ].join("\n"),
    );
  });

  it("quotes ExecStart words the way systemd reads them (% and $ doubled, spaces quoted)", () => {
    expect(systemdWord("/home/a b/.ssh/id")).toBe('"/home/a b/.ssh/id"');
    expect(systemdWord("%h")).toBe('"%%h"');
    expect(systemdWord("$HOME")).toBe('"$$HOME"');
  });

  it("writes a launchd agent that runs at load and is kept alive, throttled to every 10 s", () => {
    const plist = launchdPlist(spec, "/Users/op");
    expect(plist).toContain("<key>Label</key>\n  <string>org.sir-convert-a-lot.tunnel.hemma</string>");
    expect(plist).toContain(
      "    <string>/usr/bin/ssh</string>\n    <string>-N</string>\n    <string>-o</string>\n    <string>BatchMode=yes</string>\n    <string>-o</string>\n    <string>ExitOnForwardFailure=yes</string>",
    );
    expect(plist).toContain("    <string>-L</string>\n    <string>127.0.0.1:18086:[::1]:28086</string>");
    expect(plist).toContain("<key>RunAtLoad</key>\n  <true/>\n  <key>KeepAlive</key>\n  <true/>\n  <key>ThrottleInterval</key>\n  <integer>10</integer>");
    expect(plist).toContain("<string>/Users/op/Library/Logs/sir-convert-a-lot-tunnel-hemma.log</string>");
    expect(plist.trim().endsWith("</plist>")).toBe(true);
  });

  it("drives systemctl --user and launchctl gui/<uid>, and reads their status", () => {
    expect(managerCommands("linux", "hemma", "/x", 501).install.map((c) => c.join(" "))).toEqual([
      "systemctl --user daemon-reload",
      "systemctl --user enable sir-convert-a-lot-tunnel-hemma.service",
      "systemctl --user restart sir-convert-a-lot-tunnel-hemma.service",
    ]);
    expect(managerCommands("darwin", "hemma", "/p.plist", 501).install).toEqual([["launchctl", "bootstrap", "gui/501", "/p.plist"]]);
    expect(parseSystemdShow("LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=77\nNRestarts=3\n")).toMatchObject({
      running: true,
      pid: 77,
      restarts: 3,
    });
    expect(parseSystemdShow("LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nMainPID=0\n")).toMatchObject({ running: false, pid: undefined });
    expect(parseLaunchctlPrint(0, "gui/501/x = {\n\tstate = running\n\truns = 4\n\tpid = 9\n}")).toMatchObject({ running: true, pid: 9, restarts: 3 });
    expect(parseLaunchctlPrint(113, "")).toMatchObject({ loaded: false, running: false });
  });
});

describe("npm run tunnel -- --install/--status/--uninstall", () => {
  let sb: Sandbox;
  const servers: http.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    sb?.cleanup();
  });

  async function laneServer(profile: string): Promise<number> {
    const server = http.createServer((_req, res) => res.end(JSON.stringify({ service_profile: profile, service_revision: SHA.C })));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return (server.address() as AddressInfo).port;
  }

  async function setup(answering: boolean): Promise<{ prodPort: number; evalPort: number }> {
    const prodPort = answering ? await laneServer("prod") : 1;
    const evalPort = answering ? await laneServer("eval") : 2;
    sb = makeSandbox({
      config: stackConfig(SHA.C),
      outputs: {
        revision: SHA.C,
        lanes: {
          prod: { containerName: "p", profile: "prod", url: "http://127.0.0.1:28085", hostPort: 28085, localPort: prodPort },
          eval: { containerName: "e", profile: "eval", url: "http://127.0.0.1:28086", hostPort: 28086, localPort: evalPort },
        },
      },
    });
    sb.env.FAKE_SERVICE_STATE = path.join(sb.dir, "service-state.json");
    sb.env.FAKE_SERVICE_LOG = path.join(sb.dir, "service-log.jsonl");
    return { prodPort, evalPort };
  }
  const calls = () =>
    fs
      .readFileSync(sb.env.FAKE_SERVICE_LOG!, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).argv.join(" "));
  const linux = { platform: "linux" as const, uid: 1000 };

  it("Linux: installs the unit from the stack outputs, starts it, and reports each lane answering", async () => {
    const { prodPort, evalPort } = await setup(true);
    const cap = captureContext(sb.env);
    expect(await serviceMain(["--install"], cap.ctx, linux)).toBe(0);
    const file = unitPath(sb.env, sb.dir, "hemma");
    expect(file).toBe(path.join(sb.dir, ".config", "systemd", "user", "sir-convert-a-lot-tunnel-hemma.service"));
    expect(fs.readFileSync(file, "utf8")).toContain(
      `ExecStart=${path.join(BIN_DIR, "ssh")} -N -o BatchMode=yes -o ExitOnForwardFailure=yes -o ServerAliveInterval=15 -o ServerAliveCountMax=3 -o ConnectTimeout=15 -L 127.0.0.1:${prodPort}:127.0.0.1:28085 -L 127.0.0.1:${evalPort}:127.0.0.1:28086 -o ServerAliveInterval=30 -o ConnectTimeout=15 -- hemma\n`,
    );
    expect(calls()).toEqual([
      "--user daemon-reload",
      "--user enable sir-convert-a-lot-tunnel-hemma.service",
      "--user restart sir-convert-a-lot-tunnel-hemma.service",
    ]);

    const st = captureContext(sb.env);
    expect(await serviceMain(["--status"], st.ctx, linux)).toBe(0);
    expect(st.text()).toMatch(/Tunnel service .*: running, active \(running\), pid 4242, 0 restart\(s\)/);
    expect(st.text()).toContain(`127.0.0.1:${prodPort}  answers as the prod lane (revision ${SHA.C})`);
    expect(st.text()).toContain(`127.0.0.1:${evalPort}  answers as the eval lane`);
  });

  it("Linux: --status exits 1 when the service keeps restarting and nothing answers; --uninstall removes it", async () => {
    await setup(false);
    fs.writeFileSync(sb.env.FAKE_SERVICE_STATE!, JSON.stringify({ units: {}, failToStart: true }));
    expect(await serviceMain(["--install"], captureContext(sb.env).ctx, linux)).toBe(0);
    const st = captureContext(sb.env);
    expect(await serviceMain(["--status"], st.ctx, linux)).toBe(1);
    expect(st.text()).toMatch(/NOT running, activating \(auto-restart\)/);
    expect(st.text()).toMatch(/127\.0\.0\.1:1 {2}does not answer \/healthz/);
    expect(st.text()).toContain("journalctl --user -u sir-convert-a-lot-tunnel-hemma");

    const un = captureContext(sb.env);
    expect(await serviceMain(["--uninstall"], un.ctx, linux)).toBe(0);
    expect(fs.existsSync(unitPath(sb.env, sb.dir, "hemma"))).toBe(false);
    expect(calls().slice(-2)).toEqual(["--user disable --now sir-convert-a-lot-tunnel-hemma.service", "--user daemon-reload"]);
    const after = captureContext(sb.env);
    expect(await serviceMain(["--status"], after.ctx, linux)).toBe(1);
    expect(after.text()).toMatch(/not installed/);
  });

  it("macOS: writes the LaunchAgent, bootstraps it in gui/<uid>, reports it, boots it out", async () => {
    await setup(true);
    const mac = { platform: "darwin" as const, uid: 501 };
    expect(await serviceMain(["--install"], captureContext(sb.env).ctx, mac)).toBe(0);
    const file = plistPath(sb.dir, "hemma");
    expect(fs.readFileSync(file, "utf8")).toContain("<string>ExitOnForwardFailure=yes</string>");
    expect(calls()).toEqual(["bootout gui/501/org.sir-convert-a-lot.tunnel.hemma", `bootstrap gui/501 ${file}`]);
    const st = captureContext(sb.env);
    expect(await serviceMain(["--status"], st.ctx, mac)).toBe(0);
    expect(st.text()).toMatch(/running, running, pid 4343, 0 restart\(s\)/);
    // Re-installing replaces the loaded agent (bootout first, or bootstrap would fail).
    expect(await serviceMain(["--install"], captureContext(sb.env).ctx, mac)).toBe(0);
    expect(await serviceMain(["--uninstall"], captureContext(sb.env).ctx, mac)).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    expect(calls().pop()).toBe("bootout gui/501/org.sir-convert-a-lot.tunnel.hemma");
  });

  it("refuses two actions at once with exit 2", async () => {
    await setup(false);
    const cap = captureContext(sb.env);
    expect(await tunnelMain(["--install", "--status"], cap.ctx)).toBe(2);
    expect(cap.text()).toMatch(/error: give exactly one of --install, --uninstall, --status/);
  });
});
