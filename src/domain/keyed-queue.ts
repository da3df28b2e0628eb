/**
 * Runs tasks one at a time per key, in arrival order, and different keys in parallel.
 * Used per conversation: Postgres hands out seqs under a row lock, but replies from
 * several pool connections can come back out of order; storing and broadcasting one
 * message at a time per conversation keeps each pod's broadcasts in seq order.
 */
export class KeyedQueue<K> {
  private readonly tails = new Map<K, Promise<unknown>>();

  run<T>(key: K, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    // Forget the key once its queue drains, so idle conversations cost nothing.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  get size(): number {
    return this.tails.size;
  }
}
