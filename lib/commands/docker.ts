// Every docker command line the project runs on Hemma, as pure argv builders (Kamal's
// lib/kamal/commands/* style; tested by string equality in test/commands/docker.test.ts). Each
// returns the words after the docker binary, because the binary differs by caller: `docker` in a
// remote script (ops/hemma), `docker` over `ssh -- host` (ops/hemma/docker.ts) or the verifier's
// --docker-command prefix (verify/host/docker.ts).

/** `image inspect` of one or more images with a Go template. */
export function imageInspect(format: string, refs: readonly string[]): string[] {
  return ["image", "inspect", "--format", format, ...refs];
}

/** Every local image of a repository, one JSON object per line, full IDs. */
export function imageList(repository: string): string[] {
  return ["image", "ls", "--no-trunc", "--format", "{{json .}}", repository];
}

/** `image rm` (never forced: docker itself refuses an image a container uses). */
export function imageRemove(ref: string): string[] {
  return ["image", "rm", ref];
}

/** Every container, running or not, one JSON object per line, full IDs. */
export function containerList(): string[] {
  return ["ps", "-a", "--no-trunc", "--format", "{{json .}}"];
}

/** `<container id> <image id>` per line for the given containers. */
export function containerImageIds(containers: readonly string[]): string[] {
  return ["container", "inspect", "--format", "{{.Id}} {{.Image}}", ...containers];
}

/** A container's whole inspect document as JSON. */
export function containerInspect(container: string): string[] {
  return ["container", "inspect", "--format", "{{json .}}", container];
}

/** A container's `.State` as JSON (the verifier's readiness and failure reports). */
export function containerStateInspect(container: string): string[] {
  return ["inspect", "--format", "{{json .State}}", container];
}

/** Names of the running containers, one per line. */
export function runningNames(): string[] {
  return ["ps", "--format", "{{.Names}}"];
}

/** `<name>\t<ports>` of each running container. */
export function publishedPorts(): string[] {
  return ["ps", "--format", "{{.Names}}\t{{.Ports}}"];
}

/** The processes of a container with their host PIDs. */
export function top(container: string): string[] {
  return ["top", container];
}

/** Client and server versions as JSON. */
export function version(): string[] {
  return ["version", "--format", "{{json .}}"];
}

export interface LogsOptions {
  follow: boolean;
  /** docker's --since: a duration (10m, 1h30m) or a timestamp. */
  since?: string;
  /** Lines from the end; undefined: all (within --since). */
  tail?: number;
}

/** A container's log, `--since`, `--tail` and `--follow` as asked. */
export function logs(container: string, opts: LogsOptions): string[] {
  return [
    "logs",
    ...(opts.since ? ["--since", opts.since] : []),
    ...(opts.tail !== undefined ? ["--tail", String(opts.tail)] : []),
    ...(opts.follow ? ["--follow"] : []),
    container,
  ];
}

/** docker --since takes Go durations (10m, 1h30m, 45s) or RFC 3339 / Unix timestamps. */
export const SINCE_PATTERN = /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$|^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?$|^\d+(\.\d+)?$/;
