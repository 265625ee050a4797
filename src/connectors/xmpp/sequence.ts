import type { DeliveryResult, DeliverySequence } from '../../core/connector.ts';

const BROKEN: DeliveryResult = { ok: false, error: { code: 'DELIVERY_UNAVAILABLE', message: 'an earlier delivery of this chat failed', retryable: true } };

/**
 * One chat's overlapping deliveries (Connector.sequence): each call makes
 * its writes once the calls before it have made theirs, so the server gets
 * them in call order, and the main stream they went on is noted. A call
 * that touches rooms (another stream) waits until every call before it has
 * finished, and holds later ones until it has. Once a call fails, every
 * later call fails too, even if its own write went through: its retry must
 * not overtake the failed one.
 */
export class WriteSequence implements DeliverySequence {
  broken = false;
  /** The main stream of the sequence's first write: a later write on another stream fails. */
  stream: number | undefined;
  private written: Promise<void> = Promise.resolve();
  private settled: Promise<void> = Promise.resolve();
  private unfinished = 0;

  /** Calls started and not finished. */
  get inFlight(): number {
    return this.unfinished;
  }

  /** Runs `call` in its turn; `call` says `wrote()` right after its last write is made (the order is then fixed). */
  async run(exclusive: boolean, call: (wrote: () => void) => Promise<DeliveryResult[]>): Promise<DeliveryResult[]> {
    const turn = exclusive ? this.settled : this.written;
    let wrote: () => void = () => undefined;
    let finished: () => void = () => undefined;
    const written = new Promise<void>((resolve) => (wrote = resolve));
    const done = new Promise<void>((resolve) => (finished = resolve));
    this.written = exclusive ? done : written;
    this.settled = Promise.all([this.settled, done]).then(() => undefined);
    this.unfinished++;
    try {
      await turn;
      if (this.broken) return [BROKEN];
      const results = await call(wrote);
      if (results.some((r) => !r.ok)) {
        this.broken = true;
        return results;
      }
      return this.broken ? [BROKEN] : results;
    } catch (err) {
      this.broken = true;
      throw err;
    } finally {
      this.unfinished--;
      wrote();
      finished();
    }
  }
}
