import { createHash, randomBytes } from 'node:crypto';
import type { Executor } from '../db/client.js';
import * as sessionsRepo from '../db/repositories/sessions.js';
import type { SessionRow, UserRow } from '../db/rows.js';

/** A live session and its user, as the session cookie resolves to. */
export interface AuthenticatedSession {
  session: SessionRow;
  user: UserRow;
}

/** What an /inbox handshake needs: the session, its user and the rooms to join (every conversation id, ascending). */
export interface InboxSession extends AuthenticatedSession {
  conversationIds: number[];
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Sessions behind the `sessionid` cookie: revocable rows in Postgres, only a hash of the token stored. */
export class SessionService {
  constructor(
    private readonly sql: Executor,
    private readonly ttlHours: number,
  ) {}

  /** Creates a session row and returns the raw token, which only the cookie ever holds. */
  async open(userId: number): Promise<{ token: string; session: SessionRow }> {
    const token = randomBytes(32).toString('base64url');
    const session = await sessionsRepo.insertSession(this.sql, {
      tokenHash: hashToken(token),
      userId,
      expiresAt: this.expiryFromNow(),
    });
    return { token, session };
  }

  /**
   * Resolves a raw token to its live session. Sliding expiry: once half the lifetime
   * has passed the session is extended, so active users are never logged out.
   */
  async resolve(token: string): Promise<AuthenticatedSession | null> {
    const found = await sessionsRepo.findLiveSession(this.sql, hashToken(token));
    return found && this.slide({ session: found.session, user: found.user });
  }

  /**
   * `resolve` plus the user's conversation ids, in the same statement: a socket connecting to
   * /inbox learns who it is and which rooms to join in one round trip (docs/performance.md).
   */
  async resolveWithConversations(token: string): Promise<InboxSession | null> {
    const found = await sessionsRepo.findLiveSession(this.sql, hashToken(token), { conversationIds: true });
    return found && this.slide({ session: found.session, user: found.user, conversationIds: found.conversationIds ?? [] });
  }

  private async slide<S extends AuthenticatedSession>(found: S): Promise<S> {
    const halfLife = (this.ttlHours * 3600_000) / 2;
    if (found.session.expires_at.getTime() - Date.now() < halfLife) {
      const expiresAt = this.expiryFromNow();
      await sessionsRepo.extendSession(this.sql, found.session.id, expiresAt);
      found.session = { ...found.session, expires_at: expiresAt };
    }
    return found;
  }

  revoke(sessionId: number): Promise<void> {
    return sessionsRepo.revokeSession(this.sql, sessionId);
  }

  /** The live sessions among `ids` (the session sweep of live sockets asks for a whole pod at once). */
  liveIds(ids: readonly number[]): Promise<Set<number>> {
    return sessionsRepo.liveSessionIds(this.sql, ids);
  }

  private expiryFromNow(): Date {
    return new Date(Date.now() + this.ttlHours * 3600_000);
  }
}
