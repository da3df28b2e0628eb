import type { FastifyBaseLogger } from 'fastify';
import type { Server } from 'socket.io';
import { allNamespaces } from './namespaces.js';
import { sessionRoom } from './rooms.js';

/**
 * Logout and password change disconnect their sockets at once (Broadcaster.disconnectSession);
 * a session that expires, or that an operator revokes in the database, has no such event. So
 * each pod asks Postgres every `everyMs` which of its sockets' sessions are still live, in one
 * query for all of them, and disconnects the sockets of the others in every namespace.
 */
export class SessionSweep {
  private readonly timer: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly io: Server<any, any, any, any>,
    /** The live sessions among these ids (the session service's `liveIds`). */
    private readonly liveSessionIds: (ids: readonly number[]) => Promise<Set<number>>,
    private readonly log: FastifyBaseLogger,
    everyMs: number,
  ) {
    this.timer = setInterval(() => void this.sweep(), everyMs).unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** One pass; a pass still running (a slow Postgres) makes the next tick a no-op. */
  async sweep(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const ids = this.localSessionIds();
      if (ids.size === 0) return;
      const live = await this.liveSessionIds([...ids]);
      const dead = [...ids].filter((id) => !live.has(id));
      // Never `in([])`: no room at all would mean every socket of the namespace.
      if (dead.length === 0) return;
      for (const nsp of allNamespaces(this.io).values()) nsp.local.in(dead.map(sessionRoom)).disconnectSockets(true);
      this.log.info({ sessions: dead.length }, 'disconnected the sockets of expired or revoked sessions');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'session sweep failed; next pass retries');
    } finally {
      this.running = false;
    }
  }

  private localSessionIds(): Set<number> {
    const ids = new Set<number>();
    for (const nsp of allNamespaces(this.io).values()) {
      for (const socket of nsp.sockets.values()) {
        const id = (socket.data as { sessionId?: number }).sessionId;
        if (id !== undefined) ids.add(id);
      }
    }
    return ids;
  }
}
