/**
 * Exponential backoff with jitter (half fixed, half random), capped; a delay
 * the destination asked for (Retry-After) is honoured as a floor.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, retryAfterMs?: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  if (retryAfterMs !== undefined && retryAfterMs > 0) return Math.max(retryAfterMs, Math.min(jittered, retryAfterMs * 1.2));
  return Math.round(jittered);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
