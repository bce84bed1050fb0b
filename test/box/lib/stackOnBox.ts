// The stack on the box: committed config pointed at the box (dockerHost, sshOpts, the box image's
// revision, a known API key as a secret, evidence under a temp dir), the real index.ts's docker
// registrations turned into Engine API calls (volumes, then the lanes, created as the provider
// does), exec inside a lane, and cleanup.
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { RecordedResource } from "../../../gate/mockRun";
import { committedConfig, NS, PROGRAM_DIR, type StackRun, type StackRunOptions } from "../../harness/stack";
import type { Box } from "./box";
import { type CreatedContainer, createContainer, type RecordedContainer, removeContainer } from "./containerMapping";
import type { EngineApi } from "./engineApi";
import type { BoxImage } from "./runtimeImage";

export const BOX_API_KEY = "box-api-key-0123456789abcdef0123456789abcdef";
const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";

/** runStack options for the committed stack on the box (image present: build=false). */
export function boxStackOptions(box: Box, image: BoxImage, evidenceRoot: string, set: Record<string, unknown> = {}): StackRunOptions {
  const committed = committedConfig();
  const imageConfig = { ...JSON.parse(committed[`${NS}:image`] ?? "{}"), build: false };
  const verification = { ...JSON.parse(committed[`${NS}:verification`] ?? "{}"), evidenceRoot };
  return {
    set: { dockerHost: box.dockerHost, sshOpts: box.sshOpts, revision: image.revision, image: imageConfig, apiKey: BOX_API_KEY, verification, ...set },
    secretKeys: ["apiKey"],
  };
}

/** Raw stack config (as committedConfig gives it) in `pulumi config --json` form, the API key a secret. */
export function pulumiConfigJson(raw: Record<string, string>): Record<string, { value: string; objectValue?: unknown; secret: boolean }> {
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]) => {
      if (k.endsWith(":apiKey")) return [k, { value: BOX_API_KEY, secret: true }];
      let objectValue: unknown;
      try {
        const parsed = JSON.parse(v);
        if (typeof parsed === "object" && parsed !== null) objectValue = parsed;
      } catch {
        // a plain string value
      }
      return [k, objectValue !== undefined ? { value: v, objectValue, secret: false } : { value: v, secret: false }];
    }),
  );
}

/**
 * Writes Pulumi.<stack>.yaml naming the box (dockerHost, sshOpts): the operator lock
 * (ops/hemmaLock.ts) finds Hemma there, as the real CLI's config lives there, while the faked CLI
 * serves config from its state. Returns the path (git-ignored; the caller removes it).
 */
export function writeBoxStackFile(stack: string, config: Record<string, { value?: string; objectValue?: unknown }>): string {
  const file = path.join(PROGRAM_DIR, `Pulumi.${stack}.yaml`);
  const sshOpts = (config[`${NS}:sshOpts`]?.objectValue as string[] | undefined) ?? [];
  writeFileSync(
    file,
    `config:\n  ${NS}:dockerHost: ${JSON.stringify(config[`${NS}:dockerHost`]?.value)}\n  ${NS}:sshOpts:\n${sshOpts.map((o) => `    - ${JSON.stringify(o)}`).join("\n")}\n`,
  );
  return file;
}

/** The lanes' container inputs as recorded, with the box image's real id for the mock's image id. */
export function laneContainers(run: StackRun, image: BoxImage): Array<{ resource: RecordedResource; inputs: RecordedContainer }> {
  return run.ofType(CONTAINER).map((resource) => ({ resource, inputs: { ...(run.plain(resource) as RecordedContainer), image: image.id } }));
}

/**
 * The box's dockerd 20.10 speaks API 1.41, where the provider's client refuses a healthcheck
 * StartInterval (containerMapping.ts); the box drops that one field so the rest of the declared
 * container can be exercised. On such a daemon the real `pulumi up` fails at this point instead.
 */
export function withoutStartIntervalBelow144(c: RecordedContainer, api: EngineApi): RecordedContainer {
  if (!api.below("1.44") || !c.healthcheck?.startInterval) return c;
  const { startInterval: _dropped, ...healthcheck } = c.healthcheck;
  return { ...c, healthcheck };
}

export async function ensureVolumes(api: EngineApi, run: StackRun): Promise<string[]> {
  const names: string[] = [];
  for (const v of run.ofType(VOLUME)) {
    const inputs = run.plain(v) as { name: string; labels?: Array<{ label: string; value: string }> };
    await api.json("POST", "/volumes/create", {
      body: { Name: inputs.name, Labels: Object.fromEntries((inputs.labels ?? []).map((l) => [l.label, l.value])) },
    });
    names.push(inputs.name);
  }
  return names;
}

export interface DeployedLane {
  name: string;
  inputs: RecordedContainer;
  created: CreatedContainer;
}

/** Creates every lane (in parallel, as the engine does for independent resources), after removing leftovers. */
export async function deployLanes(create: EngineApi, poll: EngineApi, lanes: RecordedContainer[]): Promise<DeployedLane[]> {
  await Promise.all(lanes.map((c) => removeContainer(poll, c.name)));
  return Promise.all(lanes.map(async (c) => ({ name: c.name, inputs: c, created: await createContainer(create, poll, c) })));
}

export async function removeLanes(api: EngineApi, names: string[], volumes: string[] = []): Promise<void> {
  await Promise.all(names.map((n) => removeContainer(api, n)));
  for (const v of volumes) await api.request("DELETE", `/volumes/${encodeURIComponent(v)}`);
}

/** Runs a command in a container through the exec API; stdout and stderr together. */
export async function execIn(api: EngineApi, container: string, cmd: string[]): Promise<{ exitCode: number; output: string }> {
  const { Id } = await api.json<{ Id: string }>("POST", `/containers/${encodeURIComponent(container)}/exec`, {
    body: { Cmd: cmd, AttachStdout: true, AttachStderr: true },
  });
  const res = await api.request("POST", `/exec/${Id}/start`, { body: { Detach: false, Tty: false } });
  // multiplexed stream: 8-byte header (stream, 0, 0, 0, size uint32 BE), then the payload
  const out: Buffer[] = [];
  for (let i = 0; i + 8 <= res.body.length; ) {
    const size = res.body.readUInt32BE(i + 4);
    out.push(res.body.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  const info = await api.json<{ ExitCode: number }>("GET", `/exec/${Id}/json`);
  return { exitCode: info.ExitCode, output: Buffer.concat(out).toString("utf8") };
}
