import type { FastifyBaseLogger } from 'fastify';
import type { Socket } from 'socket.io';
import type { Config } from '../config.js';
import { isRedisReady, type RedisClient } from '../redis.js';
import { userPresenceKey } from '../redis-keys.js';
import type { Broadcaster } from './broadcaster.js';
import type { SocketData } from './protocol.js';
import { INBOX_NAMESPACE } from './rooms.js';
import type { PresenceHooks } from './socket-cap.js';

type AnySocket = Socket<any, any, any, SocketData>;

/** The users sharing a conversation with one user (the conversation service's `peersOf`). */
export type PeersOf = (userId: number) => Promise<number[]>;

/**
 * Presence as peers see it. The transitions come from the socket leases (src/realtime/socket-cap.ts:
 * one script per connect and disconnect decides, on every pod together, which one changes
 * anything); this tells the peers: one `presence` to the `user_<id>` rooms of the user's peers.
 *
 * The peers of an /inbox socket's user come with its `ready` snapshot (the same statement), so
 * its first connect costs no extra query: the announcement waits for the snapshot, a few
 * milliseconds. Legacy `/chat` sockets and offline changes ask Postgres once (`peersOf`).
 */
export class Presence implements PresenceHooks {
  readonly graceMs: number;
  private readonly awaitingSnapshot = new WeakSet<AnySocket>();

  constructor(
    private readonly broadcaster: Pick<Broadcaster, 'presence'>,
    private readonly peersOf: PeersOf,
    private readonly redis: RedisClient,
    private readonly config: Pick<Config, 'REDIS_PREFIX' | 'PRESENCE_GRACE_MS'>,
    private readonly log: FastifyBaseLogger,
    private readonly counters?: { presenceChanges: { inc(labels: { online: string }): void } },
  ) {
    this.graceMs = config.PRESENCE_GRACE_MS;
  }

  online(userId: number, socket: AnySocket | null): void {
    if (socket && socket.nsp.name === INBOX_NAMESPACE) {
      this.awaitingSnapshot.add(socket);
      return;
    }
    void this.announce(userId, true, null);
  }

  offline(userId: number, lastSeenAt: number): void {
    void this.announce(userId, false, new Date(lastSeenAt).toISOString());
  }

  /** An /inbox socket's snapshot was read: if its connect made the user online, tell these peers. */
  snapshotRead(socket: AnySocket, peerIds: readonly number[]): void {
    if (!this.awaitingSnapshot.delete(socket)) return;
    this.emit(socket.data.user.id, peerIds, true, null);
  }

  /** The snapshot could not be read: the announcement asks for the peers itself. */
  snapshotFailed(socket: AnySocket): void {
    if (this.awaitingSnapshot.delete(socket)) void this.announce(socket.data.user.id, true, null);
  }

  /**
   * Which of these users are online now (a grace period included): one HGET per user, sent
   * together (each user's key is on its own Cluster slot, so no one command can ask for all).
   */
  async onlineAmong(userIds: readonly number[]): Promise<number[]> {
    // Redis down: ioredis would queue the reads until it returns and hold `ready` with them;
    // the snapshot goes out without presence instead (later changes come as `presence`).
    if (userIds.length === 0 || !isRedisReady(this.redis)) return [];
    const states = await Promise.all(userIds.map((id) => this.redis.hget(userPresenceKey(this.config, id), 'online')));
    return userIds.filter((_, i) => states[i] === '1');
  }

  private async announce(userId: number, online: boolean, lastSeenAt: string | null): Promise<void> {
    try {
      this.emit(userId, await this.peersOf(userId), online, lastSeenAt);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, user: userId, online }, 'presence: could not read the peers; change not announced');
    }
  }

  private emit(userId: number, peerIds: readonly number[], online: boolean, lastSeenAt: string | null): void {
    this.counters?.presenceChanges.inc({ online: String(online) });
    this.broadcaster.presence(peerIds, { user_id: userId, online, last_seen_at: lastSeenAt });
  }
}
