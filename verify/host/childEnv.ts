// The environment the verifier's children (ssh, docker, rocm-smi, sudo) run with: the caller's,
// without the API key. None of them needs it (the service reads its key from the container's own
// environment), so the key variable, and any other variable holding the key, is dropped.
import { API_KEY_ENV } from "../../lib/serviceContract";

export function childEnvironment(env: NodeJS.ProcessEnv, apiKey: string, keyVariable: string = API_KEY_ENV): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name === keyVariable) continue;
    if (apiKey.length > 0 && value.includes(apiKey)) continue;
    out[name] = value;
  }
  return out;
}
