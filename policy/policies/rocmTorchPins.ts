// rocm-torch-pins: the runtime image installs exact ROCm torch wheels from a ROCm wheel index, so a
// CUDA or CPU wheel (the upstream `2.10.0+cu128` failure) can never reach Hemma's AMD GPU stack.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig, schemaWithDefaults } from "./config";
import { asRecord, asString, isRuntimeImage, REMOTE_IMAGE, show, violation } from "./model";

export const NAME = "rocm-torch-pins";

export const INDEX_ARG = "SIR_CONVERT_A_LOT_TORCH_ROCM_INDEX_URL";
export const VERSION_ARGS = [
  "SIR_CONVERT_A_LOT_TORCH_VERSION",
  "SIR_CONVERT_A_LOT_TORCHVISION_VERSION",
  "SIR_CONVERT_A_LOT_TORCHAUDIO_VERSION",
];

const ROCM_PIN = /^\d+\.\d+(\.\d+)?\+rocm(\d+(\.\d+)*)$/;
const ROCM_INDEX_PATH = /\/whl\/rocm(\d+(\.\d+)*)\/?$/;

export interface RocmTorchPinsConfig {
  /** When set (e.g. "7.1"), every pin and the index must carry exactly this ROCm version. */
  rocmVersion: string;
}

export const DEFAULTS: RocmTorchPinsConfig = { rocmVersion: "" };

export const rocmTorchPins: ResourceValidationPolicy = {
  name: NAME,
  description: "The runtime image pins torch, torchvision and torchaudio to exact +rocm wheels from a ROCm wheel index (/whl/rocmX.Y).",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(DEFAULTS as unknown as Record<string, unknown>, {
    rocmVersion: { type: "string", pattern: "^(\\d+(\\.\\d+)*)?$" },
  }),
  validateResource: (args, reportViolation) => {
    if (args.type !== REMOTE_IMAGE || !isRuntimeImage(args)) return args.notApplicable("not the runtime image");
    if (args.props.build === undefined) return args.notApplicable("no build block: the image already exists on the host");
    const cfg = readConfig(args, DEFAULTS);
    const buildArgs = asRecord(asRecord(args.props.build).buildArgs);
    const rocmSeen = new Set<string>();

    for (const key of VERSION_ARGS) {
      const value = asString(buildArgs[key]);
      const field = `build.buildArgs.${key}`;
      if (value === undefined || value.trim() === "") {
        reportViolation(violation(NAME, args, field, "(unset, the Dockerfile default applies and can drift)", `pin it exactly, e.g. "2.10.0+rocm7.1"`));
        continue;
      }
      const m = ROCM_PIN.exec(value.trim());
      if (!m) {
        const kind = /\+cu\d*/.test(value) ? "a CUDA wheel" : /\+cpu/.test(value) ? "a CPU-only wheel" : "not an exact +rocm wheel version";
        reportViolation(violation(NAME, args, field, `${show(value)} (${kind})`, `pin the exact ROCm build, e.g. "2.10.0+rocm7.1"; Hemma's GPU is AMD`));
        continue;
      }
      rocmSeen.add(m[2]);
    }

    const index = asString(buildArgs[INDEX_ARG]);
    let indexRocm: string | undefined;
    if (index === undefined || index.trim() === "") {
      reportViolation(violation(NAME, args, `build.buildArgs.${INDEX_ARG}`, "(unset)", `set it to a ROCm wheel index, e.g. "https://download.pytorch.org/whl/rocm7.1"`));
    } else {
      let urlPath: string | undefined;
      try {
        const url = new URL(index);
        urlPath = url.protocol === "https:" || url.protocol === "http:" ? url.pathname : undefined;
      } catch {
        urlPath = undefined;
      }
      const m = urlPath === undefined ? null : ROCM_INDEX_PATH.exec(urlPath);
      if (!m) {
        reportViolation(violation(NAME, args, `build.buildArgs.${INDEX_ARG}`, show(index), `use a ROCm wheel index whose path ends in /whl/rocmX.Y, e.g. "https://download.pytorch.org/whl/rocm7.1"`));
      } else {
        indexRocm = m[1];
        rocmSeen.add(indexRocm);
      }
    }

    const wanted = String(cfg.rocmVersion ?? "").trim();
    if (wanted !== "") {
      for (const seen of rocmSeen) {
        if (seen !== wanted) {
          reportViolation(violation(NAME, args, "build.buildArgs", `built for ROCm ${seen}`, `pin every wheel and the index to ROCm ${wanted} (policy config rocmVersion)`));
        }
      }
    } else if (rocmSeen.size > 1) {
      reportViolation(violation(NAME, args, "build.buildArgs", `mixing ROCm versions ${show([...rocmSeen].sort())}`, `use one ROCm version for the index and all three wheels${indexRocm ? ` (the index serves ROCm ${indexRocm})` : ""}`));
    }
  },
};
