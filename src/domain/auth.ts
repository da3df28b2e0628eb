import type { Sql } from '../db/client.js';
import * as sessionsRepo from '../db/repositories/sessions.js';
import * as usersRepo from '../db/repositories/users.js';
import type { UserRow } from '../db/rows.js';
import { conflict, unauthorized } from '../errors.js';
import { accountOfUnknownEmail, accountOfUser, type LoginAttempts } from './login-attempts.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';

export interface Registration {
  email: string;
  password: string;
  name: string;
  avatar_url?: string | null | undefined;
}

export async function register(sql: Sql, input: Registration): Promise<UserRow> {
  const passwordHash = await hashPassword(input.password);
  const user = await usersRepo.insertUser(sql, {
    email: input.email.trim(),
    name: input.name.trim(),
    avatarUrl: input.avatar_url ?? null,
    passwordHash,
  });
  if (!user) throw conflict('That email is already registered');
  return user;
}

/**
 * Checks credentials in constant time; the error never says which of email or password was
 * wrong. Failures are charged to the resolved account (its id), so however the email is
 * spelled the same counter fills; a locked account answers `rate_limited` before the hash.
 */
export async function authenticate(
  sql: Sql,
  attempts: LoginAttempts,
  input: { email: string; password: string },
  ip: string,
): Promise<UserRow> {
  const user = await usersRepo.findUserByEmail(sql, input.email);
  const account = user ? accountOfUser(user.id) : accountOfUnknownEmail(input.email);
  await attempts.assertAllowed(account, ip);
  const ok = await verifyPassword(input.password, user?.password_hash ?? (await dummyPasswordHash));
  if (!user || !ok) {
    await attempts.recordFailure(account, ip);
    throw unauthorized('Invalid email or password');
  }
  await attempts.recordSuccess(account, ip);
  return user;
}

/**
 * Changes the password after checking the current one, and revokes every other session
 * of the user (a password change is how a user locks out a stolen session).
 * Returns the revoked session ids so their sockets can be disconnected.
 */
export async function changePassword(
  sql: Sql,
  attempts: LoginAttempts,
  session: { user: UserRow; sessionId: number; ip: string },
  input: { current_password: string; new_password: string },
): Promise<number[]> {
  const { user, sessionId: keepSessionId, ip } = session;
  // The same counters as login: a stolen session must not brute-force the current password.
  const account = accountOfUser(user.id);
  await attempts.assertAllowed(account, ip);
  if (!(await verifyPassword(input.current_password, user.password_hash))) {
    await attempts.recordFailure(account, ip);
    throw unauthorized('Current password is wrong');
  }
  const passwordHash = await hashPassword(input.new_password);
  return sql.begin(async (tx) => {
    await usersRepo.updatePasswordHash(tx, user.id, passwordHash);
    return sessionsRepo.revokeOtherSessions(tx, user.id, keepSessionId);
  });
}
