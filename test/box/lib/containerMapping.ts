// The one place the box maps a `docker.Container`'s recorded inputs (pulumi-docker names) to the
// Engine API's POST /containers/create body, field by field as the docker provider does it:
// terraform-provider-docker v4.5.0 (what pulumi-docker 5.x bridges)
//   internal/provider/resource_docker_container_funcs.go resourceDockerContainerCreate:
//     Config{Image, Cmd (empty values refused), Env, ExposedPorts, Volumes, Labels, Healthcheck with
//     time.ParseDuration per field}, HostConfig{RestartPolicy{Name, MaximumRetryCount}, Mounts,
//     LogConfig{Type, Config}, PortBindings, Binds, Devices, GroupAdd, Init (always sent),
//     Privileged/PublishAllPorts/ReadonlyRootfs/AutoRemove from their bool defaults}
//   internal/provider/resource_docker_container_structures.go portSetToDockerPorts (`<internal>/
//     <protocol>`, HostIP/HostPort), volumeSetToDockerVolumes (`<volume>:<path>:rw|ro` binds plus the
//     path in Config.Volumes), deviceSetToDockerDevices (container path defaults to host path)
//   internal/provider/resource_docker_container.go schema defaults: ports.ip "0.0.0.0",
//     ports.protocol "tcp", devices.permissions "rwm", restart "no".
// And what the provider's Go client (moby client/container_create.go ContainerCreate) refuses: a
// healthcheck StartInterval on an API below 1.44 ("specify health-check start interval" requires API
// version 1.44, but the Docker daemon API version is …). dockerd 20.10 (Debian bookworm's docker.io)
// speaks API 1.41, so the stack's lanes (startInterval 2s) cannot be created there as declared.
import type { EngineApi } from "./engineApi";

export interface RecordedContainer {
  name: string;
  image: string;
  command?: string[];
  envs?: string[];
  devices?: Array<{ hostPath: string; containerPath?: string; permissions?: string }>;
  groupAdds?: string[];
  ports?: Array<{ internal: number; external?: number; ip?: string; protocol?: string }>;
  volumes?: Array<{ volumeName?: string; hostPath?: string; containerPath?: string; readOnly?: boolean; fromContainer?: string }>;
  labels?: Array<{ label: string; value: string }>;
  healthcheck?: { tests?: string[]; interval?: string; timeout?: string; startPeriod?: string; startInterval?: string; retries?: number };
  restart?: string;
  maxRetryCount?: number;
  logDriver?: string;
  logOpts?: Record<string, string>;
  init?: boolean;
  privileged?: boolean;
  wait?: boolean;
  waitTimeout?: number;
}

export class ApiVersionError extends Error {}

/** Go's time.ParseDuration for the units a healthcheck uses, in nanoseconds. */
export function goDurationNs(text: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let rest = text;
  if (rest === "0") return 0;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw new Error(`time: invalid duration ${JSON.stringify(text)}`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return Math.round(total);
}

function newerOrEqual(version: string, min: string): boolean {
  const [a, b] = version.split(".").map(Number);
  const [c, d] = min.split(".").map(Number);
  return a! > c! || (a === c && b! >= d!);
}

/** The POST /containers/create body for these inputs at `apiVersion`; throws as the Go client does. */
export function containerCreateBody(c: RecordedContainer, apiVersion: string): Record<string, unknown> {
  if ((c.command ?? []).some((v) => v === "")) throw new Error("values for command may not be empty");
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of c.ports ?? []) {
    const key = `${p.internal}/${p.protocol ?? "tcp"}`;
    exposed[key] = {};
    bindings[key] ??= [];
    bindings[key].push({ HostIp: p.ip ?? "0.0.0.0", HostPort: p.external !== undefined ? String(p.external) : "" });
  }
  const volumes: Record<string, object> = {};
  const binds: string[] = [];
  const volumesFrom: string[] = [];
  for (const v of c.volumes ?? []) {
    const source = v.hostPath || v.volumeName || "";
    if (v.fromContainer) volumesFrom.push(v.fromContainer);
    else if (!v.containerPath) throw new Error("volume entry without container path or source container");
    else {
      volumes[v.containerPath] = {};
      if (source) binds.push(`${source}:${v.containerPath}:${v.readOnly ? "ro" : "rw"}`);
    }
  }
  let healthcheck: Record<string, unknown> | undefined;
  if (c.healthcheck) {
    const h = c.healthcheck;
    healthcheck = {
      Test: h.tests ?? [],
      Interval: h.interval ? goDurationNs(h.interval) : 0,
      Timeout: h.timeout ? goDurationNs(h.timeout) : 0,
      StartPeriod: h.startPeriod ? goDurationNs(h.startPeriod) : 0,
      StartInterval: h.startInterval ? goDurationNs(h.startInterval) : 0,
      Retries: h.retries ?? 0,
    };
    if (healthcheck.StartInterval !== 0 && !newerOrEqual(apiVersion, "1.44")) {
      throw new ApiVersionError(`"specify health-check start interval" requires API version 1.44, but the Docker daemon API version is ${apiVersion}`);
    }
  }
  return {
    Image: c.image,
    Cmd: c.command,
    Env: c.envs,
    Tty: false,
    OpenStdin: false,
    ...(Object.keys(exposed).length > 0 ? { ExposedPorts: exposed } : {}),
    ...(Object.keys(volumes).length > 0 ? { Volumes: volumes } : {}),
    Labels: Object.fromEntries((c.labels ?? []).map((l) => [l.label, l.value])),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    HostConfig: {
      Privileged: c.privileged ?? false,
      PublishAllPorts: false,
      RestartPolicy: { Name: c.restart ?? "no", MaximumRetryCount: c.maxRetryCount ?? 0 },
      Mounts: [],
      AutoRemove: false,
      ReadonlyRootfs: false,
      LogConfig: { Type: c.logDriver ?? "", ...(c.logOpts ? { Config: c.logOpts } : {}) },
      ...(Object.keys(bindings).length > 0 ? { PortBindings: bindings } : {}),
      ...(binds.length > 0 ? { Binds: binds } : {}),
      ...(volumesFrom.length > 0 ? { VolumesFrom: volumesFrom } : {}),
      Devices: (c.devices ?? []).map((d) => ({
        PathOnHost: d.hostPath,
        PathInContainer: d.containerPath || d.hostPath,
        CgroupPermissions: d.permissions ?? "rwm",
      })),
      ...(c.groupAdds && c.groupAdds.length > 0 ? { GroupAdd: c.groupAdds } : {}),
      Init: c.init ?? false,
    },
  };
}

export interface CreatedContainer {
  id: string;
  startedAt: number;
  /** ms from start to healthy (the provider's `wait` loop), when it waited. */
  healthyAfterMs?: number;
}

/**
 * Creates and starts the container as the provider does (create, start, then with `wait` inspect
 * every second until healthy or `waitTimeout`); throws with the provider's words when not healthy.
 */
export async function createContainer(create: EngineApi, poll: EngineApi, c: RecordedContainer): Promise<CreatedContainer> {
  const body = containerCreateBody(c, create.apiVersion);
  const { Id: id } = await create.json<{ Id: string }>("POST", "/containers/create", { query: { name: c.name }, body });
  await create.json("POST", `/containers/${id}/start`);
  const startedAt = Date.now();
  if (!c.wait) return { id, startedAt };
  const until = startedAt + (c.waitTimeout ?? 60) * 1000;
  for (;;) {
    const info = await poll.json<{ State: { Health?: { Status: string } } }>("GET", `/containers/${id}/json`);
    if (!info.State.Health) throw new Error("you have supplied a 'wait' argument, but the container does not have a healthcheck defined");
    if (info.State.Health.Status === "healthy") return { id, startedAt, healthyAfterMs: Date.now() - startedAt };
    if (Date.now() > until) throw new Error(`container ${c.name} failed to be in healthy state in time (${c.waitTimeout}s)`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Removes a container by name if it exists (force), as a test cleanup. */
export async function removeContainer(api: EngineApi, name: string): Promise<void> {
  const res = await api.request("DELETE", `/containers/${encodeURIComponent(name)}`, { query: { force: true, v: false } });
  if (res.status >= 400 && res.status !== 404) throw new Error(`DELETE /containers/${name}: ${res.status} ${res.body.toString()}`);
}
