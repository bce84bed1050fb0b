// The stack's configuration schema: every key the program reads, its default (taken from the
// service contract) and its rules. One zod schema, parsed once into one typed object.
import { z } from "zod";
import { containerNameFor, DEFAULT_IMAGE_NAME, FULL_REVISION } from "../projectFacts";
import { SERVICE_FALLBACK_API_KEY } from "../serviceContract";
import { isSshUrl, parseSshUrl, sshOptionValues } from "../sshTarget";

const LANE_NAMES = ["prod", "eval"] as const;
export type LaneName = (typeof LANE_NAMES)[number];

const port = z.number().int().min(1).max(65535);
/** Caps on free strings: no config value needs more, and a megabyte one only hides mistakes. */
const MAX_NAME = 128;
const MAX_PATH = 1024;
const MAX_TEXT = 1000;
const dockerName = z
  .string()
  .max(MAX_NAME)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "must be a docker object name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)");

/** A torch wheel version pinned exactly and built for ROCm, e.g. `2.10.0+rocm7.1`. */
const rocmWheelVersion = z
  .string()
  .max(64)
  .regex(/^\d+\.\d+(\.\d+)?\+rocm\d+(\.\d+)*$/, "must be an exact version with a +rocm local tag, e.g. 2.10.0+rocm7.1");

/**
 * IPv4 only: the lanes' tunnels (`npm run tunnel`, the verifier) and the docker port binding on Hemma
 * are built and tested for IPv4 loopback; `::1` used to pass here and then broke every tunnel.
 */
const ipAddress = z.ipv4({ error: "must be an IPv4 address such as 127.0.0.1 (IPv6 binds such as ::1 are not supported)" });

/** A relative or absolute file path: no option-like start, no control characters, bounded length. */
const saneString = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse control characters (newlines, NUL, ESC) in config strings
    .refine((v) => !/[\0-\x1f\x7f]/.test(v), "must not contain newlines or control characters");
const safePath = saneString(MAX_PATH).refine((v) => !v.startsWith("-"), 'must not begin with "-"');

/** Device nodes a lane may be given: the ROCm compute node and DRM render/card nodes (or /dev/dri whole). */
const GPU_DEVICE = /^\/dev\/(kfd|dri|dri\/renderD\d{1,4}|dri\/card\d{1,4})$/;

const sourceSchema = z
  .strictObject({
    /** Local checkout of the service repository (relative paths resolve against the project dir). */
    path: safePath.default("../sir-convert-a-lot"),
    dockerfile: safePath.default("Dockerfile"),
    /** Build even though the checkout has uncommitted changes. */
    allowDirty: z.boolean().default(false),
    /** Build even though `revision` is not the checkout's HEAD. */
    allowRevisionMismatch: z.boolean().default(false),
  })
  .prefault({});

const imageSchema = z
  .strictObject({
    name: dockerName.default(DEFAULT_IMAGE_NAME),
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
      .max(MAX_PATH)
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
      containerName: dockerName.default(containerNameFor(lane)),
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
    cpuOnlyDecision: saneString(MAX_TEXT).pipe(z.string().trim().min(1)).optional(),
  })
  .prefault({});

const gpuSchema = z
  .strictObject({
    devices: z
      .array(z.string().max(64).regex(GPU_DEVICE, "must be a GPU device node: /dev/kfd, /dev/dri, /dev/dri/renderD<N> or /dev/dri/card<N>"))
      .min(1)
      .max(32)
      .default(["/dev/kfd", "/dev/dri"]),
    /** Group names the image defines (video, render) or the host's numeric GIDs of the device nodes. */
    groups: z
      .array(
        z
          .string()
          .max(32)
          .regex(/^([a-z_][a-z0-9_-]*|\d+)$/, "must be a group name or a numeric GID"),
      )
      .min(1)
      .max(16)
      .default(["video", "render"]),
  })
  .prefault({});

const containerSchema = z
  .strictObject({
    /** Seconds `pulumi up` waits for a new container to report healthy. */
    waitTimeoutSeconds: z.number().int().min(10).max(1800).default(180),
    logMaxSize: z
      .string()
      .regex(/^\d+[kmg]$/, "must be a size like 50m")
      .default("50m"),
    logMaxFiles: z.number().int().min(1).max(100).default(5),
    /**
     * The default log-opts Hemma's daemon.json sets for its default log driver. The daemon adds
     * them to every container's reported log config, so the lanes declare them too; otherwise
     * every `pulumi up` would see a logOpts change (ForceNew) and replace both lanes.
     */
    daemonLogOpts: z
      // `pulumi config set --path` stores 3 as a number; docker's log-opts are strings.
      .record(z.string().max(MAX_NAME), z.union([saneString(MAX_TEXT), z.number(), z.boolean()]).transform(String))
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
    path: z
      .string()
      .max(MAX_PATH)
      .regex(/^\/\S+$/, "must be an absolute container path")
      .refine((v) => !v.split("/").includes(".."), 'must not contain ".."')
      .default("/var/cache/sir-convert-a-lot"),
  })
  .prefault({});

const verificationSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Deadline for each verification command, in seconds. */
    timeoutSeconds: z.number().int().min(10).max(3600).default(600),
    /** Where evidence folders are written (relative to the project dir). */
    evidenceRoot: saneString(255)
      .refine((v) => !v.startsWith("-"), 'must not begin with "-"')
      .refine((v) => !v.split(/[\\/]/).includes(".."), 'must not contain ".." (evidence stays where it is configured)')
      .default(".verification"),
  })
  .prefault({});

export const configObject = z
  .strictObject({
    dockerHost: z
      .string()
      .max(MAX_PATH)
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
      .array(saneString(MAX_PATH))
      .max(64)
      .superRefine((opts, ctx) => {
        try {
          sshOptionValues(opts, allowUnsafeSshOptsInThisParse);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
        }
      })
      .default(["-o", "ServerAliveInterval=30", "-o", "ConnectTimeout=15"]),
    /**
     * Opt-in for sshOpts that weaken host-key checking (StrictHostKeyChecking=no,
     * UserKnownHostsFile=/dev/null), run local commands (ProxyCommand, LocalCommand,
     * PermitLocalCommand=yes, KnownHostsCommand) or allow prompts (BatchMode=no). Default false:
     * such options are refused (README, Configuration).
     */
    allowUnsafeSshOpts: z.boolean().default(false),
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
      .max(512, "must be at most 512 characters")
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

/**
 * Unsafe sshOpts need allowUnsafeSshOpts, a sibling key. The flag is read from the raw input just
 * before the object is parsed (parsing is synchronous), so the sshOpts field itself refuses them and
 * the refusal is reported together with every other bad key (an object's own refinements do not
 * run once one of its keys failed a length check).
 */
let allowUnsafeSshOptsInThisParse = false;

export const configSchema = z.preprocess((input) => {
  allowUnsafeSshOptsInThisParse = input !== null && typeof input === "object" && (input as { allowUnsafeSshOpts?: unknown }).allowUnsafeSshOpts === true;
  return input;
}, configObject);

/** Top-level config keys the program knows; anything else in the namespace is a typo. */
export const KNOWN_KEYS = Object.keys(configObject.shape) as (keyof z.input<typeof configObject>)[];
/** Keys whose raw config value is a plain string (everything else is JSON: objects, lists, numbers, booleans). */
export const STRING_KEYS = new Set<string>(["dockerHost", "revision", "bindAddress", "apiKey"]);
/** Keys whose values are secret and must never be echoed. */
export const SECRET_KEYS = new Set<string>(["apiKey"]);

export type ParsedConfig = z.output<typeof configSchema>;
export type LaneConfig = ParsedConfig["lanes"][LaneName];
export const LANES = LANE_NAMES;
