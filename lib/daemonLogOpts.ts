// The lanes' log-opts and the preview-time check for the daemon's own defaults. The docker
// provider (terraform-provider-docker v4.5.0, resource_docker_container_funcs.go) stores the
// log_opts docker inspect reports after a create, and `log_opts` is ForceNew. A daemon whose
// daemon.json sets default log-opts adds them to every container's report, so unless the stack
// declares them too (config `container.daemonLogOpts`), every `pulumi up` plans to replace both
// lanes. `npm run preview` / `npm run deploy` compare the running lanes with the declaration.
import { shellQuote } from "./shellQuote";

/** The log-opts a lane declares: the daemon's defaults overlaid with the stack's rotation. */
export function laneLogOpts(daemonLogOpts: Record<string, string>, logMaxSize: string, logMaxFiles: number): Record<string, string> {
  return { ...daemonLogOpts, "max-size": logMaxSize, "max-file": String(logMaxFiles) };
}

/** Reported log-opts the declaration lacks (those the daemon filled in). */
export function undeclaredLogOpts(declared: Record<string, string>, reported: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(reported).filter(([k]) => !(k in declared)));
}

/** Runs docker against the stack's daemon (ops/hemma/docker.ts DockerExec fits). */
export interface DockerRunner {
  where: string;
  run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

export interface LogOptsDrift {
  /** Containers (by name) whose reported log-opts include undeclared keys. */
  containers: string[];
  /** The undeclared keys and the values docker reports for them. */
  undeclared: Record<string, string>;
}

/** Reads each running lane's log config and returns what the stack would keep replacing, if anything. */
export async function findLogOptsDrift(docker: DockerRunner, containerNames: string[], declared: Record<string, string>): Promise<LogOptsDrift | undefined> {
  const drift: LogOptsDrift = { containers: [], undeclared: {} };
  for (const name of containerNames) {
    const res = await docker.run(["container", "inspect", "--format", "{{json .HostConfig.LogConfig}}", name]);
    // Not there yet (first deploy, or a disabled lane): nothing stored, nothing to compare.
    if (res.code !== 0 && /no such (container|object)/i.test(res.stderr)) continue;
    if (res.code !== 0) throw new Error(`docker container inspect ${name} (${docker.where}) failed with exit code ${res.code}: ${res.stderr.trim()}`);
    const text = res.stdout.trim();
    if (text === "") continue;
    const reported = (JSON.parse(text) as { Config?: Record<string, string> | null }).Config ?? {};
    const extra = undeclaredLogOpts(declared, reported);
    if (Object.keys(extra).length === 0) continue;
    drift.containers.push(name);
    Object.assign(drift.undeclared, extra);
  }
  return drift.containers.length > 0 ? drift : undefined;
}

/** The `error:` text and the `what to do:` hint for a drift. */
export function describeLogOptsDrift(drift: LogOptsDrift, namespace: string): { message: string; hint: string } {
  const pairs = Object.entries(drift.undeclared);
  return {
    message:
      `the docker daemon adds default log-opts to ${drift.containers.join(", ")} that the stack does not declare ` +
      `(${pairs.map(([k, v]) => `${k}=${v}`).join(", ")}); logOpts forces replacement, so every pulumi up would replace the lanes`,
    hint:
      `declare them (${pairs.map(([k, v]) => `npx pulumi config set --path ${shellQuote(`${namespace}:container.daemonLogOpts.${k}`)} ${shellQuote(v)}`).join("; ")}), ` +
      `or remove "log-opts" from /etc/docker/daemon.json on the docker host; then preview again`,
  };
}

/** The config facts the check needs (ParsedConfig / OpsConfig fit). */
export interface LogOptsConfig {
  lanes: Record<string, { enabled: boolean; containerName: string }>;
  container: { logMaxSize: string; logMaxFiles: number; daemonLogOpts: Record<string, string> };
}

/**
 * The preview-time check over the stack's enabled lanes: undefined when an unchanged stack plans
 * no log-opts replacement, else the `error:` / `what to do:` texts.
 */
export async function checkDaemonLogOpts(docker: DockerRunner, cfg: LogOptsConfig, namespace: string): Promise<{ message: string; hint: string } | undefined> {
  const names = Object.values(cfg.lanes)
    .filter((l) => l.enabled)
    .map((l) => l.containerName);
  const declared = laneLogOpts(cfg.container.daemonLogOpts, cfg.container.logMaxSize, cfg.container.logMaxFiles);
  let drift: LogOptsDrift | undefined;
  try {
    drift = await findLogOptsDrift(docker, names, declared);
  } catch (err) {
    return {
      message: `could not read the lanes' log config on the docker host: ${(err as Error).message}`,
      hint: `check that \`${docker.where}\` can run docker container inspect`,
    };
  }
  return drift ? describeLogOptsDrift(drift, namespace) : undefined;
}
