// Reads the lock files the pulumi file backend keeps while an update runs, so a tool can tell
// whether an update may still be running before it touches the stack's config.
//
// pulumi v3.248.0 pkg/backend/diy/lock.go: Update() takes Lock() for its whole run and writes
// <backend>/.pulumi/locks/<fully qualified stack>/<lock id>.json = {pid, username, hostname,
// timestamp}; Unlock() deletes it when the CLI ends (a killed CLI leaves it behind). The stack's
// fully qualified name in project mode is organization/<project>/<stack>.
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { fileBackendDir } from "./env";

const lockSchema = z.object({ pid: z.number(), username: z.string(), hostname: z.string(), timestamp: z.string() });
export type BackendLock = z.infer<typeof lockSchema> & { file: string };

export function stackLockDirs(backendDir: string, project: string, stack: string): string[] {
  const locks = path.join(backendDir, ".pulumi", "locks");
  return [path.join(locks, "organization", project, stack), path.join(locks, stack)];
}

/** Every lock of `stack` in a file backend; [] for a non-file backend or when none is held. */
export function stackLocks(backendUrl: string | undefined, project: string, stack: string): BackendLock[] {
  const dir = fileBackendDir(backendUrl);
  if (!dir) return [];
  const found: BackendLock[] = [];
  for (const d of stackLockDirs(dir, project, stack)) {
    if (!fs.existsSync(d)) continue;
    for (const name of fs.readdirSync(d)) {
      const file = path.join(d, name);
      if (!name.endsWith(".json") || !fs.statSync(file).isFile()) continue;
      let parsed: ReturnType<typeof lockSchema.safeParse> | undefined;
      try {
        parsed = lockSchema.safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
      } catch {
        parsed = undefined;
      }
      found.push(parsed?.success ? { ...parsed.data, file } : { pid: 0, username: "?", hostname: "?", timestamp: "?", file });
    }
  }
  return found;
}

export function describeLock(l: BackendLock): string {
  return `${l.username}@${l.hostname} (pid ${l.pid}) since ${l.timestamp}`;
}
