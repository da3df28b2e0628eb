/**
 * Token buckets keyed by user: `rate` tokens per second, bursts up to `burst`.
 * Kept in the pod's memory: a per-message Redis round trip would cost more than the
 * message itself, and a user's sockets usually share a pod (sticky sessions).
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
