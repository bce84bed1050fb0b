// Runs docker commands against Hemma's daemon: over `ssh <host> -- docker ...` when dockerHost
// is ssh:// (the default), else with the local `docker -H <dockerHost>`. Parses the JSON lines
// docker prints and classifies failures (ssh unreachable, no permission, no such image).
import { z } from "zod";
import { remoteCommand, sshBaseArgs, sshTargetFromDockerHost, isSshUrl } from "./hemmaSsh";
import { OpsContext } from "./opsContext";
import { OpsError } from "./opsError";
import { runCommand, RunResult, tail, which } from "./runCommand";

export interface DockerExec {
  /** Human description of where docker runs, e.g. "ssh hemma". */
  where: string;
  run(args: string[]): Promise<RunResult>;
}

export function dockerExecFor(dockerHost: string, sshOpts: string[], ctx: Pick<OpsContext, "env">): DockerExec {
  if (isSshUrl(dockerHost)) {
    const target = sshTargetFromDockerHost(dockerHost, sshOpts);
    return {
      where: `ssh ${target.destination}`,
      run: async (args) => {
        const ssh = which("ssh", ctx.env);
        if (!ssh) throw new OpsError("ssh was not found on PATH", "install an OpenSSH client");
        return runCommand(ssh, [...sshBaseArgs(target, ["-o", "BatchMode=yes"]), "--", remoteCommand(["docker", ...args])], { env: ctx.env });
      },
    };
  }
  return {
    where: `docker -H ${dockerHost}`,
    run: async (args) => {
      const docker = which("docker", ctx.env);
      if (!docker) throw new OpsError("the docker CLI was not found on PATH", `install it, or set dockerHost to an ssh:// URL`);
      return runCommand(docker, ["-H", dockerHost, ...args], { env: ctx.env });
    },
  };
}

function failure(d: DockerExec, args: string[], res: RunResult): OpsError {
  const detail = tail(res.stderr || res.stdout);
  const cmd = `docker ${args.slice(0, 2).join(" ")}`;
  if (d.where.startsWith("ssh ") && res.code === 255) {
    return new OpsError(`could not reach Hemma (${d.where}) to run ${cmd}:\n    ${detail}`, `check that \`${d.where} true\` works without a password prompt (key in ssh-agent, host alias in ~/.ssh/config)`);
  }
  if (res.code === 127) {
    return new OpsError(`docker was not found on Hemma (${d.where}): ${detail}`, "install docker on Hemma, or make it available on the PATH of non-interactive ssh sessions");
  }
  if (/permission denied/i.test(detail) && /docker/i.test(detail)) {
    return new OpsError(`${cmd} on Hemma was refused:\n    ${detail}`, "add the ssh user to the docker group on Hemma (`sudo usermod -aG docker $USER`, then log in again)");
  }
  return new OpsError(`${cmd} on Hemma (${d.where}) failed with exit code ${res.code}:\n    ${detail}`, "run the same docker command on Hemma by hand to see why");
}

const NO_SUCH = /no such (image|object)/i;

/** The image ID of `ref` on Hemma, or null when the image is not there. */
export async function inspectImage(d: DockerExec, ref: string): Promise<string | null> {
  const args = ["image", "inspect", "--format", "{{.Id}}", ref];
  const res = await d.run(args);
  if (res.code === 0) return res.stdout.trim();
  if (res.code !== 255 && NO_SUCH.test(res.stderr)) return null;
  throw failure(d, args, res);
}

const imageRowSchema = z.object({ Repository: z.string(), Tag: z.string(), ID: z.string(), CreatedAt: z.string().optional(), Size: z.string().optional() });
export type ImageRow = z.infer<typeof imageRowSchema>;

function jsonLines<T>(text: string, schema: z.ZodType<T>, what: string): T[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((line) => {
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        throw new OpsError(`${what} printed a line that is not JSON: ${line.slice(0, 120)}`, "check the docker version on Hemma (needs --format '{{json .}}' support, docker 17.06+)");
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw new OpsError(`${what} printed an unexpected row: ${line.slice(0, 120)}`, "check the docker version on Hemma");
      return parsed.data;
    });
}

/** Every local image of `repository` on Hemma, with full IDs. */
export async function listImages(d: DockerExec, repository: string): Promise<ImageRow[]> {
  const args = ["image", "ls", "--no-trunc", "--format", "{{json .}}", repository];
  const res = await d.run(args);
  if (res.code !== 0) throw failure(d, args, res);
  return jsonLines(res.stdout, imageRowSchema, "docker image ls");
}

const psRowSchema = z.object({ ID: z.string(), Image: z.string(), Names: z.string(), State: z.string().optional() });

export interface ContainerUse {
  name: string;
  state: string;
  /** What the container was created from, as docker ps shows it (a name:tag or an ID). */
  imageRef: string;
  /** The full image ID from docker container inspect. */
  imageId: string;
}

/** Every container on Hemma (running or not) and the image it uses. */
export async function listContainers(d: DockerExec): Promise<ContainerUse[]> {
  const psArgs = ["ps", "-a", "--no-trunc", "--format", "{{json .}}"];
  const ps = await d.run(psArgs);
  if (ps.code !== 0) throw failure(d, psArgs, ps);
  const rows = jsonLines(ps.stdout, psRowSchema, "docker ps");
  if (rows.length === 0) return [];
  const inspectArgs = ["container", "inspect", "--format", "{{.Id}} {{.Image}}", ...rows.map((r) => r.ID)];
  const inspect = await d.run(inspectArgs);
  if (inspect.code !== 0) throw failure(d, inspectArgs, inspect);
  const imageIdOf = new Map<string, string>();
  for (const line of inspect.stdout.split("\n")) {
    const [id, image] = line.trim().split(/\s+/);
    if (id && image) imageIdOf.set(id, image);
  }
  return rows.map((r) => ({ name: r.Names, state: r.State ?? "unknown", imageRef: r.Image, imageId: imageIdOf.get(r.ID) ?? "" }));
}

/** `docker image rm <ref>` (never forced: docker itself refuses an image a container uses). */
export async function removeImage(d: DockerExec, ref: string): Promise<void> {
  const args = ["image", "rm", ref];
  const res = await d.run(args);
  if (res.code !== 0) throw failure(d, args, res);
}
