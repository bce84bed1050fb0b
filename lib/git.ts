// Facts about a local git checkout (HEAD commit, uncommitted changes), read with the git CLI: the
// one git HEAD reader of the project (the program's config check and the operator tools' deploy
// and rollback both use readHead).
import { execFileSync } from "node:child_process";

export interface CheckoutState {
  head: string;
  dirty: boolean;
  /** `git status --porcelain` lines, for the error message when the tree is dirty. */
  changes: string[];
}

export interface GitOptions {
  /** The git binary (default: `git` on the PATH of env). */
  git?: string;
  env?: NodeJS.ProcessEnv;
}

/** The git command line that prints the commit HEAD of `dir` points at (fails when there is none). */
export function headArgs(dir: string): string[] {
  return ["-C", dir, "rev-parse", "--verify", "HEAD^{commit}"];
}

function git(args: string[], opts: GitOptions): string {
  return execFileSync(opts.git ?? "git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: opts.env ?? process.env });
}

/** HEAD's commit id in `dir`; throws git's error (its stderr on `.stderr`) when it is not a checkout. */
export function readHead(dir: string, opts: GitOptions = {}): string {
  return git(headArgs(dir), opts).trim();
}

/** Reads HEAD and the dirty state of `dir`; throws with git's own message when it is not a checkout. */
export function readCheckoutState(dir: string, opts: GitOptions = {}): CheckoutState {
  const head = readHead(dir, opts);
  const changes = git(["-C", dir, "status", "--porcelain", "--untracked-files=normal"], opts)
    .split("\n")
    .filter((line) => line.length > 0);
  return { head, dirty: changes.length > 0, changes };
}
