// What `npm run tunnel -- --install` writes: the ssh command that keeps both lanes' tunnels up
// (no prompt, keep-alive, exit on a failed forward so the service manager restarts it), and the
// per-user service around it: a systemd user unit on Linux, a launchd agent plist on macOS. Both
// restart ssh whenever it ends (sleep, network loss, Hemma reboot) without ever giving up. Pure.

import * as path from "node:path";
import { LABEL_DOMAIN } from "../../lib/projectFacts";

export interface ServiceForward {
  lane: string;
  localPort: number;
  remoteHost: string;
  remotePort: number;
}

export interface ServiceSpec {
  stack: string;
  sshBinary: string;
  /** ssh options from config (sshOpts) and the port, before the destination. */
  sshTargetArgs: string[];
  destination: string;
  forwards: ServiceForward[];
}

/** Options the service needs whatever config says (ssh uses the first value given for an option). */
export const SERVICE_SSH_OPTIONS = [
  "-o",
  "BatchMode=yes",
  "-o",
  "ExitOnForwardFailure=yes",
  "-o",
  "ServerAliveInterval=15",
  "-o",
  "ServerAliveCountMax=3",
  "-o",
  "ConnectTimeout=15",
];

export function serviceSshArgv(spec: ServiceSpec): string[] {
  return [
    spec.sshBinary,
    "-N",
    ...SERVICE_SSH_OPTIONS,
    ...spec.forwards.flatMap((f) => ["-L", `127.0.0.1:${f.localPort}:${f.remoteHost.includes(":") ? `[${f.remoteHost}]` : f.remoteHost}:${f.remotePort}`]),
    ...spec.sshTargetArgs,
    spec.destination,
  ];
}

export const serviceName = (stack: string) => `sir-convert-a-lot-tunnel-${stack}`;
export const unitFileName = (stack: string) => `${serviceName(stack)}.service`;
export const launchdLabel = (stack: string) => `${LABEL_DOMAIN}.tunnel.${stack}`;

export function unitPath(env: NodeJS.ProcessEnv, home: string, stack: string): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(home, ".config"), "systemd", "user", unitFileName(stack));
}

export function plistPath(home: string, stack: string): string {
  return path.join(home, "Library", "LaunchAgents", `${launchdLabel(stack)}.plist`);
}

export function launchdLogPath(home: string, stack: string): string {
  return path.join(home, "Library", "Logs", `${serviceName(stack)}.log`);
}

/** One ExecStart word as systemd parses it (systemd.service "Command lines"; % and $ are specifiers/variables). */
export function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  return /^[A-Za-z0-9_@+=:,./[\]-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function describeForwards(spec: ServiceSpec): string {
  return spec.forwards.map((f) => `${f.lane} 127.0.0.1:${f.localPort}`).join(", ");
}

export function systemdUnit(spec: ServiceSpec): string {
  return [
    `# Written by \`npm run tunnel -- --install\` (Sir Convert-a-Lot, stack ${spec.stack}); remove with \`npm run tunnel -- --uninstall\`.`,
    "[Unit]",
    `Description=Sir Convert-a-Lot tunnels to Hemma (stack ${spec.stack}: ${describeForwards(spec)})`,
    "Wants=network-online.target",
    "After=network-online.target",
    // Never stop restarting: a laptop is offline for hours at a time.
    "StartLimitIntervalSec=0",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${serviceSshArgv(spec).map(systemdWord).join(" ")}`,
    "Restart=always",
    "RestartSec=5",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

const xml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function launchdPlist(spec: ServiceSpec, home: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    `<!-- Written by npm run tunnel -- --install (Sir Convert-a-Lot, stack ${xml(spec.stack)}); remove with npm run tunnel -- --uninstall. -->`,
    '<plist version="1.0">',
    "<dict>",
    "  <key>Label</key>",
    `  <string>${xml(launchdLabel(spec.stack))}</string>`,
    "  <key>ProgramArguments</key>",
    "  <array>",
    ...serviceSshArgv(spec).map((a) => `    <string>${xml(a)}</string>`),
    "  </array>",
    "  <key>RunAtLoad</key>",
    "  <true/>",
    // Restart ssh whenever it exits (sleep, network change), at most every 10 s.
    "  <key>KeepAlive</key>",
    "  <true/>",
    "  <key>ThrottleInterval</key>",
    "  <integer>10</integer>",
    "  <key>StandardErrorPath</key>",
    `  <string>${xml(launchdLogPath(home, spec.stack))}</string>`,
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}
