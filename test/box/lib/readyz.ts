// Whether a lane answers /readyz with 200 (ready), as an operator's probe through a tunnel would
// see it; and a bounded wait for it. Used by the box suites and bench:deploy.

/** One probe: true only for a 200 within 2 s. */
export async function isReady(baseUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Probes every 250 ms until ready; throws naming the URL after `timeoutMs`. */
export async function waitReady(baseUrl: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await isReady(baseUrl)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${baseUrl}/readyz did not answer 200 within ${timeoutMs / 1000} s`);
}
