// The service-manager command lines for the tunnel service (pure argv builders) and the parsers of
// their status output: `systemctl --user` on Linux, `launchctl` (gui/<uid> domain) on macOS.
import { launchdLabel, unitFileName } from "./tunnelServiceFiles";

export type Platform = "linux" | "darwin";

export interface ManagerCommands {
  install: string[][];
  /** Run before install and on uninstall; failing is fine (nothing was loaded). */
  unload: string[][];
  afterRemove: string[][];
  status: string[];
}

export function managerCommands(platform: Platform, stack: string, file: string, uid: number): ManagerCommands {
  if (platform === "linux") {
    const unit = unitFileName(stack);
    return {
      install: [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", unit],
        ["systemctl", "--user", "restart", unit],
      ],
      unload: [["systemctl", "--user", "disable", "--now", unit]],
      afterRemove: [["systemctl", "--user", "daemon-reload"]],
      status: ["systemctl", "--user", "show", unit, "--property=LoadState,ActiveState,SubState,MainPID,NRestarts,ActiveEnterTimestamp"],
    };
  }
  const domain = `gui/${uid}`;
  return {
    install: [["launchctl", "bootstrap", domain, file]],
    unload: [["launchctl", "bootout", `${domain}/${launchdLabel(stack)}`]],
    afterRemove: [],
    status: ["launchctl", "print", `${domain}/${launchdLabel(stack)}`],
  };
}

export interface ServiceState {
  loaded: boolean;
  running: boolean;
  pid?: number;
  restarts?: number;
  since?: string;
  detail: string;
}

/** `systemctl --user show <unit> --property=...` prints KEY=value lines. */
export function parseSystemdShow(stdout: string): ServiceState {
  const kv = new Map(
    stdout
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()] as [string, string]),
  );
  const loaded = kv.get("LoadState") === "loaded";
  const running = kv.get("ActiveState") === "active" && kv.get("SubState") === "running";
  const pid = Number(kv.get("MainPID") ?? "0");
  const restarts = kv.has("NRestarts") ? Number(kv.get("NRestarts")) : undefined;
  return {
    loaded,
    running,
    pid: pid > 0 ? pid : undefined,
    restarts,
    since: kv.get("ActiveEnterTimestamp") || undefined,
    detail: `${kv.get("ActiveState") ?? "unknown"} (${kv.get("SubState") ?? "unknown"})`,
  };
}

/** `launchctl print gui/<uid>/<label>`: `state = running`, `pid = N`, `runs = N`; exit 113 when not loaded. */
export function parseLaunchctlPrint(code: number, stdout: string): ServiceState {
  if (code !== 0) return { loaded: false, running: false, detail: "not loaded" };
  const field = (name: string) => new RegExp(`^\\s*${name} = (.+)$`, "m").exec(stdout)?.[1].trim();
  const state = field("state") ?? "unknown";
  const pid = Number(field("pid") ?? "0");
  const runs = field("runs");
  return {
    loaded: true,
    running: state === "running",
    pid: pid > 0 ? pid : undefined,
    restarts: runs ? Math.max(0, Number(runs) - 1) : undefined,
    detail: state,
  };
}
