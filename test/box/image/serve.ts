// Entrypoint of the box's test runtime image (`pdm run serve:sir-convert-a-lot[-eval]` runs it on the
// image's plain node): the project's service emulator, configured from the service's own
// environment contract (../shared/reference/service-contract.md §1, lib/serviceContract.ts) the way
// the real service reads it at import: revisions, both data roots, the GPU declaration, the API key.
// Like the real service, a config error at import stops the process (a traceback on stderr, exit 1),
// which `restart: unless-stopped` turns into a restart loop.
import { realpathSync } from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { startEmulator } from "../../emulator/server";

const PORTS = { prod: 8085, eval: 8086 } as const;
const FALLBACK_KEY = "dev-only-key";

function dieAtImport(module: string, error: string): never {
  process.stderr.write(
    ["Traceback (most recent call last):", `  File "/app/scripts/sir_convert_a_lot/${module}.py", line 1, in <module>`, error, ""].join("\n"),
  );
  process.exit(1);
}

function resolved(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/**
 * Debian bookworm's nodejs is 18, whose zlib has no crc32 (Node >= 20.15); the emulator's docx/zip
 * writer calls it. The standard CRC-32 (IEEE, reflected 0xEDB88320), installed only when missing.
 */
function ensureZlibCrc32(): void {
  const z = zlib as unknown as { crc32?: (data: Buffer | string, value?: number) => number };
  if (typeof z.crc32 === "function") return;
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  z.crc32 = (data, value = 0) => {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let c = (value ^ 0xffffffff) >>> 0;
    for (const b of bytes) c = (table[(c ^ b) & 0xff]! ^ (c >>> 8)) >>> 0;
    return (c ^ 0xffffffff) >>> 0;
  };
}

async function main(): Promise<void> {
  ensureZlibCrc32();
  const profile = process.argv[2] === "eval" ? "eval" : "prod";
  const env = process.env;
  const module = profile === "prod" ? "service" : "service_eval";
  const prodRoot = env.CONVERTER_STORAGE_ROOT ?? env.SIR_CONVERT_A_LOT_DATA_DIR ?? "build/sir_convert_a_lot";
  const evalRoot = env.SIR_CONVERT_A_LOT_EVAL_DATA_DIR ?? "build/sir_convert_a_lot_eval";
  if (profile === "prod") {
    const unlocked = ["SIR_CONVERT_A_LOT_ALLOW_CPU_ONLY", "SIR_CONVERT_A_LOT_ALLOW_CPU_FALLBACK"].filter((k) => env[k] === "1");
    if (unlocked.length > 0) dieAtImport(module, `ValueError: prod does not allow ${unlocked.join(" or ")}=1`);
  } else if (resolved(evalRoot) === resolved(env.SIR_CONVERT_A_LOT_DATA_DIR ?? "build/sir_convert_a_lot")) {
    dieAtImport(module, `RuntimeError: eval data root ${resolved(evalRoot)} equals SIR_CONVERT_A_LOT_DATA_DIR`);
  }
  const dataRoot = profile === "prod" ? prodRoot : evalRoot;
  const revision = env.SIR_CONVERT_A_LOT_SERVICE_REVISION ?? "unknown";
  const emulator = await startEmulator({
    profile,
    revision,
    expectedRevision: env.SIR_CONVERT_A_LOT_EXPECTED_REVISION ?? revision,
    dataRoot,
    diskRoot: path.resolve(dataRoot),
    apiKey: env.SIR_CONVERT_A_LOT_API_KEY ?? FALLBACK_KEY,
    port: PORTS[profile],
    host: "0.0.0.0",
    kfdPath: "/dev/kfd",
    // a conversion takes seconds on the real GPU: long enough for the verifier's rocm-smi samples over ssh
    jobDurationMs: Number(env.BOX_EMULATOR_JOB_MS ?? 4000),
    scenario: {
      dataRootCollision: resolved(prodRoot) === resolved(evalRoot),
      // BOX_EMULATOR_CPU_ROUTES_PROD / _EVAL=pdf->md,pdf->docx: this profile's Docling silently runs
      // those routes on the CPU (still reporting "cuda", as the real service does): a broken build
      // the tests and bench:deploy put in an image or a container's environment.
      cpuRoutes: (env[`BOX_EMULATOR_CPU_ROUTES_${profile.toUpperCase()}`] ?? "").split(",").filter((r) => r !== ""),
    },
  });
  process.stdout.write(`INFO:     Uvicorn running on http://0.0.0.0:${emulator.port} (Press CTRL+C to quit)\n`);
  const stop = (): void => {
    void emulator.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

void main();
