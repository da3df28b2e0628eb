import type { FastifyBaseLogger } from 'fastify';
import type { Server, Socket } from 'socket.io';
import type { Config } from '../config.js';
import { isRedisReady, type RedisClient } from '../redis.js';
import { userSocketsKey } from '../redis-keys.js';
import { allNamespaces } from './namespaces.js';
import type { SocketData } from './protocol.js';

/**
 * Claims a place for one socket in its user's sorted set if fewer than ARGV[4] unexpired
 * ones are there. Members are `<pod>/<socket>`, scores the time their lease runs out.
 */
const CLAIM_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

/** Renews the leases of a user's sockets on one pod. */
const RENEW_SCRIPT = `
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

type Claim = (key: string, now: number, expiry: number, member: string, max: number, ttl: number) => Promise<number>;
type Renew = (key: string, expiry: number, ttl: number, ...members: string[]) => Promise<number>;
type AnySocket = Socket<any, any, any, SocketData>;

export interface SocketCapOptions {
  max: number;
  podId: string;
  /** How long a socket's place outlives its pod's last renewal; a dead pod's places are free again after it. */
  leaseMs?: number;
  /**
   * Told when a disconnect left the user with no live socket anywhere (one more ZCOUNT per
   * disconnect, only when set): offline notifications start counting from it.
   */
  onLastSocketGone?: (userId: number) => void;
}

/**
 * MAX_SOCKETS_PER_USER over every namespace on every pod. Each user has one sorted set in
 * Redis, one member per live socket, scored by when its lease runs out: a connect is one
 * round trip (a script: drop expired members, count, add), a disconnect one ZREM, and each pod
 * renews its own sockets' leases every third of `leaseMs`. A per-user set (not one hash per
 * pod) keeps every operation on a single key, hence on one Redis Cluster slot, and a pod that
 * dies without saying so needs no one to clean up after it: its members simply expire.
 */
export class SocketCap {
  private readonly claim: Claim;
  private readonly renew: Renew;
  private readonly timer: NodeJS.Timeout;
  private readonly leaseMs: number;

  constructor(
    private readonly io: Server<any, any, any, any>,
    private readonly redis: RedisClient,
    private readonly config: Pick<Config, 'REDIS_PREFIX'>,
    private readonly options: SocketCapOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    this.leaseMs = options.leaseMs ?? 45_000;
    if (!('socketCapClaim' in redis)) {
      redis.defineCommand('socketCapClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
      redis.defineCommand('socketCapRenew', { numberOfKeys: 1, lua: RENEW_SCRIPT });
    }
    const commands = redis as unknown as { socketCapClaim: Claim; socketCapRenew: Renew };
    this.claim = commands.socketCapClaim.bind(redis);
    this.renew = commands.socketCapRenew.bind(redis);
    this.timer = setInterval(() => void this.renewAll(), this.leaseMs / 3).unref();
  }

  /** Namespace middleware; put it last, so a socket refused by an earlier one never takes a place. */
  middleware() {
    return async (socket: AnySocket, next: (err?: Error) => void) => {
      const userId = socket.data.user.id;
      const member = this.member(socket);
      let ok: boolean;
      try {
        if (!isRedisReady(this.redis)) throw new Error(`redis is ${this.redis.status}`);
        ok = (await this.claim(userSocketsKey(this.config, userId), Date.now(), Date.now() + this.leaseMs, member, this.options.max, this.leaseMs)) === 1;
      } catch (err) {
        // Redis down: the adapter cannot reach other pods either; hold the line on this pod alone.
        this.log.warn({ err: (err as Error).message }, 'socket cap: redis unavailable, counting this pod only');
        ok = this.localCount(userId) < this.options.max;
      }
      if (!ok) return next(new Error('rate_limited'));
      socket.once('disconnect', () => {
        const released = this.redis.zrem(userSocketsKey(this.config, userId), member);
        const gone = this.options.onLastSocketGone;
        if (!gone) return void released.catch(() => {});
        released
          .then(() => this.redis.zcount(userSocketsKey(this.config, userId), Date.now(), '+inf'))
          .then((live) => live === 0 && gone(userId))
          .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'socket cap: could not tell whether a user went offline'));
      });
      next();
    };
  }

  close(): void {
    clearInterval(this.timer);
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
    const renewals = [...this.localSocketsByUser()].map(([userId, sockets]) =>
      this.renew(userSocketsKey(this.config, userId), expiry, this.leaseMs, ...sockets.map((s) => this.member(s))),
    );
    const failed = (await Promise.allSettled(renewals)).filter((r) => r.status === 'rejected').length;
    if (failed > 0) this.log.warn({ failed }, 'socket cap: could not renew some leases');
  }
}
