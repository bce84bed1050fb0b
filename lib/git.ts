// Facts about a local git checkout (HEAD commit, uncommitted changes), read with the git CLI.
import { execFileSync } from "child_process";

export interface CheckoutState {
  head: string;
  dirty: boolean;
  /** `git status --porcelain` lines, for the error message when the tree is dirty. */
  changes: string[];
}

function git(dir: string, args: string[]): string {
  return execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Reads HEAD and the dirty state of `dir`; throws with git's own message when it is not a checkout. */
export function readCheckoutState(dir: string): CheckoutState {
  const head = git(dir, ["rev-parse", "--verify", "HEAD^{commit}"]).trim();
  const changes = git(dir, ["status", "--porcelain", "--untracked-files=normal"])
    .split("\n")
    .filter((line) => line.length > 0);
  return { head, dirty: changes.length > 0, changes };
}
