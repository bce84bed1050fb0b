// What `npm run doctor` asks Hemma, in one sectioned script: ssh itself (the script runs at all,
// with a known host key and no prompt), docker's version, the GPU device nodes and their group
// ids, rocm-smi, free disk under docker's root dir, who listens on the lanes' host ports, and which
// containers publish them. Pure: script builder and parsers only.
import { z } from "zod";
import * as docker from "../../lib/commands/docker";
import * as rocmSmi from "../../lib/commands/rocmSmi";
import { type Section, sectionedScript } from "./remoteShell";

export const DOCTOR_STEPS = {
  docker: ["docker", ...docker.version()],
  rocmSmi: rocmSmi.productName(),
  listening: ["ss", "-Htln"],
  published: ["docker", ...docker.publishedPorts()],
  disk: ["sh", "-c", `df -Pk "$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /)"`],
} as const;

/** find prints each device node given and each character device directly inside a directory given. */
export function deviceWords(devices: string[]): string[] {
  return ["find", ...devices, "-maxdepth", "1", "-type", "c", "-exec", "stat", "-c", "%n %g %G", "{}", "+"];
}

export function doctorScript(devices: string[]): string {
  return sectionedScript([
    ...Object.entries(DOCTOR_STEPS).map(([name, words]) => ({ name, words: [...words] })),
    { name: "devices", words: deviceWords(devices) },
  ]);
}

const versionSchema = z.object({ Server: z.object({ Version: z.string(), ApiVersion: z.string() }).nullish() });

export type DockerVersion = { ok: true; version: string; apiVersion: string } | { ok: false; detail: string };

export function parseDockerVersion(section: Section | undefined): DockerVersion {
  if (!section) return { ok: false, detail: "no answer" };
  if (section.code === 127) return { ok: false, detail: "docker is not installed on Hemma (or not on the PATH of ssh sessions)" };
  const line = section.output.split("\n").find((l) => l.trim().startsWith("{"));
  if (section.code === 0 && line) {
    const parsed = versionSchema.safeParse(JSON.parse(line));
    if (parsed.success && parsed.data.Server) return { ok: true, version: parsed.data.Server.Version, apiVersion: parsed.data.Server.ApiVersion };
  }
  return { ok: false, detail: section.output.trim().split("\n").slice(-2).join(" / ") || `exit ${section.code}` };
}

export interface DeviceNode {
  path: string;
  gid: string;
  group: string;
}

export function parseDevices(section: Section | undefined): { nodes: DeviceNode[]; errors: string[] } {
  const nodes: DeviceNode[] = [];
  const errors: string[] = [];
  for (const line of (section?.output ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)) {
    const m = /^(\/dev\/\S+) (\d+) (\S+)$/.exec(line);
    if (m) nodes.push({ path: m[1], gid: m[2], group: m[3] });
    else errors.push(line);
  }
  return { nodes, errors };
}

/** Free KiB from `df -Pk <dir>` (the last line's 4th column). */
export function parseFreeKiB(section: Section | undefined): { freeKiB: number; mount: string } | undefined {
  const last = (section?.output ?? "").trim().split("\n").pop() ?? "";
  const cols = last.trim().split(/\s+/);
  if (cols.length < 6 || !/^\d+$/.test(cols[3])) return undefined;
  return { freeKiB: Number(cols[3]), mount: cols[5] };
}

/** Ports some process listens on, from `ss -Htln` (local address is the 4th column). */
export function parseListening(section: Section | undefined): Set<number> {
  const ports = new Set<number>();
  for (const line of (section?.output ?? "").split("\n")) {
    const cols = line.trim().split(/\s+/);
    const m = cols.length >= 4 ? /:(\d+)$/.exec(cols[3]) : null;
    if (m) ports.add(Number(m[1]));
  }
  return ports;
}

/** Container name per published host port, from `docker ps --format '{{.Names}}\t{{.Ports}}'`. */
export function parsePublished(section: Section | undefined): Map<number, string> {
  const byPort = new Map<number, string>();
  for (const line of (section?.output ?? "").split("\n")) {
    const [name, ports] = line.split("\t");
    for (const m of (ports ?? "").matchAll(/:(\d+)->/g)) byPort.set(Number(m[1]), name.trim());
  }
  return byPort;
}
