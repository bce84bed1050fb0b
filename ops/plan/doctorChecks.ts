// Turns Hemma's answers to the doctor script (ops/hemma/doctorProbe.ts) into pass/fail items, each
// failure with the fix: docker engine API version against the features the stack uses, GPU device
// nodes and whether gpu.groups grants them (with the exact config to set), rocm-smi, free disk,
// the lanes' host ports. Pure.

import { parseDevices, parseDockerVersion, parseFreeKiB, parseListening, parsePublished } from "../hemma/doctorProbe";
import type { Section } from "../hemma/remoteShell";
import { parseGpuSection } from "../hemma/statusProbe";

export interface DoctorItem {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** Engine API versions the stack's features need (docker's API version history). */
export const ENGINE_FEATURES: { feature: string; api: string; engine: string }[] = [
  { feature: "healthcheck start interval (components/serviceLane.ts startInterval)", api: "1.44", engine: "25.0" },
];

export function apiAtLeast(have: string, need: string): boolean {
  const [a, b] = have.split(".").map(Number);
  const [c, d] = need.split(".").map(Number);
  return a > c || (a === c && b >= d);
}

export function dockerItem(section: Section | undefined, ssh: string): DoctorItem {
  const v = parseDockerVersion(section);
  if (!v.ok) {
    const denied = /permission denied/i.test(v.detail);
    return {
      name: "docker usable on Hemma",
      ok: false,
      detail: v.detail,
      fix: denied
        ? "add the ssh user to the docker group on Hemma (`sudo usermod -aG docker $USER`), then log in again"
        : `start dockerd on Hemma (\`${ssh} sudo systemctl start docker\`) and check \`${ssh} docker version\``,
    };
  }
  const missing = ENGINE_FEATURES.filter((f) => !apiAtLeast(v.apiVersion, f.api));
  if (missing.length > 0) {
    return {
      name: "docker engine version",
      ok: false,
      detail: `dockerd ${v.version} speaks API ${v.apiVersion}; ${missing.map((f) => `${f.feature} needs API ${f.api} (Docker Engine ${f.engine})`).join("; ")}`,
      fix: `upgrade Docker Engine on Hemma to ${missing
        .map((f) => f.engine)
        .sort()
        .pop()} or newer`,
    };
  }
  return {
    name: "docker engine version",
    ok: true,
    detail: `dockerd ${v.version}, API ${v.apiVersion} (${ENGINE_FEATURES.map((f) => `${f.feature}: API ${f.api}+`).join("; ")})`,
  };
}

/** The exact command that makes gpu.groups the host's numeric GIDs (keeping gpu.devices). */
export function gpuGroupsFix(devices: string[], gids: string[], stack: string): string {
  const value = JSON.stringify({ devices, groups: gids });
  return `npm run pulumi -- config set gpu '${value}' --stack ${stack}`;
}

export function gpuItems(section: Section | undefined, devices: string[], groups: string[], stack: string): DoctorItem[] {
  const { nodes, errors } = parseDevices(section);
  const items: DoctorItem[] = [];
  const absent = devices.filter((d) => !nodes.some((n) => n.path === d || n.path.startsWith(`${d}/`)));
  items.push(
    absent.length === 0
      ? { name: "GPU device nodes", ok: true, detail: nodes.map((n) => `${n.path} gid ${n.gid} (${n.group})`).join(", ") }
      : {
          name: "GPU device nodes",
          ok: false,
          detail: `${absent.join(", ")} missing on Hemma${errors.length ? ` (${errors.join(" / ")})` : ""}`,
          fix: "install the amdgpu kernel driver and ROCm on Hemma (the nodes appear once the driver loads), or fix gpu.devices",
        },
  );
  if (nodes.length === 0) return items;
  const gids = [...new Set(nodes.map((n) => n.gid))].sort((a, b) => Number(a) - Number(b));
  const numeric = groups.filter((g) => /^\d+$/.test(g));
  const uncovered = gids.filter((g) => !numeric.includes(g));
  if (uncovered.length === 0) {
    items.push({
      name: "gpu.groups grants the device nodes",
      ok: true,
      detail: `gpu.groups ${JSON.stringify(groups)} holds every device GID (${gids.join(", ")})`,
    });
  } else {
    const names = groups.filter((g) => !/^\d+$/.test(g));
    items.push({
      name: "gpu.groups grants the device nodes",
      ok: false,
      detail:
        `the device nodes belong to GID(s) ${uncovered.map((g) => `${g} (${nodes.find((n) => n.gid === g)!.group})`).join(", ")} on Hemma, not in gpu.groups ${JSON.stringify(groups)}` +
        (names.length ? `; group names (${names.join(", ")}) resolve inside the image, whose GIDs need not match the host's` : ""),
      fix: gpuGroupsFix(devices, gids, stack),
    });
  }
  return items;
}

export function rocmItem(section: Section | undefined): DoctorItem {
  const gpu = parseGpuSection(section);
  return gpu.seen
    ? { name: "rocm-smi lists a GPU", ok: true, detail: gpu.detail }
    : {
        name: "rocm-smi lists a GPU",
        ok: false,
        detail: gpu.detail,
        fix: "install ROCm on Hemma and check `rocm-smi` there (the amdgpu driver must be loaded)",
      };
}

/** Space a first image build needs (ROCm torch wheels, Docling models, build cache). */
export const BUILD_DISK_GIB = 40;

export function diskItem(section: Section | undefined): DoctorItem {
  const free = parseFreeKiB(section);
  if (!free)
    return {
      name: "free disk for an image build",
      ok: false,
      detail: `could not read df: ${(section?.output ?? "no answer").trim().slice(0, 200)}`,
      fix: "check `df -h /var/lib/docker` on Hemma",
    };
  const gib = free.freeKiB / 1024 / 1024;
  return gib >= BUILD_DISK_GIB
    ? {
        name: "free disk for an image build",
        ok: true,
        detail: `${gib.toFixed(0)} GiB free on ${free.mount} (an image build needs about ${BUILD_DISK_GIB} GiB)`,
      }
    : {
        name: "free disk for an image build",
        ok: false,
        detail: `${gib.toFixed(1)} GiB free on ${free.mount}; an image build needs about ${BUILD_DISK_GIB} GiB`,
        fix: "free space on Hemma: `npm run prune` removes old runtime images, `docker builder prune` drops build cache",
      };
}

export function portItems(
  listening: Section | undefined,
  published: Section | undefined,
  lanes: { lane: string; hostPort: number; containerName: string }[],
): DoctorItem[] {
  const held = parseListening(listening);
  const byPort = parsePublished(published);
  const ours = new Set(lanes.map((l) => l.containerName));
  return lanes.map((l) => {
    const name = `${l.lane} host port ${l.hostPort}`;
    const holder = byPort.get(l.hostPort);
    if (holder && ours.has(holder)) return { name, ok: true, detail: `held by our container ${holder}` };
    if (holder)
      return {
        name,
        ok: false,
        detail: `published by container ${holder}, not one of this stack's lanes`,
        fix: `stop that container, or set lanes.${l.lane}.hostPort to a free port`,
      };
    if (held.has(l.hostPort))
      return {
        name,
        ok: false,
        detail: "a process on Hemma listens on it (not a container of this stack)",
        fix: `find it with \`sudo ss -tlnp 'sport = :${l.hostPort}'\` on Hemma, or set lanes.${l.lane}.hostPort to a free port`,
      };
    return { name, ok: true, detail: "free" };
  });
}
