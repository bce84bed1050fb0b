// Reads the source checkout's HEAD commit with git, for the tools that must know which revision
// a build would use (deploy resolves it; rollback checks it before a rebuild).
import { OpsContext } from "./context";
import { OpsError } from "./error";
import { runCommand, tail, which } from "./runCommand";

export async function checkoutHead(dir: string, ctx: Pick<OpsContext, "env">): Promise<string> {
  const git = which("git", ctx.env);
  if (!git) throw new OpsError("git was not found on PATH", "install git");
  const res = await runCommand(git, ["-C", dir, "rev-parse", "--verify", "HEAD^{commit}"], { env: ctx.env });
  if (res.code !== 0) {
    throw new OpsError(`could not read HEAD of the source checkout ${dir}:\n    ${tail(res.stderr)}`, "clone the service repository there, or point config source.path at your checkout");
  }
  return res.stdout.trim();
}
