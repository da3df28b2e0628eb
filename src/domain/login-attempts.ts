import { isIPv4, isIPv6 } from 'node:net';
import type { RedisClient } from '../redis.js';
import { AppError } from '../errors.js';

/** How long failed attempts are remembered, counted from an account's first failure. */
export const FAILURE_WINDOW_MS = 15 * 60_000;

export interface LoginAttemptLimits {
  /** Failures allowed per (account, client network) in the window. */
  perAccountAndNetwork: number;
  /** Failures allowed per account from every network together: the ceiling for distributed guessing. */
  perAccount: number;
}

/**
 * The account a login attempt is charged to. The resolved user id when the email names an
 * account, so no spelling of an email (case, Unicode folding) can reach a fresh counter;
 * otherwise the email itself, which only ever names nobody.
 */
export const accountOfUser = (userId: number) => `user:${userId}`;
export const accountOfUnknownEmail = (email: string) => `email:${email.toLowerCase()}`;

// Checks and counts both keys at once; they share a hash tag, so this works on Redis Cluster too.
const READ = `return {tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('PTTL', KEYS[2])}`;
const FAIL = `
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
end
return 1`;

/** `rate_limited` with the seconds to wait, which the HTTP layer sends as `Retry-After`. */
export class LockedOut extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', `Too many failed attempts for this account; retry in ${retryAfterSeconds} s`);
  }
}

/**
 * Failed logins (and failed current-password checks), counted in Redis so the limits hold
 * across pods. Only failures count: a stranger cannot lock an owner out from another network
 * (the per-network counter is theirs), only by passing the much higher per-account ceiling,
 * and the owner's own successes never count against them. A Redis outage never locks
 * anybody out: the check then lets the attempt through.
 */
export class LoginAttempts {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly limits: LoginAttemptLimits,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Throws `rate_limited` (with the seconds to wait) when this account is locked for this network. */
  async assertAllowed(account: string, ip: string): Promise<void> {
    const counts = await this.read(account, ip);
    if (!counts) return;
    const [mine, all, ttlMs] = counts;
    if (mine < this.limits.perAccountAndNetwork && all < this.limits.perAccount) return;
    throw new LockedOut(Math.max(1, Math.ceil(ttlMs / 1000)));
  }

  async recordFailure(account: string, ip: string): Promise<void> {
    await this.redis.eval(FAIL, 2, ...this.keys(account, ip), FAILURE_WINDOW_MS).catch(this.onError);
  }

  /** A success forgives this network's failures (a typo), never the account-wide ones. */
  async recordSuccess(account: string, ip: string): Promise<void> {
    await this.redis.del(this.keys(account, ip)[0]).catch(this.onError);
  }

  private async read(account: string, ip: string): Promise<[number, number, number] | null> {
    try {
      return (await this.redis.eval(READ, 2, ...this.keys(account, ip))) as [number, number, number];
    } catch (err) {
      this.onError(err);
      return null;
    }
  }

  private keys(account: string, ip: string): [string, string] {
    const base = `${this.prefix}:login-failures:{${account}}`;
    return [`${base}:net:${networkOf(ip)}`, `${base}:all`];
  }
}

/**
 * The client's network as a limiter key: an IPv4 address, or an IPv6 /64 (one subscriber
 * usually holds a whole /64, so keying on the full address would give them 2^64 counters).
 * IPv4-mapped IPv6 addresses count as the IPv4 address.
 */
export function networkOf(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, without leading zeros ("2001:db8::1" -> 2001,db8,0,...,1). */
function expandIPv6(ip: string): string[] {
  const [head, tail] = ip.split('%')[0]!.split('::') as [string, string | undefined];
  const parts = (s: string | undefined) => (s ? s.split(':') : []);
  const left = parts(head);
  const right = parts(tail);
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => (g.includes('.') ? g : Number.parseInt(g, 16).toString(16)));
}
