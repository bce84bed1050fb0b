// rocm-torch-pins: the runtime image installs exact ROCm torch wheels from a ROCm wheel index, so a
// CUDA or CPU wheel (the upstream `2.10.0+cu128` failure) can never reach Hemma's AMD GPU stack.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig, schemaWithDefaults } from "./config";
import { rocmPinProblems } from "./invariants";
import { asRecord, asString, isRuntimeImage, REMOTE_IMAGE, violation } from "./model";

export const NAME = "rocm-torch-pins";

export const INDEX_ARG = "SIR_CONVERT_A_LOT_TORCH_ROCM_INDEX_URL";
export const VERSION_ARGS = ["SIR_CONVERT_A_LOT_TORCH_VERSION", "SIR_CONVERT_A_LOT_TORCHVISION_VERSION", "SIR_CONVERT_A_LOT_TORCHAUDIO_VERSION"];

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
    const versions = Object.fromEntries(VERSION_ARGS.map((k) => [k, asString(buildArgs[k])]));
    for (const p of rocmPinProblems(asString(buildArgs[INDEX_ARG]), versions, String(cfg.rocmVersion ?? ""))) {
      const field = p.field === "index" ? `build.buildArgs.${INDEX_ARG}` : p.field === "versions" ? "build.buildArgs" : `build.buildArgs.${p.field}`;
      reportViolation(violation(NAME, args, field, p.bad, p.fix));
    }
  },
};
