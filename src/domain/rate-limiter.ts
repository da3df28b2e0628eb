/**
 * Token buckets keyed by user: `rate` tokens per second, bursts up to `burst`, in this
 * process's memory. The shared limiter below falls back to it while Redis is unreachable.
 */
export class RateLimiter {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly rate: number,
    private readonly burst: number = rate * 2,
    private readonly now: () => number = () => performance.now(),
  ) {
    // Idle buckets are full again after burst/rate seconds; forgetting them is lossless.
    this.sweeper = setInterval(() => this.sweep(), 60_000).unref();
  }

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: number): boolean {
    const t = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((t - bucket.at) / 1000) * this.rate);
    bucket.at = t;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return allowed;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const fullAfter = (this.burst / this.rate) * 1000;
    const t = this.now();
    for (const [key, b] of this.buckets) if (t - b.at > fullAfter) this.buckets.delete(key);
  }
}

/** Where the shared buckets live (Redis in production): takes up to `want` tokens of `key`'s bucket. */
export interface TokenStore {
  lease(key: number, want: number): Promise<{ granted: number; retryInMs: number }>;
}

interface Budget {
  tokens: number;
  expiresAt: number;
  blockedUntil: number;
  /** Messages waiting for the next lease; it asks for enough tokens for all of them. */
  waiting: number;
  /** The lease request has been sent: messages arriving now wait for the next one. */
  asking: boolean;
  /** The lease being asked for; resolves false when the store did not answer. */
  refill?: Promise<boolean> | undefined;
}

/**
 * A rate per key over every pod, without a Redis round trip per message. The store holds the
 * one bucket per key; a pod leases a few tokens at once (`leaseSize`) and spends them from
 * memory, so a message costs a round trip only once per lease, and a refused one none while the
 * store's answer ("next token in N ms") holds. Tokens leave the shared bucket before they are
 * spent, so all pods together never exceed the rate; at worst a pod forgets up to
 * leaseSize - 1 unspent tokens when its lease expires (`leaseMs`), which only errs on the
 * strict side. While the store is unreachable each pod falls back to its own bucket.
 */
export class SharedRateLimiter {
  private readonly budgets = new Map<number, Budget>();
  private readonly sweeper: NodeJS.Timeout;
  readonly leaseSize: number;

  constructor(
    private readonly store: TokenStore,
    private readonly fallback: RateLimiter,
    rate: number,
    private readonly onStoreError: (err: Error) => void = () => {},
    private readonly leaseMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {
    // A quarter second's worth: a user at the full rate costs four round trips a second over
    // all pods, a typical user (far below it) about one per burst; a lease that expires unspent
    // wastes at most a quarter of one second's allowance.
    this.leaseSize = Math.max(1, Math.ceil(rate / 4));
    this.sweeper = setInterval(() => this.sweep(), 60_000).unref();
  }

  /** Takes one token for `key`; false when the key is over its rate on all pods together. */
  async take(key: number): Promise<boolean> {
    const budget = this.budgets.get(key) ?? this.newBudget(key);
    // Each lease grants at least one token or blocks the key, so this ends; messages that
    // arrive while a lease is asked for wait for it, and ask together for the next one.
    for (;;) {
      if (this.spend(budget)) return true;
      if (this.now() < budget.blockedUntil) return false;
      // Counted into the lease not yet sent (never twice into one); one in flight counts no one new.
      if (!budget.asking) budget.waiting += 1;
      budget.refill ??= this.refill(key, budget).finally(() => (budget.refill = undefined));
      const answered = await budget.refill;
      if (!answered) return this.fallback.take(key);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.fallback.close();
  }

  private newBudget(key: number): Budget {
    const budget: Budget = { tokens: 0, expiresAt: 0, blockedUntil: 0, waiting: 0, asking: false };
    this.budgets.set(key, budget);
    return budget;
  }

  private spend(budget: Budget): boolean {
    if (budget.tokens < 1 || this.now() >= budget.expiresAt) return false;
    budget.tokens -= 1;
    return true;
  }

  private async refill(key: number, budget: Budget): Promise<boolean> {
    // One microtask's grace, so messages decoded in the same turn share this lease.
    await Promise.resolve();
    budget.asking = true;
    const want = Math.max(this.leaseSize, budget.waiting);
    budget.waiting = 0;
    try {
      const { granted, retryInMs } = await this.store.lease(key, want);
      const t = this.now();
      budget.tokens = granted;
      budget.expiresAt = t + this.leaseMs;
      budget.blockedUntil = granted > 0 ? 0 : t + retryInMs;
      return true;
    } catch (err) {
      // The waiting messages use this pod's own bucket; the next one asks the store again.
      this.onStoreError(err as Error);
      return false;
    } finally {
      budget.asking = false;
    }
  }

  private sweep(): void {
    const t = this.now();
    for (const [key, b] of this.budgets) if (!b.refill && t >= b.expiresAt && t >= b.blockedUntil) this.budgets.delete(key);
  }
}
