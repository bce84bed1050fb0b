// The `docker logs` command line `npm run logs` runs on Hemma for one lane. Pure (tested by string
// equality in test/ops/logs.test.ts).
import { remoteWords } from "./remoteShell";

export interface LogsOptions {
  follow: boolean;
  /** docker's --since: a duration (10m, 1h30m) or a timestamp. */
  since?: string;
  /** Lines from the end; undefined: all (within --since). */
  tail?: number;
}

export function logsWords(containerName: string, opts: LogsOptions): string[] {
  return [
    "docker",
    "logs",
    ...(opts.since ? ["--since", opts.since] : []),
    ...(opts.tail !== undefined ? ["--tail", String(opts.tail)] : []),
    ...(opts.follow ? ["--follow"] : []),
    containerName,
  ];
}

/** The remote script: the lane's logs, stderr kept apart (the service logs to stderr). */
export function logsScript(containerName: string, opts: LogsOptions): string {
  return `exec ${remoteWords(logsWords(containerName, opts))}`;
}

/** docker --since takes Go durations (10m, 1h30m, 45s) or RFC 3339 / Unix timestamps. */
export const SINCE_PATTERN = /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$|^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?$|^\d+(\.\d+)?$/;
