// Parsers for rocm-smi text output: which GPUs are listed, each GPU's `GPU use (%)`, and the processes
// `--showpids` lists. The `--showpids` layout is ROCm's rocm_smi.py showPids()/print2DArray(): a
// "KFD process information:" line, a header row PID, PROCESS NAME, GPU(s), VRAM USED, SDMA USED,
// CU OCCUPANCY and one row per process, cells padded and tab-separated; or
// "No KFD PIDs currently running".

/** Distinct GPU indices from `GPU[N]` line prefixes. */
export function listedGpus(output: string): number[] {
  const seen = new Set<number>();
  for (const match of output.matchAll(/^GPU\[(\d+)\]/gm)) seen.add(Number(match[1]));
  return [...seen].sort((a, b) => a - b);
}

/** Every `GPU use (%): N` value in the output (one per GPU). */
export function gpuUsePercents(output: string): number[] {
  return [...output.matchAll(/GPU use \(%\):\s*([0-9]+)/g)].map((m) => Number(m[1]));
}

/** A process rocm-smi lists as using the GPU (a KFD compute context), by host PID. */
export interface GpuProcess {
  pid: number;
  name: string;
  /** CU OCCUPANCY when rocm-smi knows it (a number), else undefined (`UNKNOWN` or absent). */
  cuOccupancy?: number;
}

/**
 * The processes in a `--showpids` section; `undefined` when the output has no such section (a
 * rocm-smi that cannot list processes), `[]` for "No KFD PIDs currently running".
 */
export function gpuProcesses(output: string): GpuProcess[] | undefined {
  const lines = output.split("\n");
  if (lines.some((l) => l.trim() === "No KFD PIDs currently running")) return [];
  const start = lines.findIndex((l) => l.trim() === "KFD process information:");
  if (start < 0) return undefined;
  const header = (lines[start + 1] ?? "").split("\t").map((c) => c.trim());
  if (header[0] !== "PID") return undefined;
  const nameAt = header.indexOf("PROCESS NAME");
  const cuAt = header.indexOf("CU OCCUPANCY");
  const out: GpuProcess[] = [];
  for (const row of lines.slice(start + 2)) {
    if (row.startsWith("=") || row.trim() === "") break;
    const cells = row.split("\t").map((c) => c.trim());
    const pid = Number(cells[0]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const cu = cuAt >= 0 && /^\d+(\.\d+)?$/.test(cells[cuAt] ?? "") ? Number(cells[cuAt]) : undefined;
    out.push({ pid, name: nameAt >= 0 ? (cells[nameAt] ?? "") : "", ...(cu !== undefined ? { cuOccupancy: cu } : {}) });
  }
  return out;
}

/**
 * Whether a listed process is doing GPU work now: a known CU occupancy of 0 means it only holds
 * the device (torch initialised, idle); otherwise it counts as working.
 */
export function isWorking(p: GpuProcess): boolean {
  return p.cuOccupancy === undefined || p.cuOccupancy > 0;
}
