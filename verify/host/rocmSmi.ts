// Parsers for rocm-smi text output: which GPUs are listed, and each GPU's `GPU use (%)`.

/** Distinct GPU indices from `GPU[N]` line prefixes. */
export function listedGpus(output: string): number[] {
  const seen = new Set<number>();
  for (const match of output.matchAll(/^GPU\[(\d+)\]/gm)) seen.add(Number(match[1]));
  return [...seen].sort((a, b) => a - b);
}

/** Every `GPU use (%): N` value in the output (one per GPU). */
export function gpuUsePercents(output: string): number[] {
  return [...output.matchAll(/GPU use \(%\):\s*([0-9]+)/g)].map((m) => Number(m[1]));
}
