// A stand-in for the Pulumi engine's `up` on the box (no Pulumi engine runs on these machines): the
// real index.ts runs under the SDK's mock monitor (gate/mockRun.ts), whose `newResource` does each
// registration's step for real: containers, volumes and images on the box's dockerd over real ssh,
// the verification commands' `create` as a process. The order therefore is the real SDK's: a
// registration is sent only once its inputs and `dependsOn` resolved, i.e. once those resources'
// steps finished (@pulumi/pulumi runtime/resource.ts prepareResource waits on their URNs), which is
// how the engine sees the canary gate; independent registrations run side by side.
// Step decisions follow the engine and the providers at the pinned versions:
// - pulumi/pulumi v3.248.0 pkg/resource/deploy/step_generator.go: a URN with no old state is a
//   create; a diff on a replace-triggering input is a replace, with deleteBeforeReplace the old one
//   is deleted first; no diff is a same step (outputs from the old state); `--target` limits steps
//   to the targeted URNs, every other resource is a same step; a failed step stops the update;
//   resources of the old state that the program no longer registers are deleted (not with targets).
// - terraform-provider-docker v4.5.0 (pulumi-docker 5.x): every container input the program sets is
//   ForceNew (resource_docker_container.go), so any change replaces; the container is created and
//   started, its id set, before `wait` polls until healthy (resource_docker_container_funcs.go), so
//   a failed wait leaves it in the state and the next update replaces it; a RemoteImage
//   `name`/`build` change replaces; a volume is only created (the program retains it on delete).
// - pulumi-command v1.2.1 (provider/pkg/provider/local/commandController.go; `update`: "if empty,
//   the create command will be executed instead"): a `triggers` change replaces (runs `create`),
//   another input change is an update (runs `update`, else `create`); a failed create stores nothing.
// Where the box cannot do what the provider does, it says so in the update's output (a healthcheck
// startInterval on a daemon below API 1.44, which the real provider refuses, is dropped).
// State: pulumi's `stack export` shape (urn, type, id, inputs, outputs) with every secret input as
// Pulumi's secret marker, no plaintext, plus a digest of each resource's plain inputs for the diff.
// (The stack outputs, which the faked CLI serves to the tools, hold the API key as the real
// state's encrypted outputs would.)
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as mockRun from "../../../gate/mockRun";
import { NAMESPACE } from "../../../lib/projectFacts";
import { createContainer, type RecordedContainer, removeContainer } from "../lib/containerMapping";
import type { EngineApi } from "../lib/engineApi";
import { buildImage, imageIdOf } from "../lib/imageBuild";
import { withoutStartIntervalBelow144 } from "../lib/stackOnBox";

export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

export interface EngineState {
  resources: StateResource[];
  /** sha256 of each resource's plain inputs, by URN. */
  digests: Record<string, string>;
}

export interface UpRequest {
  programDir: string;
  stack: string;
  /** `namespace:key` -> raw config string, as the CLI hands config to the program. */
  config: Record<string, string>;
  secretConfigKeys: string[];
  targets: string[];
  state: EngineState;
  /** The box's daemon over the stack's ssh docker host. */
  docker: EngineApi;
  log: (line: string) => void;
  loadProgram: () => unknown;
}

export interface UpResult {
  ok: boolean;
  error?: string;
  state: EngineState;
  outputs: Record<string, unknown>;
  changes: Record<string, number>;
}

type Kind = "same" | "create" | "replace" | "update" | "delete";
const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const VOLUME = "docker:index/volume:Volume";
const PASSWORD = "random:index/randomPassword:RandomPassword";
// (a RandomPassword's result would have to be kept in plain text here: the engine refuses it)

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

const digestOf = (value: unknown) => createHash("sha256").update(canonical(value)).digest("hex");

/** A secret as the state stores it: the marker, never the value. */
const SECRET_IN_STATE = { [mockRun.SECRET_SIG]: mockRun.SECRET_SIG_VALUE, ciphertext: "v1:(encrypted by the stack's passphrase; not kept by the box engine)" };

/** `envs` carries the API key: the state keeps it as a secret, as the program marks it. */
function forState(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  if (type === CONTAINER && inputs.envs !== undefined) return { ...inputs, envs: SECRET_IN_STATE };
  if (type === COMMAND && inputs.environment !== undefined) return { ...inputs, environment: SECRET_IN_STATE };
  return inputs;
}

function urnOf(stack: string, project: string, typeChain: string, name: string): string {
  return `urn:pulumi:${stack}::${project}::${typeChain}::${name}`;
}

/** Runs a command's `create` as pulumi-command does: `/bin/sh -c` in the program's directory, with `environment` added. */
function runShell(script: string, env: Record<string, string>, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", script], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code) => resolve({ code, output }));
  });
}

export async function up(req: UpRequest): Promise<UpResult> {
  const old = new Map(req.state.resources.map((r) => [r.urn, r]));
  const next = new Map<string, StateResource>();
  const digests: Record<string, string> = {};
  const changes: Record<string, number> = {};
  const seen = new Set<string>();
  const started = Date.now();
  const t = () => `${Math.round((Date.now() - started) / 1000)}s`;
  let failure: string | undefined;
  // Set synchronously by onRequest just before the monitor calls newResource (gate/mockRun.ts).
  let pending: { type: string; name: string; urn: string; deleteBeforeReplace: boolean } | undefined;

  const keep = (urn: string, r: StateResource, digest: string | undefined, kind: Kind) => {
    next.set(urn, r);
    if (digest) digests[urn] = digest;
    changes[kind] = (changes[kind] ?? 0) + 1;
  };

  // After a failed step the engine starts nothing new and ends once the steps in flight are done;
  // the program may still wait on the failed resource forever, so the update ends here, not there.
  let inFlight = 0;
  let stopped: () => void = () => undefined;
  const stoppedAfterFailure = new Promise<void>((resolve) => (stopped = resolve));
  const settle = () => {
    if (failure !== undefined && inFlight === 0) stopped();
  };

  const step = async (
    urn: string,
    type: string,
    name: string,
    inputs: Record<string, unknown>,
    deleteBeforeReplace: boolean,
  ): Promise<{ id?: string; state: Record<string, unknown> }> => {
    seen.add(urn);
    const prior = old.get(urn);
    const digest = digestOf(inputs);
    const targeted = req.targets.length === 0 || req.targets.includes(urn);
    if (failure !== undefined) throw new Error(`not started: the update failed (${failure})`);
    if (!targeted || (prior && req.state.digests[urn] === digest && type !== IMAGE)) {
      if (!prior) throw new Error(`${urn} is not targeted and not in the state: the engine would skip it and its dependents`);
      keep(urn, prior, req.state.digests[urn], "same");
      return { id: prior.id, state: prior.outputs };
    }
    const kind: Kind = !prior ? "create" : type === COMMAND && canonical(inputs.triggers) === canonical(prior.inputs.triggers) ? "update" : "replace";
    const label = `${type} ${name}`;
    try {
      switch (type) {
        case IMAGE: {
          const tag = String(inputs.name);
          const build = inputs.build as
            | { context: string; dockerfile?: string; buildArgs?: Record<string, string>; labels?: Record<string, string> }
            | undefined;
          let id = await imageIdOf(req.docker, tag);
          if (prior && req.state.digests[urn] === digest && id === prior.outputs.imageId) {
            keep(urn, prior, digest, "same");
            return { id: prior.id, state: prior.outputs };
          }
          req.log(`    ${label} ${kind === "create" ? "creating" : "replacing"} (${t()})`);
          if (!id && build) {
            req.log(`    ${label} building ${tag} on the box (${t()})`);
            id = (
              await buildImage(req.docker, build.context, {
                tag,
                dockerfile: build.dockerfile ?? "Dockerfile",
                buildArgs: build.buildArgs ?? {},
                labels: build.labels ?? {},
                timeoutMs: 15 * 60_000,
              })
            ).id;
          }
          if (!id) throw new Error(`Unable to read Docker image into resource: unable to pull image ${tag}: no registry here and no build block`);
          const outputs = { ...inputs, imageId: id, repoDigest: "" };
          keep(urn, { urn, type, id, inputs: forState(type, inputs), outputs }, digest, kind);
          req.log(`    ${label} ${kind === "create" ? "created" : "replaced"} (${t()})`);
          return { id, state: outputs };
        }
        case VOLUME: {
          await req.docker.json("POST", "/volumes/create", {
            body: {
              Name: inputs.name,
              Labels: Object.fromEntries(((inputs.labels as Array<{ label: string; value: string }>) ?? []).map((l) => [l.label, l.value])),
            },
          });
          const outputs = { ...inputs, mountpoint: "" };
          keep(urn, { urn, type, id: String(inputs.name), inputs, outputs }, digest, kind);
          return { id: String(inputs.name), state: outputs };
        }
        case CONTAINER: {
          const declared = inputs as unknown as RecordedContainer;
          const c = withoutStartIntervalBelow144(declared, req.docker);
          if (c !== declared) {
            req.log(
              `    ${label}: the box's daemon speaks API ${req.docker.apiVersion}, below the 1.44 the provider needs for the healthcheck startInterval; the real provider refuses this container, the box drops that field`,
            );
          }
          if (prior?.id && deleteBeforeReplace) {
            req.log(`    ${label} deleting original (${t()})`);
            await removeContainer(req.docker, prior.id);
            next.delete(urn);
            req.log(`    ${label} deleted original (${t()})`);
          }
          req.log(`    ${label} ${kind === "create" ? "creating" : "creating replacement"} (${t()})`);
          let created: Awaited<ReturnType<typeof createContainer>>;
          try {
            created = await createContainer(req.docker, req.docker, c);
          } catch (err) {
            // Created and started, then not healthy in time: in the state with its id (no digest, so
            // the next update replaces it), as the provider leaves it.
            const left = await req.docker.request("GET", `/containers/${encodeURIComponent(c.name)}/json`);
            if (left.status === 200) {
              const id = (JSON.parse(left.body.toString("utf8")) as { Id: string }).Id;
              next.set(urn, { urn, type, id, inputs: forState(type, inputs), outputs: { ...inputs, id } });
            }
            throw err;
          }
          if (prior?.id && !deleteBeforeReplace) await removeContainer(req.docker, prior.id);
          const outputs = { ...inputs, id: created.id, exitCode: null };
          keep(urn, { urn, type, id: created.id, inputs: forState(type, inputs), outputs }, digest, kind);
          req.log(
            `    ${label} ${kind === "create" ? "created" : "created replacement"} (${t()}; healthy after ${((created.healthyAfterMs ?? 0) / 1000).toFixed(1)} s)`,
          );
          return { id: created.id, state: outputs };
        }
        case COMMAND: {
          const script = ((kind === "update" ? inputs.update : undefined) ?? inputs.create) as string | undefined;
          req.log(`    ${label} ${kind === "update" ? "updating" : kind === "create" ? "creating" : "replacing"} (${t()})`);
          let stdout = "";
          if (script) {
            const run = await runShell(script, (inputs.environment as Record<string, string>) ?? {}, req.programDir);
            if (run.code !== 0) {
              const tail = run.output
                .trim()
                .split("\n")
                .slice(-25)
                .map((l) => `        ${l}`)
                .join("\n");
              throw new Error(`exit status ${run.code}: running ${name}'s create:\n${tail}`);
            }
            stdout = run.output;
          }
          const id = prior?.id && kind === "update" ? prior.id : randomBytes(8).toString("hex");
          const outputs = { ...inputs, environment: undefined, stdout: stdout.slice(-2000), stderr: "" };
          keep(urn, { urn, type, id, inputs: forState(type, inputs), outputs: forState(type, outputs) }, digest, kind);
          req.log(`    ${label} ${kind === "update" ? "updated" : kind === "create" ? "created" : "replaced"} (${t()})`);
          return { id, state: outputs };
        }
        case PASSWORD:
          // Its result would have to live in this state in plain text: set config apiKey instead.
          throw new Error("the box engine keeps no secret values in its state: set config apiKey (a secret) instead of a generated key");
        default: {
          // providers and components: nothing to do on the box
          keep(
            urn,
            { urn, type, id: prior?.id ?? (type.startsWith("pulumi:providers:") ? randomBytes(8).toString("hex") : undefined), inputs, outputs: inputs },
            digest,
            prior ? "same" : "create",
          );
          return { id: next.get(urn)!.id, state: inputs };
        }
      }
    } catch (err) {
      failure ??= `${label}: ${(err as Error).message}`;
      // A failed replace keeps the old resource unless it was deleted first (deleteBeforeReplace).
      if (prior && !(type === CONTAINER && deleteBeforeReplace)) keep(urn, prior, req.state.digests[urn], "same");
      req.log(`    ${label} **${kind === "replace" ? "replacing" : kind === "update" ? "updating" : "creating"} failed** (${t()})`);
      req.log(`    error: ${(err as Error).message}`);
      throw err;
    }
  };

  const mocks: import("@pulumi/pulumi").runtime.Mocks = {
    async newResource(args) {
      const p = pending;
      pending = undefined;
      if (!p || p.type !== args.type || p.name !== args.name) throw new Error(`box engine: no request seen for ${args.type} ${args.name}`);
      const inputs = mockRun.unwrapSecrets(args.inputs) as Record<string, unknown>;
      inFlight++;
      try {
        const { id, state } = await step(p.urn, args.type, args.name, inputs, p.deleteBeforeReplace);
        return { id: id ?? "", state };
      } finally {
        inFlight--;
        settle();
      }
    },
    call(args) {
      return args.inputs;
    },
  };

  let outputs: Record<string, unknown> = {};
  // A failed step rejects that resource's outputs inside the program, where nothing awaits them: the
  // failure is already recorded above (the real SDK reports it through the engine the same way).
  const onUnhandled = (reason: unknown) => {
    failure ??= reason instanceof Error ? reason.message.split("\n")[0] : String(reason);
  };
  process.on("unhandledRejection", onUnhandled);
  try {
    const run = mockRun.runProgramUnderMocks({
      programDir: req.programDir,
      stack: req.stack,
      config: req.config,
      secretConfigKeys: req.secretConfigKeys,
      preview: false,
      mocks,
      onRequest: (r) => {
        // The engine's URN: urn:pulumi:<stack>::<project>::<ancestors' types>$<type>::<name>, the root
        // stack's type left out (what `--target` names, ops/autoRollback.ts prodRollbackTargets); the
        // mock monitor's own parent URNs start with pulumi:pulumi:Stack$, which is stripped.
        const parentChain = (r.parent ? (r.parent.split("::")[2] ?? "") : "").replace(/^pulumi:pulumi:Stack(\$|$)/, "");
        const chain = parentChain ? `${parentChain}$${r.type}` : r.type;
        const urn = urnOf(req.stack, NAMESPACE, chain, r.name);
        pending = { type: r.type, name: r.name, urn, deleteBeforeReplace: r.deleteBeforeReplace };
      },
      loadProgram: req.loadProgram,
    });
    run.catch(() => undefined); // after a failure it may settle late, or never
    const result = await Promise.race([run, stoppedAfterFailure.then(() => undefined)]);
    if (result) outputs = mockRun.unwrapSecrets(result.outputs) as Record<string, unknown>;
  } catch (err) {
    failure ??= (err as Error).message;
  } finally {
    // let rejections still in flight arrive before the handler goes
    await new Promise((r) => setImmediate(r));
    process.removeListener("unhandledRejection", onUnhandled);
  }
  // Resources of the old state the program did not register this time (a full, successful update only).
  if (failure === undefined && req.targets.length === 0) {
    for (const [urn, r] of old) {
      if (seen.has(urn)) continue;
      if (r.type === CONTAINER && r.id) await removeContainer(req.docker, r.id);
      if (r.type === VOLUME) continue; // retainOnDelete: the data volume stays on the host
      changes.delete = (changes.delete ?? 0) + 1;
      req.log(`    ${r.type} ${urn.slice(urn.lastIndexOf("::") + 2)} deleted (${t()})`);
    }
  } else {
    // A failed or targeted update keeps what it did not touch.
    for (const [urn, r] of old) {
      if (!next.has(urn) && !seen.has(urn)) {
        next.set(urn, r);
        if (req.state.digests[urn]) digests[urn] = req.state.digests[urn];
      }
    }
  }
  return { ok: failure === undefined, error: failure, state: { resources: [...next.values()], digests }, outputs, changes };
}
