import { createHash, randomBytes } from 'node:crypto';
import type { Sql } from '../db/client.js';
import * as sessionsRepo from '../db/repositories/sessions.js';
import type { SessionRow, UserRow } from '../db/rows.js';

export interface AuthenticatedSession {
  session: SessionRow;
  user: UserRow;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Creates a session row and returns the raw token, which only the cookie ever holds. */
export async function openSession(sql: Sql, userId: number, ttlHours: number): Promise<{ token: string; session: SessionRow }> {
  const token = randomBytes(32).toString('base64url');
  const session = await sessionsRepo.insertSession(sql, {
    tokenHash: hashToken(token),
    userId,
    expiresAt: expiryFromNow(ttlHours),
  });
  return { token, session };
}

/**
 * Resolves a raw token to its live session. Sliding expiry: once half the lifetime
 * has passed the session is extended, so active users are never logged out.
 */
export async function resolveToken(sql: Sql, token: string, ttlHours: number): Promise<AuthenticatedSession | null> {
  const found = await sessionsRepo.findLiveSession(sql, hashToken(token));
  if (!found) return null;
  const halfLife = (ttlHours * 3600_000) / 2;
  if (found.session.expires_at.getTime() - Date.now() < halfLife) {
    const expiresAt = expiryFromNow(ttlHours);
    await sessionsRepo.extendSession(sql, found.session.id, expiresAt);
    found.session = { ...found.session, expires_at: expiresAt };
  }
  return found;
}

export const closeSession = (sql: Sql, sessionId: number) => sessionsRepo.revokeSession(sql, sessionId);

function expiryFromNow(ttlHours: number): Date {
  return new Date(Date.now() + ttlHours * 3600_000);
}

/** The live sessions among `ids` (the session sweep of live sockets asks for a whole pod at once). */
export const liveSessionIds = sessionsRepo.liveSessionIds;
