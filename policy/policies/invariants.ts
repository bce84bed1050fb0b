// The mandatory invariants that config alone decides, defined once: the pack's policies check the
// registered resources with them, and the program (lib/config/load.ts) checks its config with them
// before registering anything, so a hand-run `pulumi up` without `--policy-pack` refuses the same
// things and the two cannot drift. Pure functions of plain values; no Pulumi imports.

export const REQUIRED_GPU_DEVICES = ["/dev/kfd", "/dev/dri"];
export const REQUIRED_GPU_GROUPS = ["video", "render"];
export const LOOPBACK = ["127.0.0.1", "::1"];
export const SERVICE_FALLBACK_API_KEY = "dev-only-key";
export const MIN_API_KEY_LENGTH = 24;
export const LANE_NAMES = ["prod", "eval"] as const;

/** One broken invariant: the field, what it is, and what to do. Never carries a secret value. */
export interface Problem {
  field: string;
  bad: string;
  fix: string;
}

export function gpuDeviceProblems(devices: string[], required = REQUIRED_GPU_DEVICES): Problem[] {
  return required
    .filter((d) => !devices.includes(d))
    .map((d) => ({
      field: "devices",
      bad: `missing ${d} (mapped: ${JSON.stringify(devices)})`,
      fix: `map ${d} (host path = container path) so the lane can reach the GPU`,
    }));
}

/**
 * Each required group is joined by name, or by a numeric GID: the host's GIDs of the device nodes
 * (what the README advises when the image lacks the names). A numeric GID stands for one missing
 * named group; neither the pack nor the program can see the host's /etc/group.
 */
export function gpuGroupProblems(groups: string[], required = REQUIRED_GPU_GROUPS, acceptedGids: Record<string, string[]> = {}): Problem[] {
  const joined = groups.map(String);
  const numeric = joined.filter((g) => /^\d+$/.test(g) && !Object.values(acceptedGids).flat().includes(g));
  const out: Problem[] = [];
  for (const group of required) {
    if (joined.includes(group) || (acceptedGids[group] ?? []).some((g) => joined.includes(String(g)))) continue;
    if (numeric.length > 0) {
      numeric.shift();
      continue;
    }
    out.push({
      field: "groupAdds",
      bad: `${JSON.stringify(joined)} (missing ${group})`,
      fix: `add "${group}" or the host's numeric GID of the group owning the GPU device nodes`,
    });
  }
  return out;
}

export function loopbackProblem(ip: string | undefined): Problem | undefined {
  const normalized = (ip ?? "0.0.0.0").replace(/^\[(.*)\]$/, "$1");
  if (LOOPBACK.includes(normalized)) return undefined;
  return {
    field: "ip",
    bad: ip === undefined ? "unset (docker binds 0.0.0.0, all interfaces)" : JSON.stringify(ip),
    fix: `bind ${LOOPBACK.join(" or ")} and reach the service through the SSH tunnel`,
  };
}

const ROCM_PIN = /^\d+\.\d+(\.\d+)?\+rocm(\d+(\.\d+)*)$/;
const ROCM_INDEX_PATH = /\/whl\/rocm(\d+(\.\d+)*)\/?$/;

/** ROCm torch pins: exact +rocm wheels from a /whl/rocmX.Y index, one ROCm version throughout. */
export function rocmPinProblems(index: string | undefined, versions: Record<string, string | undefined>, wantedRocm = ""): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const [field, value] of Object.entries(versions)) {
    if (value === undefined || value.trim() === "") {
      out.push({ field, bad: "(unset, the Dockerfile default applies and can drift)", fix: `pin it exactly, e.g. "2.10.0+rocm7.1"` });
      continue;
    }
    const m = ROCM_PIN.exec(value.trim());
    if (!m) {
      const kind = /\+cu\d*/.test(value) ? "a CUDA wheel" : /\+cpu/.test(value) ? "a CPU-only wheel" : "not an exact +rocm wheel version";
      out.push({ field, bad: `${JSON.stringify(value)} (${kind})`, fix: `pin the exact ROCm build, e.g. "2.10.0+rocm7.1"; Hemma's GPU is AMD` });
      continue;
    }
    seen.add(m[2]);
  }
  let indexRocm: string | undefined;
  if (index === undefined || index.trim() === "") {
    out.push({ field: "index", bad: "(unset)", fix: `set it to a ROCm wheel index, e.g. "https://download.pytorch.org/whl/rocm7.1"` });
  } else {
    let urlPath: string | undefined;
    try {
      const url = new URL(index);
      urlPath = url.protocol === "https:" || url.protocol === "http:" ? url.pathname : undefined;
    } catch {
      urlPath = undefined;
    }
    const m = urlPath === undefined ? null : ROCM_INDEX_PATH.exec(urlPath);
    if (!m)
      out.push({
        field: "index",
        bad: JSON.stringify(index),
        fix: `use a ROCm wheel index whose path ends in /whl/rocmX.Y, e.g. "https://download.pytorch.org/whl/rocm7.1"`,
      });
    else {
      indexRocm = m[1];
      seen.add(indexRocm);
    }
  }
  const wanted = wantedRocm.trim();
  if (wanted !== "") {
    for (const v of seen)
      if (v !== wanted)
        out.push({ field: "versions", bad: `built for ROCm ${v}`, fix: `pin every wheel and the index to ROCm ${wanted} (policy config rocmVersion)` });
  } else if (seen.size > 1) {
    out.push({
      field: "versions",
      bad: `mixing ROCm versions ${JSON.stringify([...seen].sort())}`,
      fix: `use one ROCm version for the index and all three wheels${indexRocm ? ` (the index serves ROCm ${indexRocm})` : ""}`,
    });
  }
  return out;
}

/** The API key, if known: never the service's fallback, long enough. The message never shows it. */
export function apiKeyProblem(key: string, minLength = MIN_API_KEY_LENGTH): Problem | undefined {
  if (key.trim() === SERVICE_FALLBACK_API_KEY) {
    return {
      field: "apiKey",
      bad: `the service's built-in fallback key "${SERVICE_FALLBACK_API_KEY}"`,
      fix: "set a real key with `pulumi config set --secret apiKey`, or unset apiKey to let the stack generate one",
    };
  }
  if (key.trim().length < minLength)
    return { field: "apiKey", bad: `[secret, ${key.trim().length} characters]`, fix: `use a key of at least ${minLength} characters` };
  return undefined;
}

/** Eval keeps CPU execution only with a decision recorded both in stack config and in the pack config. */
export function evalCpuUnlockProblem(stackDecision: string | undefined, packDecision: string | undefined): Problem | undefined {
  const s = (stackDecision ?? "").trim();
  if (s === "" || s === (packDecision ?? "").trim()) return undefined;
  return {
    field: "evalCpu.cpuOnlyDecision",
    bad: JSON.stringify(s),
    fix: `record the decision in the policy pack config too: {"gpu-first-env": {"evalCpuDecision": ${JSON.stringify(s)}}} in policy/config.<stack>.json (docs/policy.md), or remove it`,
  };
}

/** The lane a name belongs to by the lane names it contains as a word (`-eval-`, `_prod`), if exactly one. */
export function laneNamed(name: string): string | undefined {
  const named = LANE_NAMES.filter((l) => new RegExp(`(^|[^a-z0-9])${l}([^a-z0-9]|$)`, "i").test(name));
  return named.length === 1 ? named[0] : undefined;
}

/**
 * A lane's data volume and profile belong to the lane: the prod lane runs the prod profile, and
 * no lane's data volume is named for another lane (swapping the two lanes' values would mount
 * prod's data as eval's).
 */
export function laneOwnershipProblems(lane: string, profile: string, dataVolume: string): Problem[] {
  const out: Problem[] = [];
  if (profile !== lane) out.push({ field: "profile", bad: `${JSON.stringify(profile)} (lane ${lane})`, fix: `the ${lane} lane runs the ${lane} profile` });
  const owner = laneNamed(dataVolume);
  if (owner !== undefined && owner !== lane)
    out.push({
      field: "dataVolume",
      bad: `${JSON.stringify(dataVolume)} (named for lane ${owner})`,
      fix: `give lane ${lane} its own data volume; never move a volume to another lane`,
    });
  return out;
}

/** Data roots: the lanes' data volumes differ from each other and from the shared model cache. */
export function dataVolumeSeparationProblems(volumes: Record<string, string>, modelCacheVolume: string): Problem[] {
  const out: Problem[] = [];
  const lanes = Object.keys(volumes);
  for (let i = 0; i < lanes.length; i++) {
    if (volumes[lanes[i]] === modelCacheVolume)
      out.push({ field: `${lanes[i]}.dataVolume`, bad: JSON.stringify(volumes[lanes[i]]), fix: "must differ from the model cache volume" });
    for (let j = i + 1; j < lanes.length; j++) {
      if (volumes[lanes[i]] === volumes[lanes[j]])
        out.push({
          field: `${lanes[j]}.dataVolume`,
          bad: JSON.stringify(volumes[lanes[j]]),
          fix: `lanes ${lanes[i]} and ${lanes[j]} never share a data volume`,
        });
    }
  }
  return out;
}
