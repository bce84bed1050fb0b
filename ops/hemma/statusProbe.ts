// What `npm run status` asks Hemma, in one sectioned script (ops/hemma/remoteShell.ts): each
// lane's `docker container inspect`, the runtime images, and `rocm-smi --showproductname`; and the
// parsers that turn the answers into typed facts. Pure: no process is started here.
import { z } from "zod";
import * as docker from "../../lib/commands/docker";
import * as rocmSmi from "../../lib/commands/rocmSmi";
import { type Section, sectionedScript } from "./remoteShell";

export interface ProbeLane {
  lane: string;
  containerName: string;
}

export const containerStep = (lane: string) => `container.${lane}`;

/** The argv (words) of each step, by section name. */
export function statusSteps(lanes: ProbeLane[], imageName: string): { name: string; words: string[] }[] {
  return [
    ...lanes.map((l) => ({ name: containerStep(l.lane), words: ["docker", ...docker.containerInspect(l.containerName)] })),
    { name: "images", words: ["docker", ...docker.imageList(imageName)] },
    { name: "gpu", words: rocmSmi.productName() },
  ];
}

export function statusScript(lanes: ProbeLane[], imageName: string): string {
  return sectionedScript(statusSteps(lanes, imageName));
}

const portBinding = z.object({ HostIp: z.string().optional(), HostPort: z.string() });

/** The part of `docker container inspect` that status reads (docker's own field names). */
export const containerInspectSchema = z.object({
  Id: z.string(),
  Name: z.string(),
  Image: z.string(),
  RestartCount: z.number().int().default(0),
  State: z.object({
    Status: z.string(),
    Running: z.boolean().optional(),
    StartedAt: z.string().optional(),
    ExitCode: z.number().optional(),
    Health: z.object({ Status: z.string() }).nullish(),
  }),
  Config: z.object({ Image: z.string().optional(), Labels: z.record(z.string(), z.string()).nullish() }),
  NetworkSettings: z.object({ Ports: z.record(z.string(), z.array(portBinding).nullable()).nullish() }).nullish(),
});
export type ContainerInspect = z.infer<typeof containerInspectSchema>;

export type ContainerAnswer = { kind: "found"; inspect: ContainerInspect } | { kind: "missing" } | { kind: "error"; detail: string };

const lastLines = (text: string) => text.trim().split("\n").slice(-3).join(" / ");

export function parseContainerSection(section: Section | undefined): ContainerAnswer {
  if (!section) return { kind: "error", detail: "Hemma's answer for this container was cut off" };
  if (section.code !== 0) {
    if (/no such (object|container)/i.test(section.output)) return { kind: "missing" };
    return { kind: "error", detail: `docker container inspect exited ${section.code}: ${lastLines(section.output)}` };
  }
  const line = section.output.split("\n").find((l) => l.trim().startsWith("{"));
  if (!line) return { kind: "error", detail: `docker container inspect printed no JSON: ${lastLines(section.output)}` };
  const parsed = containerInspectSchema.safeParse(JSON.parse(line));
  if (!parsed.success)
    return { kind: "error", detail: `docker container inspect printed an unexpected shape: ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}` };
  return { kind: "found", inspect: parsed.data };
}

const imageRowSchema = z.object({ Repository: z.string(), Tag: z.string(), ID: z.string(), CreatedAt: z.string().optional() });
export type RuntimeImage = z.infer<typeof imageRowSchema>;

export function parseImagesSection(section: Section | undefined): RuntimeImage[] | { error: string } {
  if (!section) return { error: "Hemma's answer for the image list was cut off" };
  if (section.code !== 0) return { error: `docker image ls exited ${section.code}: ${lastLines(section.output)}` };
  const rows: RuntimeImage[] = [];
  for (const line of section.output
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("{"))) {
    const parsed = imageRowSchema.safeParse(JSON.parse(line));
    if (parsed.success) rows.push(parsed.data);
  }
  return rows;
}

export interface GpuAnswer {
  seen: boolean;
  detail: string;
}

/** rocm-smi prints one `GPU[n]` line per device it sees. */
export function parseGpuSection(section: Section | undefined): GpuAnswer {
  if (!section) return { seen: false, detail: "Hemma's answer for rocm-smi was cut off" };
  if (section.code === 127) return { seen: false, detail: "rocm-smi is not installed on Hemma (or not on the PATH of ssh sessions)" };
  const gpus = [
    ...new Set(
      section.output
        .split("\n")
        .map((l) => /^(GPU\[\d+\])/.exec(l.trim())?.[1])
        .filter((g): g is string => g !== undefined),
    ),
  ];
  const names = section.output
    .split("\n")
    .map((l) => /^GPU\[\d+\]\s*:\s*Card Series:\s*(.+)$/.exec(l.trim())?.[1]?.trim())
    .filter((n): n is string => Boolean(n));
  if (section.code !== 0) return { seen: false, detail: `rocm-smi exited ${section.code}: ${lastLines(section.output)}` };
  if (gpus.length === 0) return { seen: false, detail: "rocm-smi lists no GPU" };
  return { seen: true, detail: `${gpus.length} GPU(s)${names.length ? `: ${[...new Set(names)].join(", ")}` : ""}` };
}
