// gpu: rocm-smi on the host lists a GPU; in the lane's container /dev/kfd exists, /dev/dri is a
// directory, SIR_CONVERT_A_LOT_GPU_AVAILABLE is a value the service reads as "GPU available" for the
// profile, and the torch probe reports a ROCm build (pinned version) with the GPU available.
import * as rocmSmi from "../../lib/commands/rocmSmi";
import { listedGpus } from "../host/rocmSmi";
import { type CommandResult, describeCommandFailure } from "../host/runner";
import { ContractError, parseJsonWith, type TorchProbe, torchProbeSchema } from "../schemas";
import { type Check, type CheckContext, CheckRecorder, fact } from "./context";
import { GPU_AVAILABLE_ENV, gpuAvailableProblem } from "./gpuEnv";

const COMMAND_TIMEOUT_MS = 60_000;

/** Prints the contract's probe fields as one JSON line; mirrors the service's runtime rules (§5.1). */
export const TORCH_PROBE = [
  "import json",
  "d = dict(runtime_kind='none', torch_version=None, hip_version=None, cuda_version=None, is_available=False, device_count=0, device_name=None)",
  "try:",
  "    import torch",
  "except Exception:",
  "    torch = None",
  "if torch is not None:",
  "    v = getattr(torch, 'version', None)",
  "    s = lambda x: None if x is None else str(x)",
  "    d['torch_version'] = s(getattr(torch, '__version__', None))",
  "    d['hip_version'] = s(getattr(v, 'hip', None))",
  "    d['cuda_version'] = s(getattr(v, 'cuda', None))",
  "    d['runtime_kind'] = 'rocm' if (d['hip_version'] or '').strip() else ('cuda' if (d['cuda_version'] or '').strip() else 'none')",
  "    try:",
  "        d['is_available'] = bool(torch.cuda.is_available())",
  "    except Exception:",
  "        d['is_available'] = False",
  "    if d['is_available']:",
  "        d['device_count'] = int(torch.cuda.device_count())",
  "        d['device_name'] = str(torch.cuda.get_device_name(0)) if d['device_count'] > 0 else None",
  "print(json.dumps(d, sort_keys=True))",
].join("\n");

async function run(ctx: CheckContext, argv: readonly string[], label: string): Promise<CommandResult> {
  const result = await ctx.host.run(argv, ctx.deadline.cap(COMMAND_TIMEOUT_MS));
  await ctx.evidence.writeText(
    `host/${label}.txt`,
    `$ ${result.display}\n# exit ${result.exitCode ?? "none"}${result.error ? ` (${result.error})` : ""}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`,
  );
  return result;
}

export const gpuCheck: Check = async (ctx, rec) => {
  const { container, torchVersion } = ctx.opts;
  const docker = ctx.opts.dockerCommand;

  // The probe initialises the GPU runtime, so it takes its turn with other GPU work (the lock wait is
  // not part of the step's time). It starts first, in parallel with the host facts.
  const probeRec = new CheckRecorder();
  const hostRec = new CheckRecorder();
  const probeStep = ctx.gpuLock.run(() =>
    probeRec.step("torch-probe", async () => {
      const res = await run(ctx, [...docker, "exec", container, "pdm", "run", "python", "-c", TORCH_PROBE], "torch_probe");
      if (res.exitCode !== 0) {
        probeRec.fail(fact("torch_probe", `the torch probe to run in container ${container}`, describeCommandFailure(res)));
        return;
      }
      const lastLine = res.stdout.trim().split("\n").pop() ?? "";
      let probe: TorchProbe;
      try {
        probe = parseJsonWith(torchProbeSchema, lastLine, `torch probe in ${container}`);
      } catch (error) {
        if (error instanceof ContractError) {
          probeRec.fail(fact("torch_probe", "probe JSON with the contract's fields", error.message));
          return;
        }
        throw error;
      }
      await ctx.evidence.writeJson("host/torch_probe.json", probe);
      if (probe.runtime_kind !== "rocm")
        probeRec.fail(fact("runtime_kind", "torch runtime_kind rocm", `${probe.runtime_kind} (torch ${probe.torch_version ?? "none"})`));
      if (!probe.is_available) probeRec.fail(fact("is_available", "torch is_available true", `false (device_count ${probe.device_count})`));
      if (!(probe.torch_version ?? "").includes("+rocm")) probeRec.fail(fact("torch_version", "a +rocm torch build", String(probe.torch_version)));
      else if (torchVersion && probe.torch_version !== torchVersion)
        probeRec.fail(fact("torch_version", `torch_version ${torchVersion}`, String(probe.torch_version)));
      if (probe.is_available && probe.device_count < 1) probeRec.fail(fact("device_count", "device_count >= 1", String(probe.device_count)));
      probeRec.note(
        `torch ${probe.torch_version ?? "none"} (${probe.runtime_kind}, hip ${probe.hip_version ?? "none"}) on ${probe.device_name ?? "no device"}`,
      );
    }),
  );

  const hostSteps = (async () => {
    await hostRec.step("rocm-smi", async () => {
      const res = await run(ctx, rocmSmi.gpuFacts(), "rocm_smi");
      if (res.exitCode !== 0) {
        hostRec.fail(fact("rocm-smi", `rocm-smi to run on ${ctx.host.where}`, describeCommandFailure(res)));
        return;
      }
      const gpus = listedGpus(res.stdout);
      if (gpus.length === 0) hostRec.fail(fact("rocm-smi", "rocm-smi to list at least one GPU[N]", "no GPU[N] lines"));
      else hostRec.note(`rocm-smi lists ${gpus.length} GPU(s)`);
    });

    await hostRec.step("devices", async () => {
      const [kfd, dri] = await Promise.all([
        run(ctx, [...docker, "exec", container, "test", "-e", "/dev/kfd"], "dev_kfd"),
        run(ctx, [...docker, "exec", container, "test", "-d", "/dev/dri"], "dev_dri"),
      ]);
      if (kfd.exitCode !== 0) hostRec.fail(fact("/dev/kfd", `/dev/kfd to exist in container ${container}`, describeCommandFailure(kfd)));
      if (dri.exitCode !== 0) hostRec.fail(fact("/dev/dri", `/dev/dri to be a directory in container ${container}`, describeCommandFailure(dri)));
    });

    await hostRec.step("gpu-available-env", async () => {
      const res = await run(ctx, [...docker, "exec", container, "printenv", GPU_AVAILABLE_ENV], "gpu_available_env");
      // printenv exits 1 with no output when the variable is unset
      const unset = res.exitCode === 1 && res.stdout === "" && res.stderr.trim() === "";
      if (res.exitCode !== 0 && !unset) {
        hostRec.fail(fact(GPU_AVAILABLE_ENV, `${GPU_AVAILABLE_ENV} readable in container ${container}`, describeCommandFailure(res)));
        return;
      }
      const value = unset ? undefined : res.stdout.replace(/\n$/, "");
      const needs = gpuAvailableProblem(ctx.opts.profile, value);
      if (needs) {
        const why = ctx.opts.profile === "prod" ? " (prod declares a GPU only then)" : "";
        hostRec.fail(
          fact(
            GPU_AVAILABLE_ENV,
            `${GPU_AVAILABLE_ENV} ${needs} in container ${container}${why}`,
            JSON.stringify(value).slice(1, -1),
            "the service refuses every GPU job (503 gpu_not_available)",
          ),
        );
      } else {
        hostRec.note(`${GPU_AVAILABLE_ENV} ${value === undefined ? "unset (service default: available)" : JSON.stringify(value)}`);
      }
    });
  })();

  await Promise.all([probeStep, hostSteps]);
  // Report in a fixed order: host facts, then the probe.
  rec.merge(hostRec);
  rec.merge(probeRec);
};
