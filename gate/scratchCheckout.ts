// A throwaway git checkout standing in for the service repository, for running the program
// offline (tests, the policy gate) where the real checkout is not present.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface ScratchCheckout {
  dir: string;
  head: string;
  remove(): void;
}

export function createScratchCheckout(prefix = "sir-convert-a-lot-src-"): ScratchCheckout {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "scratch",
    GIT_AUTHOR_EMAIL: "scratch@localhost",
    GIT_COMMITTER_NAME: "scratch",
    GIT_COMMITTER_EMAIL: "scratch@localhost",
    GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
    GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
  };
  const git = (...args: string[]) => execFileSync("git", ["-C", dir, ...args], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  git("init", "--quiet", "--initial-branch=main");
  fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM python:3.11-slim\n");
  git("add", "Dockerfile");
  git("commit", "--quiet", "--no-gpg-sign", "-m", "scratch checkout");
  return { dir, head: git("rev-parse", "HEAD"), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
