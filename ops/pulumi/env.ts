// The environment every pulumi run of the tools gets: the operator's shell settings that would
// silently send the docker provider, its buildx builder, the pinned CLI version or the state
// elsewhere are neutralised (stripped, with a note) or refused, and the state backend is passed as
// an absolute URL so it never depends on the directory pulumi runs in.
//
// Sources (read at the pinned versions):
// - terraform-provider-docker v4.5.0 internal/provider/provider.go: `context` defaults from
//   DOCKER_CONTEXT and "overrides the host if set" (configure(): getContextHost), `host` defaults
//   from DOCKER_HOST, `ssh_opts` from DOCKER_SSH_OPTS; docker_buildx_build.go
//   ResolveBuilderLikeBuildx: BUILDX_BUILDER picks the builder, else the docker CLI's current
//   context/endpoint (DOCKER_CONTEXT / DOCKER_HOST of this process).
// - pulumi v3.248.0 pkg/workspace/creds.go GetCurrentCloudURL: PULUMI_BACKEND_URL wins over
//   Pulumi.yaml backend.url; pkg/backend/diy/backend.go (file:// URLs): a relative path is made
//   absolute with filepath.Abs, i.e. against the CLI's working directory.
// - pulumi npm launcher 3.265.0 node_modules/pulumi/lib/resolve.js: PULUMI_VERSION replaces the
//   pinned version.
import * as fs from "node:fs";
import * as path from "node:path";
import { OpsError } from "../tool/error";

/** Variables stripped from pulumi's environment, and why each one would do harm. */
export const NEUTRALISED_VARIABLES: Record<string, string> = {
  DOCKER_HOST: "the docker provider and its buildx builder would talk to that daemon instead of config dockerHost",
  DOCKER_CONTEXT: "the docker provider's `context` overrides its host, and buildx would build on that context",
  DOCKER_SSH_OPTS: "the docker provider would use these ssh options instead of config sshOpts",
  BUILDX_BUILDER: "the image build would run on that buildx builder instead of the stack's docker host",
  PULUMI_VERSION: "the pulumi launcher would run that CLI version instead of the pinned one",
};

const BACKEND_URL_VAR = "PULUMI_BACKEND_URL";

/** Pulumi.yaml's backend.url, or undefined when the project names none. */
export function projectBackendSetting(projectDir: string): string | undefined {
  const file = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(file)) return undefined;
  // js-yaml ships with @pulumi/pulumi.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require("js-yaml") as { load(text: string): unknown };
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as { backend?: { url?: unknown } } | null;
  const url = doc?.backend?.url;
  return typeof url === "string" && url.trim() ? url.trim() : undefined;
}

/**
 * The backend URL with a relative file:// path made absolute against the project directory
 * (pulumi itself would resolve it against its working directory). `file://~` and non-file URLs
 * are returned unchanged.
 */
export function absoluteBackendUrl(url: string, projectDir: string): string {
  if (!url.startsWith("file://")) return url;
  const rest = url.slice("file://".length);
  const [p, query] = rest.split("?", 2);
  if (p.startsWith("~") || path.isAbsolute(p)) return url;
  return `file://${path.resolve(projectDir, p)}${query === undefined ? "" : `?${query}`}`;
}

/** The project's state backend as an absolute URL, or undefined when Pulumi.yaml names none. */
export function projectBackendUrl(projectDir: string): string | undefined {
  const setting = projectBackendSetting(projectDir);
  return setting === undefined ? undefined : absoluteBackendUrl(setting, projectDir);
}

/** The local directory of a file:// backend, else undefined. */
export function fileBackendDir(url: string | undefined): string | undefined {
  if (!url?.startsWith("file://")) return undefined;
  const p = url.slice("file://".length).split("?")[0];
  return path.isAbsolute(p) ? p : undefined;
}

export interface PulumiEnvironment {
  env: NodeJS.ProcessEnv;
  /** One line per neutralised variable, for the operator. */
  notes: string[];
  backendUrl?: string;
}

/** A URL's password (`scheme://user:password@host`) replaced with ***, for messages. */
export function withoutPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, "$1:***@");
}

export function pulumiEnvironment(env: NodeJS.ProcessEnv, projectDir: string): PulumiEnvironment {
  const out: NodeJS.ProcessEnv = { ...env };
  const notes: string[] = [];
  for (const [name, why] of Object.entries(NEUTRALISED_VARIABLES)) {
    if (out[name] === undefined) continue;
    delete out[name];
    notes.push(`note: ignoring ${name}=${withoutPassword(env[name] ?? "")} from this shell: ${why} (unset it to silence this note)`);
  }
  const backendUrl = projectBackendUrl(projectDir);
  const stray = env[BACKEND_URL_VAR];
  if (stray !== undefined && stray !== "" && stray !== backendUrl) {
    throw new OpsError(
      `${BACKEND_URL_VAR}=${withoutPassword(stray)} is set in this shell; pulumi would read and write the stack's state there instead of ${backendUrl ?? "the backend in Pulumi.yaml"}`,
      `unset ${BACKEND_URL_VAR} (\`unset ${BACKEND_URL_VAR}\`); to move the state to another backend change backend.url in Pulumi.yaml (README, State and secrets)`,
    );
  }
  if (backendUrl !== undefined) out[BACKEND_URL_VAR] = backendUrl;
  else delete out[BACKEND_URL_VAR];
  return { env: out, notes, backendUrl };
}
