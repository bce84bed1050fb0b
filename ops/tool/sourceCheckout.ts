// Reads the source checkout's HEAD commit for the tools that must know which revision a build would
// use (deploy resolves it; rollback checks it before a rebuild), through the project's one git HEAD
// reader (lib/git.ts), with the tools' error and hint when it cannot.
import { readHead } from "../../lib/git";
import type { OpsContext } from "./context";
import { OpsError } from "./error";
import { tail, which } from "./runCommand";

export async function checkoutHead(dir: string, ctx: Pick<OpsContext, "env">): Promise<string> {
  const git = which("git", ctx.env);
  if (!git) throw new OpsError("git was not found on PATH", "install git");
  try {
    return readHead(dir, { git, env: ctx.env });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? (err as Error).message ?? "");
    throw new OpsError(
      `could not read HEAD of the source checkout ${dir}:\n    ${tail(stderr)}`,
      "clone the service repository there, or point config source.path at your checkout",
    );
  }
}
