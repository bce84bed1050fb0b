// The remote script `npm run logs` runs on Hemma for one lane: the docker logs command line of
// lib/commands/docker.ts, exec'd. Pure (tested by string equality in test/ops/logs.test.ts).
import { type LogsOptions, logs, SINCE_PATTERN } from "../../lib/commands/docker";
import { remoteWords } from "./remoteShell";

export type { LogsOptions };
export { SINCE_PATTERN };

export function logsWords(containerName: string, opts: LogsOptions): string[] {
  return ["docker", ...logs(containerName, opts)];
}

/** The remote script: the lane's logs, stderr kept apart (the service logs to stderr). */
export function logsScript(containerName: string, opts: LogsOptions): string {
  return `exec ${remoteWords(logsWords(containerName, opts))}`;
}
