/** Runs tasks one after another per key (per chat), concurrently across keys. */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<void>>();

  get active(): number {
    return this.tails.size;
  }

  run(key: string, task: () => Promise<void>): Promise<void> {
    const prev = this.tails.get(key);
    const next = prev ? prev.then(task, task) : task();
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
