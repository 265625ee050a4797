import type { ActorContext, Behaviour, StepResult } from '../../actors/types.ts';
import type { Routed } from './protocol.ts';

/**
 * One resident actor. Kept small on purpose: a million idle ones must fit in
 * well under a gigabyte. `mailbox` is non-null only while the actor is being
 * revived from its snapshot; `last` is in seconds so it stays a small integer.
 */
interface Cell {
  state: unknown;
  last: number;
  dirty: boolean;
  mailbox: Routed[] | null;
}

export interface HostDeps {
  behaviourFor(key: string): Behaviour<unknown>;
  load(keys: string[]): Promise<Array<unknown | undefined>>;
  /** Called for every message processed, in mailbox order. */
  onStep(item: Routed, result: StepResult<unknown>): void;
  /** Called when a behaviour throws: the actor is dropped and revived from its last snapshot. */
  onCrash(item: Routed, err: unknown): void;
  /** Called when the mailbox of an actor being revived is full. */
  onOverflow(item: Routed): void;
  /** Called after a revival batch has been processed, so effects can be flushed. */
  afterLoad(): void;
  onLoadError(err: unknown): void;
  mailboxLimit: number;
  context(): ActorContext;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The actors of one shard: in-order processing, revival on demand, passivation. */
export class ActorHost {
  private readonly cells = new Map<string, Cell>();
  private readonly dirtyKeys: string[] = [];
  private loadQueue: string[] = [];
  private readonly orphans: Array<[string, unknown]> = [];
  private loadScheduled = false;
  restarts = 0;
  passivated = 0;
  processed = 0;

  constructor(private readonly deps: HostDeps) {}

  get resident(): number {
    return this.cells.size;
  }

  get loading(): number {
    let n = 0;
    for (const c of this.cells.values()) if (c.mailbox) n++;
    return n;
  }

  receive(item: Routed, ctx: ActorContext): void {
    const key = item[1];
    let cell = this.cells.get(key);
    if (!cell) {
      cell = { state: undefined, last: nowSeconds(), dirty: false, mailbox: [] };
      this.cells.set(key, cell);
      this.requestLoad(key);
    }
    if (cell.mailbox) {
      if (cell.mailbox.length >= this.deps.mailboxLimit) this.deps.onOverflow(item);
      else cell.mailbox.push(item);
      return;
    }
    this.step(key, cell, item, ctx);
  }

  /**
   * Creates actors in their initial state without a message (benchmarks,
   * warm-up). An initial state is what revival of an unknown key produces, so
   * it needs no snapshot.
   */
  spawn(keys: readonly string[]): void {
    const last = nowSeconds();
    for (const key of keys) {
      if (this.cells.has(key)) continue;
      this.cells.set(key, { state: this.deps.behaviourFor(key).initial(key), last, dirty: false, mailbox: null });
    }
  }

  private step(key: string, cell: Cell, item: Routed, ctx: ActorContext): void {
    let result: StepResult<unknown>;
    try {
      result = this.deps.behaviourFor(key).receive(cell.state, { origin: item[2], env: item[3] }, ctx);
    } catch (err) {
      this.cells.delete(key);
      // Earlier steps of this turn were acknowledged: their state is saved with the next flush.
      if (cell.dirty) this.orphans.push([key, cell.state]);
      this.restarts++;
      this.deps.onCrash(item, err);
      return;
    }
    this.processed++;
    cell.last = nowSeconds();
    if (result.state !== cell.state) {
      cell.state = result.state;
      if (!cell.dirty) {
        cell.dirty = true;
        this.dirtyKeys.push(key);
      }
    }
    this.deps.onStep(item, result);
  }

  private requestLoad(key: string): void {
    this.loadQueue.push(key);
    if (this.loadScheduled) return;
    this.loadScheduled = true;
    setImmediate(() => void this.loadBatch());
  }

  private async loadBatch(): Promise<void> {
    const keys = this.loadQueue;
    this.loadQueue = [];
    this.loadScheduled = false;
    let states: Array<unknown | undefined>;
    try {
      states = await this.deps.load(keys);
    } catch (err) {
      this.deps.onLoadError(err);
      setTimeout(() => {
        for (const k of keys) this.requestLoad(k);
      }, 200);
      return;
    }
    const ctx = this.deps.context();
    keys.forEach((key, i) => {
      const cell = this.cells.get(key);
      if (!cell?.mailbox) return;
      const mailbox = cell.mailbox;
      cell.mailbox = null;
      const loaded = states[i];
      cell.state = loaded === undefined ? this.deps.behaviourFor(key).initial(key) : loaded;
      for (let m = 0; m < mailbox.length; m++) {
        const live = this.cells.get(key);
        const item = mailbox[m] as Routed;
        // A crash drops the cell: the rest of the mailbox revives it again, in order.
        if (live === cell) this.step(key, cell, item, ctx);
        else this.receive(item, ctx);
      }
    });
    this.deps.afterLoad();
  }

  /** States changed since the last call, to be persisted with the next flush. */
  takeDirty(): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = this.orphans.splice(0);
    for (const key of this.dirtyKeys) {
      const cell = this.cells.get(key);
      if (cell?.dirty) {
        cell.dirty = false;
        out.push([key, cell.state]);
      }
    }
    this.dirtyKeys.length = 0;
    return out;
  }

  /** Drops idle, persisted actors from memory. Returns how many went. */
  passivate(idleSeconds: number): number {
    const cutoff = nowSeconds() - idleSeconds;
    let n = 0;
    for (const [key, cell] of this.cells) {
      if (cell.mailbox || cell.dirty || cell.last > cutoff) continue;
      this.cells.delete(key);
      n++;
    }
    this.passivated += n;
    return n;
  }
}
