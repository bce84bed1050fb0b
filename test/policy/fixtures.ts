// A synthetic stack shaped like docs/architecture.md (the registrations the program makes), as
// RecordedResource values with serialized inputs (the container envs are a secret), plus small
// immutable mutation helpers. Independent of the real program, so each policy can be tested alone.
import type { RecordedResource } from "../../gate/mockRun";
import { isSecret, SECRET_SIG, SECRET_SIG_VALUE, unwrapSecrets } from "../../gate/mockRun";

export const REVISION = "0123456789abcdef0123456789abcdef01234567";
export const API_KEY = "k3y-that-must-never-be-printed-0123456789";
const STACK = "urn:pulumi:hemma::sir-convert-a-lot::pulumi:pulumi:Stack::sir-convert-a-lot-hemma";
const urn = (type: string, name: string, parentType?: string) => `urn:pulumi:hemma::sir-convert-a-lot::${parentType ? `${parentType}$` : ""}${type}::${name}`;

export const T = {
  container: "docker:index/container:Container",
  image: "docker:index/remoteImage:RemoteImage",
  volume: "docker:index/volume:Volume",
  command: "command:local:Command",
  provider: "pulumi:providers:docker",
};

export function secret(value: unknown): Record<string, unknown> {
  return { [SECRET_SIG]: SECRET_SIG_VALUE, value };
}

function resource(type: string, name: string, inputs: Record<string, unknown>, extra: Partial<RecordedResource> = {}): RecordedResource {
  return {
    urn: extra.urn ?? urn(type, name),
    type,
    name,
    custom: !type.startsWith("sir-convert-a-lot:"),
    parent: STACK,
    inputs,
    dependencies: [],
    propertyDependencies: {},
    options: {
      protect: false,
      retainOnDelete: false,
      deleteBeforeReplace: false,
      ignoreChanges: [],
      replaceOnChanges: [],
      additionalSecretOutputs: [],
      aliases: [],
    },
    ...extra,
  };
}

const IMAGE_ID = `sha256:${"ab".repeat(32)}`;

export function syntheticStack(): RecordedResource[] {
  const provider = resource(T.provider, "hemma-docker", { host: "ssh://hemma" });
  const providerRef = `${provider.urn}::provider-id`;
  const image = resource(
    T.image,
    "runtime-image",
    {
      name: `sir-convert-a-lot-runtime:${REVISION}`,
      keepLocally: true,
      build: {
        context: "/src/sir-convert-a-lot",
        dockerfile: "Dockerfile",
        buildArgs: {
          SIR_CONVERT_A_LOT_TORCH_ROCM_INDEX_URL: "https://download.pytorch.org/whl/rocm7.1",
          SIR_CONVERT_A_LOT_TORCH_VERSION: "2.10.0+rocm7.1",
          SIR_CONVERT_A_LOT_TORCHVISION_VERSION: "0.25.0+rocm7.1",
          SIR_CONVERT_A_LOT_TORCHAUDIO_VERSION: "2.10.0+rocm7.1",
        },
        labels: { "org.opencontainers.image.revision": REVISION },
      },
    },
    { urn: urn(T.image, "runtime-image", "sir-convert-a-lot:hemma:RuntimeImage"), provider: providerRef },
  );
  const volume = (name: string, role: string, lane?: string, protect = true) =>
    resource(
      T.volume,
      name,
      {
        name,
        labels: [{ label: "org.sir-convert-a-lot.role", value: role }, ...(lane ? [{ label: "org.sir-convert-a-lot.lane", value: lane }] : [])],
      },
      { provider: providerRef, options: { ...resource(T.volume, name, {}).options, protect, retainOnDelete: true } },
    );
  const prodData = volume("sir-convert-a-lot-prod-data", "data", "prod");
  const evalData = volume("sir-convert-a-lot-eval-data", "data", "eval");
  const cache = volume("sir-convert-a-lot-model-cache", "model-cache", undefined, false);

  const lane = (name: "prod" | "eval", containerPort: number, hostPort: number, data: RecordedResource) => {
    const envs = [
      `SIR_CONVERT_A_LOT_SERVICE_REVISION=${REVISION}`,
      `SIR_CONVERT_A_LOT_EXPECTED_REVISION=${REVISION}`,
      "SIR_CONVERT_A_LOT_DATA_DIR=/var/lib/sir-convert-a-lot/prod",
      "SIR_CONVERT_A_LOT_EVAL_DATA_DIR=/var/lib/sir-convert-a-lot/eval",
      "SIR_CONVERT_A_LOT_GPU_AVAILABLE=1",
      "HF_HOME=/var/cache/sir-convert-a-lot/huggingface",
      ...(name === "eval" ? ["SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY=0", "SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_FALLBACK=0"] : []),
    ];
    return resource(
      T.container,
      name,
      {
        name: `sir_convert_a_lot_${name}`,
        image: IMAGE_ID,
        command: ["pdm", "run", name === "prod" ? "serve:sir-convert-a-lot" : "serve:sir-convert-a-lot-eval"],
        devices: ["/dev/kfd", "/dev/dri"].map((p) => ({ hostPath: p, containerPath: p, permissions: "rwm" })),
        groupAdds: ["video", "render"],
        ports: [{ internal: containerPort, external: hostPort, ip: "127.0.0.1", protocol: "tcp" }],
        volumes: [
          { volumeName: data.inputs.name, containerPath: `/var/lib/sir-convert-a-lot/${name}` },
          { volumeName: cache.inputs.name, containerPath: "/var/cache/sir-convert-a-lot" },
        ],
        // As components/laneEnvironment.ts builds it: plain elements, the API key its own secret element.
        envs: [...envs, secret(`SIR_CONVERT_A_LOT_API_KEY=${API_KEY}`)],
        labels: [
          { label: "org.sir-convert-a-lot.lane", value: name },
          { label: "org.sir-convert-a-lot.profile", value: name },
          { label: "org.opencontainers.image.revision", value: REVISION },
        ],
        healthcheck: {
          tests: ["CMD", "python", "-c", `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${containerPort}/readyz')`],
          interval: "30s",
        },
        restart: "unless-stopped",
        logDriver: "json-file",
        logOpts: { "max-size": "50m", "max-file": "5" },
        wait: true,
      },
      {
        urn: urn(T.container, name, "sir-convert-a-lot:hemma:ServiceLane"),
        provider: providerRef,
        dependencies: [image.urn, data.urn, cache.urn],
        propertyDependencies: { image: [image.urn], volumes: [data.urn, cache.urn], envs: [] },
      },
    );
  };
  const prod = lane("prod", 8085, 28085, prodData);
  const evalLane = lane("eval", 8086, 28086, evalData);

  const verify = (c: RecordedResource, group: string, checks: string) =>
    resource(
      T.command,
      `${c.name}-verify-${group}`,
      {
        create: `npm run --silent verify -- --profile ${c.name} --checks ${checks} --container sir_convert_a_lot_${c.name} --torch-version 2.10.0+rocm7.1 --evidence-dir .verification/${c.name}/${group}`,
        environment: { SIR_CONVERT_A_LOT_API_KEY: secret(API_KEY) },
      },
      { dependencies: [c.urn, image.urn] },
    );
  const commands = [prod, evalLane].flatMap((c) => [verify(c, "health", "readiness,liveness,metrics"), verify(c, "gpu", "gpu"), verify(c, "smoke", "smoke")]);
  return [provider, image, prodData, evalData, cache, prod, evalLane, ...commands];
}

// ---------------------------------------------------------------------------------------------
// Mutations: each returns a changed deep copy.

export function clone(resources: RecordedResource[]): RecordedResource[] {
  return JSON.parse(JSON.stringify(resources)) as RecordedResource[];
}

export function find(resources: RecordedResource[], type: string, name: string): RecordedResource {
  const r = resources.find((x) => x.type === type && x.name === name);
  if (!r) throw new Error(`no ${type} ${name} in ${resources.map((x) => x.name).join(", ")}`);
  return r;
}

/** Changes a resource of a copy of the stack; `edit` gets plain inputs (secrets re-applied after). */
export function mutate(
  resources: RecordedResource[],
  type: string,
  name: string,
  edit: (inputs: Record<string, any>, r: RecordedResource) => void,
): RecordedResource[] {
  const copy = clone(resources);
  const r = find(copy, type, name);
  const secretKeys = Object.keys(r.inputs).filter((k) => isSecret(r.inputs[k]));
  const secretElements = new Set(
    Object.entries(r.inputs).flatMap(([k, v]) => (Array.isArray(v) ? v.filter(isSecret).map((e) => `${k}\0${String(unwrapSecrets(e)).split("=")[0]}`) : [])),
  );
  const plain = unwrapSecrets(r.inputs) as Record<string, any>;
  edit(plain, r);
  for (const k of Object.keys(plain)) {
    if (secretKeys.includes(k)) plain[k] = secret(plain[k]);
    // Elements that were secrets (the API key's env element) stay secrets, matched by their KEY=.
    else if (Array.isArray(plain[k])) {
      plain[k] = plain[k].map((e: unknown) => (typeof e === "string" && secretElements.has(`${k}\0${e.split("=")[0]}`) ? secret(e) : e));
    }
  }
  r.inputs = plain;
  return copy;
}

export function setEnv(inputs: Record<string, any>, key: string, value: string | undefined): void {
  // Unknown elements (the wire marker) stay as they are.
  const envs = (inputs.envs as string[]).filter((e) => !e.startsWith(`${key}=`));
  if (value !== undefined) envs.push(`${key}=${value}`);
  inputs.envs = envs;
}

export function without(resources: RecordedResource[], type: string, name: string): RecordedResource[] {
  return clone(resources).filter((r) => !(r.type === type && r.name === name));
}
