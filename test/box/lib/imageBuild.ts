// The box's test runtime image, built on the box's daemon through the Engine API's POST /build over
// the ssh docker host, with the query the docker provider's legacy path sends
// (terraform-provider-docker v4.5.0 resource_docker_registry_image_funcs.go createImageBuildOptions
// -> client.ImageBuild: t, dockerfile, buildargs, labels, rm, forcerm). The context is assembled here
// (test/box/image: Dockerfile, pdm and torch stand-ins; the emulator transpiled to plain node with
// zod beside it) and hashed: the hash is the image's revision (40 hex, the tag), so an unchanged
// context is never rebuilt.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ts from "typescript";
import { type EngineApi, EngineError } from "./engineApi";

const REPO = path.resolve(__dirname, "..", "..", "..");
const IMAGE_SRC = path.join(REPO, "test", "box", "image");

export interface BuildRequest {
  /** `<name>:<revision>`. */
  tag: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  timeoutMs?: number;
}

export interface BuiltImage {
  tag: string;
  id: string;
  /** Whether this call built it (false: the tag was already there). */
  built: boolean;
  buildMs: number;
}

/** Builds `tag` from `contextDir` on the daemon (POST /build, legacy builder); throws with the build's error. */
export async function buildImage(api: EngineApi, contextDir: string, req: BuildRequest): Promise<BuiltImage> {
  const started = Date.now();
  const tar = spawn("tar", ["-C", contextDir, "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", "."], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const res = await api.request("POST", "/build", {
    query: {
      t: req.tag,
      dockerfile: req.dockerfile,
      buildargs: JSON.stringify(req.buildArgs),
      labels: JSON.stringify(req.labels),
      rm: 1,
      forcerm: 1,
      // The provider asks for BuildKit (version 2, with a gRPC session) on API >= 1.39; the box builds
      // with the classic builder (version 1): same endpoint, context and query, no session protocol.
      version: "1",
    },
    body: tar.stdout,
    contentType: "application/x-tar",
    timeoutMs: req.timeoutMs ?? 300_000,
  });
  const lines = res.body
    .toString("utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
  const errors = lines.flatMap((l) => {
    try {
      const m = JSON.parse(l) as { error?: string };
      return m.error ? [m.error] : [];
    } catch {
      return [];
    }
  });
  if (res.status >= 400 || errors.length > 0) {
    throw new EngineError("POST", "/build", res.status, errors.join("; ") || res.body.toString("utf8").slice(0, 500));
  }
  const inspect = await api.json<{ Id: string }>("GET", `/images/${encodeURIComponent(req.tag)}/json`);
  return { tag: req.tag, id: inspect.Id, built: true, buildMs: Date.now() - started };
}

/** The image's id, or undefined when the daemon has no such tag. */
export async function imageIdOf(api: EngineApi, tag: string): Promise<string | undefined> {
  const res = await api.request("GET", `/images/${encodeURIComponent(tag)}/json`);
  if (res.status === 404) return undefined;
  if (res.status >= 400) throw new EngineError("GET", `/images/${tag}/json`, res.status, res.body.toString("utf8"));
  return (JSON.parse(res.body.toString("utf8")) as { Id: string }).Id;
}

function transpileTo(src: string, out: string): void {
  const js = ts.transpileModule(readFileSync(src, "utf8"), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true },
    fileName: src,
  }).outputText;
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, js);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

export interface RuntimeContext {
  dir: string;
  /** sha1 over every file's path, mode and bytes and the base image: 40 hex, the revision/tag. */
  hash: string;
  remove(): void;
}

/** Assembles the runtime image's build context in a temp dir. */
export function runtimeContext(baseImage: string): RuntimeContext {
  const dir = mkdtempSync(path.join(os.tmpdir(), "box-image-"));
  const app = path.join(dir, "app");
  transpileTo(path.join(IMAGE_SRC, "serve.ts"), path.join(app, "box", "image", "serve.js"));
  for (const f of readdirSync(path.join(REPO, "test", "emulator")).filter((f) => f.endsWith(".ts"))) {
    transpileTo(path.join(REPO, "test", "emulator", f), path.join(app, "emulator", f.replace(/\.ts$/, ".js")));
  }
  const zod = path.dirname(require.resolve("zod/package.json"));
  cpSync(zod, path.join(app, "node_modules", "zod"), { recursive: true, filter: (p) => !p.includes(`${path.sep}src`) });
  cpSync(path.join(IMAGE_SRC, "Dockerfile"), path.join(dir, "Dockerfile"));
  cpSync(path.join(IMAGE_SRC, "pdm"), path.join(dir, "pdm"));
  cpSync(path.join(IMAGE_SRC, "torch"), path.join(dir, "torch"), { recursive: true });
  const hash = createHash("sha1").update(`base=${baseImage}\n`);
  for (const f of filesUnder(dir).sort()) {
    hash.update(`${path.relative(dir, f)} ${statSync(f).mode & 0o111 ? "x" : "-"}\n`).update(readFileSync(f));
  }
  return { dir, hash: hash.digest("hex"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
