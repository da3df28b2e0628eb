import type { FastifyBaseLogger } from 'fastify';
import type { Server, Socket } from 'socket.io';
import type { Config } from '../config.js';
import { isRedisReady, type RedisClient } from '../redis.js';
import { presenceDueKey, userPresenceKey, userSocketsKey } from '../redis-keys.js';
import { allNamespaces } from './namespaces.js';
import type { SocketData } from './protocol.js';

/**
 * Claims a place for one socket in its user's sorted set (KEYS[1]) if fewer than ARGV[4]
 * unexpired ones are there. Members are `<pod>/<socket>`, scores the time their lease runs out.
 * The same step marks the user online in their presence hash (KEYS[2], same slot): 2 when this
 * made them online (the first socket, on every pod together, and not inside a grace period), 1
 * when they already were, 0 when refused.
 */
const CLAIM_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local was = redis.call('HGET', KEYS[2], 'online')
redis.call('HSET', KEYS[2], 'online', '1')
redis.call('HDEL', KEYS[2], 'gone')
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if was == '1' then return 1 end
return 2
`;

/**
 * Renews the leases of a user's sockets on one pod, and keeps their presence hash. 2 when the
 * user had been settled offline meanwhile (this pod stalled past a lease): online again.
 */
const RENEW_SCRIPT = `
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local was = redis.call('HGET', KEYS[2], 'online')
redis.call('HSET', KEYS[2], 'online', '1')
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if was == '1' then return 1 end
return 2
`;

/**
 * A socket left: drops its member (and expired ones). 1 when it was the user's last live socket
 * anywhere: their grace period starts now (`gone`); nothing is announced yet.
 */
const RELEASE_SCRIPT = `
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
if redis.call('HGET', KEYS[2], 'online') ~= '1' then return 0 end
redis.call('HSET', KEYS[2], 'gone', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;

/**
 * The sweep's verdict on one user, atomic over their two keys: {0, t} still online (a live
 * lease, or inside the grace period): look again at t; {1, last_seen} offline now, and this
 * caller is the one to announce it (the keys are gone, so no other caller sees it again);
 * {-1, 0} nothing to do. `last_seen` is when the last socket left, or, for sockets whose pod
 * stopped renewing them, its last renewal.
 */
const SETTLE_SCRIPT = `
local now = tonumber(ARGV[1])
local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if top[2] and tonumber(top[2]) > now then return {0, tonumber(top[2])} end
if redis.call('HGET', KEYS[2], 'online') ~= '1' then
  redis.call('DEL', KEYS[1])
  return {-1, 0}
end
local seen = tonumber(redis.call('HGET', KEYS[2], 'gone') or '0')
if top[2] then seen = math.max(seen, tonumber(top[2]) - tonumber(ARGV[3])) end
if seen == 0 then seen = now end
local due = seen + tonumber(ARGV[2])
if due > now then return {0, due} end
redis.call('DEL', KEYS[1], KEYS[2])
return {1, seen}
`;

type Claim = (sockets: string, presence: string, now: number, expiry: number, member: string, max: number, ttl: number) => Promise<number>;
type Renew = (sockets: string, presence: string, expiry: number, ttl: number, ...members: string[]) => Promise<number>;
type Release = (sockets: string, presence: string, now: number, member: string, ttl: number) => Promise<number>;
type Settle = (sockets: string, presence: string, now: number, graceMs: number, leaseMs: number) => Promise<[number, number]>;
type AnySocket = Socket<any, any, any, SocketData>;

/** What presence does with the transitions the leases find; each is called once over every pod. */
export interface PresenceHooks {
  /** PRESENCE_GRACE_MS. */
  graceMs: number;
  /**
   * The user's first socket anywhere (not inside a grace period): they are online. `socket` is
   * the one connecting, null when a renewal found them settled offline while still connected.
   */
  online(userId: number, socket: AnySocket | null): void;
  /** The user's last socket has been gone for the grace period (or its pod died): offline since `lastSeenAt` (ms). */
  offline(userId: number, lastSeenAt: number): void;
}

export interface SocketCapOptions {
  max: number;
  podId: string;
  /** How long a socket's place outlives its pod's last renewal; a dead pod's places are free again after it. */
  leaseMs?: number;
  /**
   * Told when a disconnect left the user with no live socket anywhere (the release script says
   * so, no extra command): offline notifications start counting from it.
   */
  onLastSocketGone?: (userId: number) => void;
  /** Presence on the same leases; without it the cap only counts. */
  presence?: PresenceHooks;
  /** How often this pod looks for presence changes that are due; every pod does, each change is taken by one. */
  sweepMs?: number;
}

/** Users settled per sweep round trip. */
const SWEEP_BATCH = 500;

/**
 * MAX_SOCKETS_PER_USER over every namespace on every pod, and presence on the same leases.
 * Each user has one sorted set in Redis, one member per live socket, scored by when its lease
 * runs out: a connect is one round trip (a script: drop expired members, count, add, mark
 * online), a disconnect one script, and each pod renews its own sockets' leases every third of
 * `leaseMs`. A per-user set (not one hash per pod) keeps every operation on a user's slot, and a
 * pod that dies without saying so needs no one to clean up after it: its members simply expire.
 *
 * Presence: the user's hash (same slot) says online from the first claim until a settle finds
 * no live lease and the grace period over; the settle deletes both keys, so exactly one caller
 * announces each offline. Users whose state may change are in one due set (the only cross-user
 * key), scored by when to look: every pod's sweep takes due users from it (ZREM: one taker
 * each) and settles them. Every score is written with ZADD LT (only earlier, or new), so no
 * writer can push a pending check later than another one asked for.
 */
export class SocketCap {
  private readonly claim: Claim;
  private readonly renew: Renew;
  private readonly release: Release;
  private readonly settle: Settle;
  private readonly timer: NodeJS.Timeout;
  private readonly sweepTimer: NodeJS.Timeout | null = null;
  private readonly leaseMs: number;
  private sweeping = false;

  constructor(
    private readonly io: Server<any, any, any, any>,
    private readonly redis: RedisClient,
    private readonly config: Pick<Config, 'REDIS_PREFIX'>,
    private readonly options: SocketCapOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    this.leaseMs = options.leaseMs ?? 45_000;
    if (!('socketCapClaim2' in redis)) {
      redis.defineCommand('socketCapClaim2', { numberOfKeys: 2, lua: CLAIM_SCRIPT });
      redis.defineCommand('socketCapRenew2', { numberOfKeys: 2, lua: RENEW_SCRIPT });
      redis.defineCommand('socketCapRelease', { numberOfKeys: 2, lua: RELEASE_SCRIPT });
      redis.defineCommand('presenceSettle', { numberOfKeys: 2, lua: SETTLE_SCRIPT });
    }
    const commands = redis as unknown as { socketCapClaim2: Claim; socketCapRenew2: Renew; socketCapRelease: Release; presenceSettle: Settle };
    this.claim = commands.socketCapClaim2.bind(redis);
    this.renew = commands.socketCapRenew2.bind(redis);
    this.release = commands.socketCapRelease.bind(redis);
    this.settle = commands.presenceSettle.bind(redis);
    this.timer = setInterval(() => void this.renewAll(), this.leaseMs / 3).unref();
    if (options.presence) {
      const sweepMs = options.sweepMs ?? Math.min(1000, Math.max(100, Math.floor(options.presence.graceMs / 10)));
      this.sweepTimer = setInterval(() => void this.sweep(), sweepMs).unref();
    }
  }

  /** Namespace middleware; put it last, so a socket refused by an earlier one never takes a place. */
  middleware() {
    return async (socket: AnySocket, next: (err?: Error) => void) => {
      const userId = socket.data.user.id;
      const member = this.member(socket);
      const sockets = userSocketsKey(this.config, userId);
      const presence = userPresenceKey(this.config, userId);
      let claimed: number;
      try {
        if (!isRedisReady(this.redis)) throw new Error(`redis is ${this.redis.status}`);
        const now = Date.now();
        claimed = await this.claim(sockets, presence, now, now + this.leaseMs, member, this.options.max, this.hashTtl());
      } catch (err) {
        // Redis down: the adapter cannot reach other pods either; hold the line on this pod alone.
        this.log.warn({ err: (err as Error).message }, 'socket cap: redis unavailable, counting this pod only');
        claimed = this.localCount(userId) < this.options.max ? 1 : 0;
      }
      if (claimed === 0) return next(new Error('rate_limited'));
      socket.once('disconnect', () => void this.left(userId, member));
      if (claimed === 2 && this.options.presence) {
        this.schedule([[userId, Date.now() + this.leaseMs]]);
        this.options.presence.online(userId, socket);
      }
      next();
    };
  }

  close(): void {
    clearInterval(this.timer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  /**
   * One round of the sweep (the timer runs it; tests may call it): takes the due users, settles
   * each, announces those now offline and reschedules the rest. Returns how many went offline.
   */
  async sweep(now = Date.now()): Promise<number> {
    const hooks = this.options.presence;
    if (!hooks || this.sweeping || !isRedisReady(this.redis)) return 0;
    this.sweeping = true;
    let offline = 0;
    try {
      const dueKey = presenceDueKey(this.config);
      const due = await this.redis.zrangebyscore(dueKey, '-inf', now, 'LIMIT', 0, SWEEP_BATCH);
      const taken = await Promise.all(due.map(async (id) => ((await this.redis.zrem(dueKey, id)) === 1 ? Number(id) : null)));
      const later: Array<[number, number]> = [];
      await Promise.all(
        taken.map(async (userId) => {
          if (userId === null) return;
          try {
            const [state, at] = await this.settle(userSocketsKey(this.config, userId), userPresenceKey(this.config, userId), now, hooks.graceMs, this.leaseMs);
            if (state === 1) {
              offline++;
              hooks.offline(userId, Number(at));
            } else if (state === 0) later.push([userId, Number(at)]);
          } catch (err) {
            // Not settled: back in the set, so the next round (here or elsewhere) tries again.
            later.push([userId, now]);
            throw err;
          }
        }),
      ).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'presence sweep: could not settle some users'));
      if (later.length > 0) await this.schedule(later);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'presence sweep failed');
    } finally {
      this.sweeping = false;
    }
    return offline;
  }

  private async left(userId: number, member: string): Promise<void> {
    try {
      const now = Date.now();
      const last = await this.release(userSocketsKey(this.config, userId), userPresenceKey(this.config, userId), now, member, this.hashTtl());
      if (last === 1) this.options.onLastSocketGone?.(userId);
      if (last === 1 && this.options.presence) await this.schedule([[userId, now + this.options.presence.graceMs]]);
    } catch {
      // Redis down: the lease runs out by itself and the sweep settles the user then.
    }
  }

  /** Asks the sweep to look at these users no later than the given times (ZADD LT). */
  private schedule(entries: ReadonlyArray<readonly [number, number]>): Promise<unknown> {
    if (!this.options.presence || entries.length === 0) return Promise.resolve();
    const args = entries.flatMap(([userId, at]) => [at, String(userId)]);
    return this.redis.zadd(presenceDueKey(this.config), 'LT', ...args).catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message }, 'presence: could not schedule a check');
    });
  }

  /** The user's keys outlive every lease and grace period, so the sweep still finds a dead pod's sockets. */
  private hashTtl(): number {
    return 2 * this.leaseMs + (this.options.presence?.graceMs ?? 0);
  }

  private member(socket: AnySocket): string {
    return `${this.options.podId}/${socket.id}`;
  }

  private localSocketsByUser(): Map<number, AnySocket[]> {
    const byUser = new Map<number, AnySocket[]>();
    for (const nsp of allNamespaces(this.io).values()) {
      for (const socket of nsp.sockets.values() as IterableIterator<AnySocket>) {
        const id = socket.data.user?.id;
        if (id === undefined) continue;
        const list = byUser.get(id);
        if (list) list.push(socket);
        else byUser.set(id, [socket]);
      }
    }
    return byUser;
  }

  private localCount(userId: number): number {
    return this.localSocketsByUser().get(userId)?.length ?? 0;
  }

  private async renewAll(): Promise<void> {
    const expiry = Date.now() + this.leaseMs;
    const users = [...this.localSocketsByUser()];
    const renewals = users.map(([userId, sockets]) =>
      this.renew(userSocketsKey(this.config, userId), userPresenceKey(this.config, userId), expiry, this.hashTtl(), ...sockets.map((s) => this.member(s))),
    );
    const results = await Promise.allSettled(renewals);
    results.forEach((r, i) => {
      if (r.status === 'fulfilled' && r.value === 2) this.options.presence?.online(users[i]![0], null);
    });
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) this.log.warn({ failed }, 'socket cap: could not renew some leases');
    // Every user of this pod has a check due by their lease's end (one command per 1,000 users),
    // whatever happened to an earlier one: so their sockets' pod dying is always noticed.
    for (let i = 0; i < users.length; i += 1000) {
      await this.schedule(users.slice(i, i + 1000).map(([userId]) => [userId, expiry] as const));
    }
  }
}
