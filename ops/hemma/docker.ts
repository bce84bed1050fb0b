// Runs docker commands against Hemma's daemon: over `ssh <host> -- docker ...` when dockerHost
// is ssh:// (the default), else with the local `docker -H <dockerHost>`. Parses the JSON lines
// docker prints and classifies failures (ssh unreachable, no permission, no such image). Image
// checks read the image's OCI revision label, so a tag that holds another commit's build is caught.

import { z } from "zod";
import * as commands from "../../lib/commands/docker";
import { sshCommandLine } from "../../lib/commands/ssh";
import { LABEL_REVISION as REVISION_LABEL } from "../../lib/projectFacts";
import { shellJoin } from "../../lib/shellQuote";
import type { OpsContext } from "../tool/context";
import { OpsError } from "../tool/error";
import { type RunResult, runCommand, tail, which } from "../tool/runCommand";
import { isSshUrl, runOnHemma, sshTargetFromDockerHost } from "./ssh";

export interface DockerExec {
  /** Human description of where docker runs, e.g. "ssh hemma". */
  where: string;
  /** The command line an operator can paste to run `docker <words>` there. */
  commandLine(words: string[]): string;
  run(args: string[]): Promise<RunResult>;
}

export function dockerExecFor(dockerHost: string, sshOpts: string[], ctx: Pick<OpsContext, "env">): DockerExec {
  if (isSshUrl(dockerHost)) {
    const target = sshTargetFromDockerHost(dockerHost, sshOpts);
    return {
      where: `ssh ${target.destination}`,
      commandLine: (words) => sshCommandLine(target, ["docker", ...words]),
      run: (args) => runOnHemma(target, ["docker", ...args], ctx),
    };
  }
  return {
    where: `docker -H ${dockerHost}`,
    commandLine: (words) => shellJoin(["docker", "-H", dockerHost, ...words]),
    run: async (args) => {
      const docker = which("docker", ctx.env);
      if (!docker) throw new OpsError("the docker CLI was not found on PATH", `install it, or set dockerHost to an ssh:// URL`);
      return runCommand(docker, ["-H", dockerHost, ...args], { env: ctx.env });
    },
  };
}

/** The command an operator types to run `docker <words>` where the tools do. */
export function dockerCommandLine(d: DockerExec, words: string[]): string {
  return d.commandLine(words);
}

function failure(d: DockerExec, args: string[], res: RunResult): OpsError {
  const detail = tail(res.stderr || res.stdout);
  const cmd = `docker ${args.slice(0, 2).join(" ")}`;
  if (d.where.startsWith("ssh ") && res.code === 255) {
    return new OpsError(
      `could not reach Hemma (${d.where}) to run ${cmd}:\n    ${detail}`,
      `check that \`${d.where} true\` works without a password prompt (key in ssh-agent, host alias in ~/.ssh/config)`,
    );
  }
  if (res.code === 127) {
    return new OpsError(
      `docker was not found on Hemma (${d.where}): ${detail}`,
      "install docker on Hemma, or make it available on the PATH of non-interactive ssh sessions",
    );
  }
  if (/permission denied/i.test(detail) && /docker/i.test(detail)) {
    return new OpsError(
      `${cmd} on Hemma was refused:\n    ${detail}`,
      "add the ssh user to the docker group on Hemma (`sudo usermod -aG docker $USER`, then log in again)",
    );
  }
  return new OpsError(
    `${cmd} on Hemma (${d.where}) failed with exit code ${res.code}:\n    ${detail}`,
    "run the same docker command on Hemma by hand to see why",
  );
}

const NO_SUCH = /no such (image|object)/i;

/** The OCI label the build puts on the runtime image (components/runtimeImage.ts): the commit it was built from. */
export { REVISION_LABEL };

export interface ImageInfo {
  id: string;
  /** The image's org.opencontainers.image.revision label, when it has one. */
  revisionLabel?: string;
}

const INSPECT_FORMAT = "{{.Id}} {{json .Config.Labels}}";

function parseInspectLine(line: string): ImageInfo {
  const space = line.indexOf(" ");
  const id = space < 0 ? line : line.slice(0, space);
  let labels: unknown = null;
  try {
    labels = space < 0 ? null : JSON.parse(line.slice(space + 1));
  } catch {
    labels = null;
  }
  const value = labels !== null && typeof labels === "object" ? (labels as Record<string, unknown>)[REVISION_LABEL] : undefined;
  return { id, revisionLabel: typeof value === "string" && value ? value : undefined };
}

/** ID and revision label of `ref` on Hemma, or null when the image is not there. */
export async function inspectImage(d: DockerExec, ref: string): Promise<ImageInfo | null> {
  const args = commands.imageInspect(INSPECT_FORMAT, [ref]);
  const res = await d.run(args);
  if (res.code === 0) return parseInspectLine(res.stdout.trim());
  if (res.code !== 255 && NO_SUCH.test(res.stderr)) return null;
  throw failure(d, args, res);
}

/** ID and revision label of several images at once (one docker call), keyed by full image ID. */
export async function inspectImagesById(d: DockerExec, ids: string[]): Promise<Map<string, ImageInfo>> {
  const found = new Map<string, ImageInfo>();
  if (ids.length === 0) return found;
  const args = commands.imageInspect(INSPECT_FORMAT, ids);
  const res = await d.run(args);
  // docker prints what it found and fails for the rest (an image removed meanwhile): keep what came back.
  if (res.code !== 0 && !(res.code !== 255 && NO_SUCH.test(res.stderr))) throw failure(d, args, res);
  for (const line of res.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)) {
    const info = parseInspectLine(line);
    found.set(info.id, info);
  }
  return found;
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
        throw new OpsError(
          `${what} printed a line that is not JSON: ${line.slice(0, 120)}`,
          "check the docker version on Hemma (needs --format '{{json .}}' support, docker 17.06+)",
        );
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw new OpsError(`${what} printed an unexpected row: ${line.slice(0, 120)}`, "check the docker version on Hemma");
      return parsed.data;
    });
}

/** Every local image of `repository` on Hemma, with full IDs. */
export async function listImages(d: DockerExec, repository: string): Promise<ImageRow[]> {
  const args = commands.imageList(repository);
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
  const psArgs = commands.containerList();
  const ps = await d.run(psArgs);
  if (ps.code !== 0) throw failure(d, psArgs, ps);
  const rows = jsonLines(ps.stdout, psRowSchema, "docker ps");
  if (rows.length === 0) return [];
  const inspectArgs = commands.containerImageIds(rows.map((r) => r.ID));
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
  const args = commands.imageRemove(ref);
  const res = await d.run(args);
  if (res.code !== 0) throw failure(d, args, res);
}
