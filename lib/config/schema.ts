// The stack's configuration schema: every key the program reads, its default (taken from the
// service contract) and its rules. One zod schema, parsed once into one typed object.
import { z } from "zod";
import { FULL_REVISION, SERVICE_FALLBACK_API_KEY } from "../serviceContract";
import { isSshUrl, parseSshUrl, sshOptionValues } from "../sshTarget";

const LANE_NAMES = ["prod", "eval"] as const;
export type LaneName = (typeof LANE_NAMES)[number];

const port = z.number().int().min(1).max(65535);
const dockerName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "must be a docker object name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)");

/** A torch wheel version pinned exactly and built for ROCm, e.g. `2.10.0+rocm7.1`. */
const rocmWheelVersion = z
  .string()
  .regex(/^\d+\.\d+(\.\d+)?\+rocm\d+(\.\d+)*$/, "must be an exact version with a +rocm local tag, e.g. 2.10.0+rocm7.1");

const ipAddress = z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address" });

const sourceSchema = z
  .strictObject({
    /** Local checkout of the service repository (relative paths resolve against the project dir). */
    path: z.string().min(1).default("../sir-convert-a-lot"),
    dockerfile: z.string().min(1).default("Dockerfile"),
    /** Build even though the checkout has uncommitted changes. */
    allowDirty: z.boolean().default(false),
    /** Build even though `revision` is not the checkout's HEAD. */
    allowRevisionMismatch: z.boolean().default(false),
  })
  .prefault({});

const imageSchema = z
  .strictObject({
    name: dockerName.default("sir-convert-a-lot-runtime"),
    /** false: run the image already on Hemma for `revision` (rollback without checkout or rebuild). */
    build: z.boolean().default(true),
    /**
     * Retired: every build runs through the docker provider's Engine-API path on `dockerHost`
     * (BuildKit on the daemon), because the provider's buildx path builds on the operator's current
     * docker context instead. Still accepted (and ignored, with a warning) so a rollback to an
     * update recorded with it parses.
     */
    builder: z.enum(["buildx", "legacy"]).optional(),
    /** Deadline of the image build (first ROCm builds download torch wheels and Docling models). */
    buildTimeoutMinutes: z.number().int().min(20).max(1440).default(90),
    /** How many deployed revisions keep their image on Hemma (`npm run prune`). */
    keepRevisions: z.number().int().min(1).max(100).default(5),
  })
  .prefault({});

const torchSchema = z
  .strictObject({
    indexUrl: z
      .url({ protocol: /^https?$/ })
      .regex(/\/rocm\d+(\.\d+)*\/?$/, "must be a ROCm wheel index, e.g. https://download.pytorch.org/whl/rocm7.1")
      .default("https://download.pytorch.org/whl/rocm7.1"),
    torchVersion: rocmWheelVersion.default("2.10.0+rocm7.1"),
    torchvisionVersion: rocmWheelVersion.default("0.25.0+rocm7.1"),
    torchaudioVersion: rocmWheelVersion.default("2.10.0+rocm7.1"),
  })
  .prefault({});

function laneSchema(lane: LaneName, containerPort: number, hostPort: number) {
  return z
    .strictObject({
      enabled: z.boolean().default(true),
      containerName: dockerName.default(`sir_convert_a_lot_${lane}`),
      profile: z.enum(LANE_NAMES).default(lane),
      containerPort: port.default(containerPort),
      hostPort: port.default(hostPort),
      dataVolume: dockerName.default(`sir-convert-a-lot-${lane}-data`),
    })
    .prefault({});
}

const evalCpuSchema = z
  .strictObject({
    /**
     * A reference to a recorded decision (ADR, issue, ticket) that allows the eval lane to keep
     * the service's CPU-only default. Empty: eval is GPU-first like prod.
     */
    cpuOnlyDecision: z.string().trim().min(1).optional(),
  })
  .prefault({});

const gpuSchema = z
  .strictObject({
    devices: z
      .array(z.string().regex(/^\/dev\/\S+$/, "must be a device path under /dev"))
      .min(1)
      .default(["/dev/kfd", "/dev/dri"]),
    /** Group names the image defines (video, render) or the host's numeric GIDs of the device nodes. */
    groups: z
      .array(z.string().regex(/^([a-z_][a-z0-9_-]*|\d+)$/, "must be a group name or a numeric GID"))
      .min(1)
      .default(["video", "render"]),
  })
  .prefault({});

const containerSchema = z
  .strictObject({
    /** Seconds `pulumi up` waits for a new container to report healthy. */
    waitTimeoutSeconds: z.number().int().min(10).max(1800).default(180),
    logMaxSize: z.string().regex(/^\d+[kmg]$/, "must be a size like 50m").default("50m"),
    logMaxFiles: z.number().int().min(1).max(100).default(5),
    /**
     * The default log-opts Hemma's daemon.json sets for its default log driver. The daemon adds
     * them to every container's reported log config, so the lanes declare them too; otherwise
     * every `pulumi up` would see a logOpts change (ForceNew) and replace both lanes.
     */
    daemonLogOpts: z
      // `pulumi config set --path` stores 3 as a number; docker's log-opts are strings.
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
      .superRefine((opts, ctx) => {
        for (const name of Object.keys(opts)) {
          if (!/^[a-z][a-z0-9_.-]*$/.test(name)) ctx.addIssue({ code: "custom", path: [name], message: "must be a log-opt name like max-buffer-size" });
        }
      })
      .default({}),
  })
  .prefault({});

const modelCacheSchema = z
  .strictObject({
    volume: dockerName.default("sir-convert-a-lot-model-cache"),
    path: z.string().regex(/^\/\S+$/, "must be an absolute container path").default("/var/cache/sir-convert-a-lot"),
  })
  .prefault({});

const verificationSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Deadline for each verification command, in seconds. */
    timeoutSeconds: z.number().int().min(10).max(3600).default(600),
    /** Where evidence folders are written (relative to the project dir). */
    evidenceRoot: z.string().min(1).default(".verification"),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    dockerHost: z
      .string()
      .regex(/^(ssh|tcp|unix):\/\/\S+$/, "must be a docker host URL: ssh://[user@]host[:port], tcp://… or unix://…")
      .superRefine((url, ctx) => {
        if (!isSshUrl(url)) return;
        try {
          parseSshUrl(url);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
        }
      })
      .default("ssh://hemma"),
    sshOpts: z
      .array(z.string().min(1))
      .superRefine((opts, ctx) => {
        try {
          sshOptionValues(opts);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
        }
      })
      .default(["-o", "ServerAliveInterval=30", "-o", "ConnectTimeout=15"]),
    revision: z.string().regex(FULL_REVISION, "must be a full 40-character lowercase hex commit SHA").optional(),
    source: sourceSchema,
    image: imageSchema,
    torch: torchSchema,
    bindAddress: ipAddress.default("127.0.0.1"),
    gpu: gpuSchema,
    lanes: z
      .strictObject({
        prod: laneSchema("prod", 8085, 28085),
        eval: laneSchema("eval", 8086, 28086),
      })
      .prefault({}),
    evalCpu: evalCpuSchema,
    modelCache: modelCacheSchema,
    container: containerSchema,
    verification: verificationSchema,
    apiKey: z
      .string()
      .min(24, "must be at least 24 characters")
      .refine((v) => v !== SERVICE_FALLBACK_API_KEY, "is the service's built-in fallback key; set a real secret or leave it unset to generate one")
      .optional(),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.lanes.prod.profile === cfg.lanes.eval.profile) {
      ctx.addIssue({ code: "custom", path: ["lanes", "eval", "profile"], message: "prod and eval lanes must run different profiles" });
    }
    for (const field of ["containerName", "hostPort", "dataVolume"] as const) {
      if (cfg.lanes.prod[field] === cfg.lanes.eval[field]) {
        ctx.addIssue({ code: "custom", path: ["lanes", "eval", field], message: `must differ from lanes.prod.${field} (prod and eval never share it)` });
      }
    }
    for (const lane of LANE_NAMES) {
      if (cfg.lanes[lane].dataVolume === cfg.modelCache.volume) {
        ctx.addIssue({ code: "custom", path: ["lanes", lane, "dataVolume"], message: "must differ from modelCache.volume" });
      }
    }
    if (!cfg.image.build && !cfg.revision) {
      ctx.addIssue({ code: "custom", path: ["revision"], message: "is required when image.build is false (it names the image already on the host)" });
    }
  });

/** Top-level config keys the program knows; anything else in the namespace is a typo. */
export const KNOWN_KEYS = Object.keys(configSchema.shape) as (keyof z.input<typeof configSchema>)[];
/** Keys whose raw config value is a plain string (everything else is JSON: objects, lists, numbers, booleans). */
export const STRING_KEYS = new Set<string>(["dockerHost", "revision", "bindAddress", "apiKey"]);
/** Keys whose values are secret and must never be echoed. */
export const SECRET_KEYS = new Set<string>(["apiKey"]);

export type ParsedConfig = z.output<typeof configSchema>;
export type LaneConfig = ParsedConfig["lanes"][LaneName];
export const LANES = LANE_NAMES;
