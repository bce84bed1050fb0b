// Figures the hostile suite prints: cases tried, refused, accepted-and-safe, and the measured worst
// case (time and memory) of each bounded path. A seeded PRNG keeps every run's cases the same.

export interface Figures {
  path: string;
  tried: number;
  refused: number;
  acceptedSafe: number;
  worstMs: number;
  worstCase: string;
  /** Largest growth of the process's RSS seen during one case (peak sampled every 5 ms), in MiB. */
  worstRssMiB: number;
  worstRssCase: string;
}

export function newFigures(path: string): Figures {
  return { path, tried: 0, refused: 0, acceptedSafe: 0, worstMs: 0, worstCase: "", worstRssMiB: 0, worstRssCase: "" };
}

/** Runs one case, timing it and watching RSS; `outcome` says whether it was refused or accepted safely. */
export async function measure(
  f: Figures,
  name: string,
  run: () => Promise<"refused" | "accepted"> | "refused" | "accepted",
): Promise<{ outcome: "refused" | "accepted"; ms: number }> {
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const t0 = process.hrtime.bigint();
  let outcome: "refused" | "accepted";
  try {
    outcome = await run();
  } finally {
    clearInterval(sampler);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const grown = (Math.max(peak, process.memoryUsage().rss) - rss0) / 1048576;
  f.tried += 1;
  if (outcome === "refused") f.refused += 1;
  else f.acceptedSafe += 1;
  if (ms > f.worstMs) {
    f.worstMs = ms;
    f.worstCase = name;
  }
  if (grown > f.worstRssMiB) {
    f.worstRssMiB = grown;
    f.worstRssCase = name;
  }
  return { outcome, ms };
}

export function printFigures(f: Figures): void {
  process.stdout.write(
    `\nhostile ${f.path}: ${f.tried} cases tried, ${f.refused} refused, ${f.acceptedSafe} accepted-and-safe; worst ${f.worstMs.toFixed(1)} ms (${f.worstCase}), worst RSS growth ${f.worstRssMiB.toFixed(1)} MiB (${f.worstRssCase})\n`,
  );
}

/** mulberry32: small deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
