// Scaffolding for the operator-surface tests (status, logs, doctor): the ops sandbox (fake pulumi
// and ssh, test/ops/helpers.ts) with the fake ssh in shell mode, so the remote script runs in a
// real /bin/sh whose PATH holds test/bin's fake docker and rocm-smi, answering from a
// FAKE_DOCKER_CONFIG written here.
import * as fs from "node:fs";
import * as path from "node:path";
import { imageId, makeSandbox, NS, REPO_ROOT, type Sandbox, SHA, stackConfig } from "./helpers";

export const HEMMA_BIN = path.join(REPO_ROOT, "test", "bin");
/** Hemma-only fakes (find, ss, df) that must not shadow the real ones for the local side. */
export const HEMMA_ONLY_BIN = path.join(REPO_ROOT, "test", "ops", "bin", "hemma");
export const RUNTIME = "sir-convert-a-lot-runtime";
export const STACK_IMAGE = imageId(3);

export function laneOutputs() {
  return {
    prod: { containerName: "sir_convert_a_lot_prod", profile: "prod", url: "http://127.0.0.1:28085", hostPort: 28085, localPort: 18085 },
    eval: { containerName: "sir_convert_a_lot_eval", profile: "eval", url: "http://127.0.0.1:28086", hostPort: 28086, localPort: 18086 },
  };
}

/** A lane container as Hemma's docker reports it when it is what the stack recorded. */
export function healthyContainer(lane: "prod" | "eval", overrides: Record<string, unknown> = {}) {
  const port = lane === "prod" ? 8085 : 8086;
  return {
    running: true,
    health: "healthy",
    startedAt: "2026-03-01T10:00:00.000000000Z",
    restartCount: 0,
    imageId: STACK_IMAGE,
    labels: { "org.sir-convert-a-lot.lane": lane, "org.opencontainers.image.revision": SHA.C },
    ports: { [`${port}/tcp`]: { HostIp: "127.0.0.1", HostPort: String(port + 20000) } },
    ...overrides,
  };
}

export interface SurfaceSandbox extends Sandbox {
  dockerConfigFile: string;
  setDocker(config: Record<string, unknown>): void;
}

export function makeSurfaceSandbox(docker: Record<string, unknown>, pulumiExtra: Record<string, unknown> = {}): SurfaceSandbox {
  const sb = makeSandbox({
    config: stackConfig(SHA.C),
    outputs: { revision: SHA.C, image: { name: `${RUNTIME}:${SHA.C}`, id: STACK_IMAGE }, lanes: laneOutputs(), apiKey: "k".repeat(32) },
    history: [],
    ...pulumiExtra,
  });
  for (const f of fs.readdirSync(HEMMA_BIN)) fs.chmodSync(path.join(HEMMA_BIN, f), 0o755);
  const dockerConfigFile = path.join(sb.dir, "docker-config.json");
  const setDocker = (config: Record<string, unknown>) => fs.writeFileSync(dockerConfigFile, JSON.stringify(config));
  setDocker(docker);
  sb.env.FAKE_DOCKER_CONFIG = dockerConfigFile;
  sb.env.FAKE_DOCKER_LOG = path.join(sb.dir, "docker-log.jsonl");
  sb.env.FAKE_HEMMA_PATH = `${HEMMA_ONLY_BIN}${path.delimiter}${HEMMA_BIN}${path.delimiter}/usr/bin${path.delimiter}/bin`;
  return { ...sb, dockerConfigFile, setDocker };
}

export { imageId, NS, SHA };
