/**
 * A minimal typed event emitter. The client runs in browsers too, where Node's `events`
 * module would need a bundler polyfill; this is all the client needs.
 */
export type Listener<Args extends unknown[]> = (...args: Args) => void;

export class TypedEmitter<Events extends { [E in keyof Events]: (...args: never[]) => void }> {
  private readonly listeners = new Map<keyof Events, Set<(...args: never[]) => void>>();

  /** Subscribes and returns the matching unsubscribe function. */
  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): void {
    this.listeners.get(event)?.delete(listener);
  }

  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      callSafely(listener as (...a: Parameters<Events[E]>) => void, ...args);
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}

/**
 * Calls an application callback so that its exception cannot break the client's own
 * bookkeeping (a cursor half advanced); the error is still reported as uncaught.
 */
export function callSafely<Args extends unknown[]>(fn: (...args: Args) => void, ...args: Args): void {
  try {
    fn(...args);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
