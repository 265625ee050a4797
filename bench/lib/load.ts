/**
 * Drives `n` calls through `call`, keeping at most `window` of them in flight:
 * each completion starts the next call. Resolves when all have settled;
 * rejects on the first call that throws.
 */
export function closedLoop<T>(n: number, window: number, call: (i: number) => Promise<T>, onResult?: (r: T, i: number) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    let active = 0;
    let failed = false;
    const launch = (): void => {
      while (!failed && active < window && next < n) {
        const i = next++;
        active++;
        call(i).then(
          (r) => {
            active--;
            onResult?.(r, i);
            if (next < n) launch();
            else if (active === 0) resolve();
          },
          (err: unknown) => {
            failed = true;
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
      }
    };
    if (n === 0) resolve();
    else launch();
  });
}

/**
 * Open-loop paced sender: starts `total` calls at `rate` per second, waking
 * every ~1 ms and starting whatever the schedule says is due by then (so a
 * late tick catches up instead of lowering the rate). Each call gets the time
 * it was due: latency measured from there includes the time the sender itself
 * fell behind (a busy machine delays the sender too; measuring from the actual
 * start would hide exactly the stalls being measured). Does not wait for the
 * calls to settle.
 */
export async function paced(rate: number, total: number, start: (i: number, dueAt: number) => void): Promise<number> {
  const t0 = performance.now();
  const interval = 1000 / rate;
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000));
    while (sent < due) {
      start(sent, t0 + (sent + 1) * interval);
      sent++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return sent;
}
