// Docker facts the verifier reads on the host: a container's state (`docker inspect`), the last lines
// of its log, the host PIDs of its processes (`docker top`) and which running container owns a PID.
import * as commands from "../../lib/commands/docker";
import { type CommandResult, describeCommandFailure, type HostRunner } from "./runner";

export interface ContainerState {
  Status: string;
  Running: boolean;
  Restarting: boolean;
  ExitCode: number;
  RestartCount: number;
  Error?: string;
}

const TIMEOUT_MS = 15_000;

function cap(timeoutMs: number): number {
  return Math.max(1, Math.min(TIMEOUT_MS, timeoutMs));
}

/** `docker inspect --format '{{json .State}}'`, or the command failure as text. */
export async function containerState(host: HostRunner, docker: readonly string[], container: string, timeoutMs: number): Promise<ContainerState | string> {
  const res = await host.run([...docker, ...commands.containerStateInspect(container)], cap(timeoutMs));
  if (res.exitCode !== 0) return describeCommandFailure(res);
  try {
    const s = JSON.parse(res.stdout.trim()) as Partial<ContainerState> & { RestartCount?: number };
    return {
      Status: String(s.Status ?? "unknown"),
      Running: s.Running === true,
      Restarting: s.Restarting === true,
      ExitCode: Number(s.ExitCode ?? 0),
      RestartCount: Number(s.RestartCount ?? 0),
      ...(s.Error ? { Error: String(s.Error) } : {}),
    };
  } catch {
    return `docker inspect printed no JSON state: ${res.stdout.slice(0, 200)}`;
  }
}

/** The last `lines` lines of the container's log (stdout and stderr). */
export async function containerLogTail(host: HostRunner, docker: readonly string[], container: string, lines: number, timeoutMs: number): Promise<string[]> {
  const res = await host.run([...docker, ...commands.logs(container, { follow: false, tail: lines })], cap(timeoutMs));
  const text = `${res.stdout}${res.stderr}`.split("\n").filter((l) => l.trim() !== "");
  return res.exitCode === 0 ? text.slice(-lines) : [describeCommandFailure(res)];
}

/** Host PIDs from `docker top` output (the PID column, found by its header). */
export function pidsFromTop(output: string): number[] {
  const [header, ...rows] = output.split("\n").filter((l) => l.trim() !== "");
  const col = (header ?? "").trim().split(/\s+/).indexOf("PID");
  if (col < 0) return [];
  return rows.map((r) => Number(r.trim().split(/\s+/)[col])).filter((n) => Number.isInteger(n) && n > 0);
}

/** The host PIDs of a container's processes, or the command failure. */
export async function containerPids(host: HostRunner, docker: readonly string[], container: string, timeoutMs: number): Promise<Set<number> | CommandResult> {
  const res = await host.run([...docker, ...commands.top(container)], cap(timeoutMs));
  return res.exitCode === 0 ? new Set(pidsFromTop(res.stdout)) : res;
}

/** For each PID, the running container it belongs to (absent: none of them; a host process). */
export async function ownersOf(host: HostRunner, docker: readonly string[], pids: readonly number[], timeoutMs: number): Promise<Map<number, string>> {
  const owners = new Map<number, string>();
  if (pids.length === 0) return owners;
  const ps = await host.run([...docker, ...commands.runningNames()], cap(timeoutMs));
  if (ps.exitCode !== 0) return owners;
  for (const name of ps.stdout
    .split("\n")
    .map((n) => n.trim())
    .filter(Boolean)) {
    const found = await containerPids(host, docker, name, timeoutMs);
    if (!(found instanceof Set)) continue;
    for (const pid of pids) if (found.has(pid)) owners.set(pid, name);
    if (owners.size === pids.length) break;
  }
  return owners;
}
