import type { Database } from '../db/client.js';
import * as sessionsRepo from '../db/repositories/sessions.js';
import * as usersRepo from '../db/repositories/users.js';
import type { UserRow } from '../db/schema/index.js';
import { conflict, unauthorized } from '../errors.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';

export interface Registration {
  email: string;
  password: string;
  name: string;
  avatar_url?: string | null | undefined;
}

export async function register(db: Database, input: Registration): Promise<UserRow> {
  const passwordHash = await hashPassword(input.password);
  const user = await usersRepo.insertUser(db, {
    email: input.email.trim(),
    name: input.name.trim(),
    avatarUrl: input.avatar_url ?? null,
    passwordHash,
  });
  if (!user) throw conflict('That email is already registered');
  return user;
}

/** Checks credentials in constant time; the error never says which of email or password was wrong. */
export async function authenticate(db: Database, email: string, password: string): Promise<UserRow> {
  const user = await usersRepo.findUserByEmail(db, email.trim());
  const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash));
  if (!user || !ok) throw unauthorized('Invalid email or password');
  return user;
}

/**
 * Changes the password after checking the current one, and revokes every other session
 * of the user (a password change is how a user locks out a stolen session).
 * Returns the revoked session ids so their sockets can be disconnected.
 */
export async function changePassword(
  db: Database,
  user: UserRow,
  keepSessionId: number,
  input: { current_password: string; new_password: string },
): Promise<number[]> {
  if (!(await verifyPassword(input.current_password, user.passwordHash))) throw unauthorized('Current password is wrong');
  const passwordHash = await hashPassword(input.new_password);
  return db.transaction(async (tx) => {
    await usersRepo.updatePasswordHash(tx, user.id, passwordHash);
    return sessionsRepo.revokeOtherSessions(tx, user.id, keepSessionId);
  });
}
