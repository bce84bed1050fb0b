// The environment a service lane's container runs with, derived from config and the service
// contract: revision pinning (the service reports `unknown` and never becomes ready without it),
// both data roots (each profile checks the other for collisions), GPU-first settings and the
// model cache. Secret values stay Pulumi secrets.
import * as pulumi from "@pulumi/pulumi";
import { API_KEY_ENV, dataDirFor } from "../lib/serviceContract";

export interface LaneEnvironmentArgs {
  profile: "prod" | "eval";
  revision: string;
  modelCachePath: string;
  /** A recorded decision that lets eval keep the service's CPU-only default. */
  evalCpuOnlyDecision?: string;
}

/** Plain (non-secret) variables, in a stable order. */
export function laneEnvironment(args: LaneEnvironmentArgs): Record<string, string> {
  const env: Record<string, string> = {
    SIR_CONVERT_A_LOT_SERVICE_REVISION: args.revision,
    SIR_CONVERT_A_LOT_EXPECTED_REVISION: args.revision,
    SIR_CONVERT_A_LOT_DATA_DIR: dataDirFor("prod"),
    SIR_CONVERT_A_LOT_EVAL_DATA_DIR: dataDirFor("eval"),
    // prod accepts only the exact value 1; eval accepts 1/true/yes/on.
    SIR_CONVERT_A_LOT_GPU_AVAILABLE: "1",
    HF_HOME: `${args.modelCachePath}/huggingface`,
    TORCH_HOME: `${args.modelCachePath}/torch`,
    EASYOCR_MODULE_PATH: `${args.modelCachePath}/easyocr`,
    XDG_CACHE_HOME: args.modelCachePath,
  };
  if (args.profile === "eval") {
    // eval defaults to allowing cpu_only; GPU-first unless a decision is on record.
    env.SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY = args.evalCpuOnlyDecision ? "1" : "0";
    env.SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_FALLBACK = "0";
  }
  return env;
}

/**
 * `KEY=value` list for docker: every plain variable as its own known element, and the API key as
 * one more element that alone is a secret. At a first-deploy preview the generated key is unknown;
 * the engine then sends only that element as unknown (not the whole list), so the policy pack still
 * decides from every other variable (@pulumi/policy v1.21.0 sdk/nodejs/policy/proxy.ts throws only
 * when a policy reads the unknown element itself).
 */
export function containerEnvs(plain: Record<string, string>, apiKey: pulumi.Input<string>): pulumi.Input<string>[] {
  return [...Object.entries(plain).map(([k, v]) => `${k}=${v}`), pulumi.secret(pulumi.interpolate`${API_KEY_ENV}=${apiKey}`)];
}
