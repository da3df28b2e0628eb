import type { Sql } from '../db/client.js';
import * as sessionsRepo from '../db/repositories/sessions.js';
import * as usersRepo from '../db/repositories/users.js';
import type { UserRow } from '../db/rows.js';
import { conflict, unauthorized } from '../errors.js';
import { accountOfUnknownEmail, accountOfUser, type LoginAttempts } from './login-attempts.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import type { SessionPublisher } from './ports.js';
import type { AuthenticatedSession, SessionService } from './sessions.js';
import { toUserDto, type UserDto } from './users.js';

export interface Registration {
  email: string;
  password: string;
  name: string;
  avatar_url?: string | null | undefined;
}

/** A logged-in user and the token of their new session (the cookie's value). */
export interface LoggedIn {
  user: UserDto;
  token: string;
}

/**
 * Accounts and logins. Ending a session (logout, a password change) is published, so every
 * socket opened with it, on every pod, is disconnected at once.
 */
export class AuthService {
  constructor(
    private readonly sql: Sql,
    private readonly sessions: SessionService,
    private readonly attempts: LoginAttempts,
    private readonly publisher: SessionPublisher,
  ) {}

  async register(input: Registration): Promise<LoggedIn> {
    const passwordHash = await hashPassword(input.password);
    const user = await usersRepo.insertUser(this.sql, {
      email: input.email.trim(),
      name: input.name.trim(),
      avatarUrl: input.avatar_url ?? null,
      passwordHash,
    });
    if (!user) throw conflict('That email is already registered');
    return this.loggedIn(user);
  }

  /**
   * Checks credentials in constant time; the error never says which of email or password was
   * wrong. Failures are charged to the resolved account (its id), so however the email is
   * spelled the same counter fills; a locked account answers `rate_limited` before the hash.
   */
  async login(input: { email: string; password: string }, ip: string): Promise<LoggedIn> {
    const user = await usersRepo.findUserByEmail(this.sql, input.email);
    const account = user ? accountOfUser(user.id) : accountOfUnknownEmail(input.email);
    await this.attempts.assertAllowed(account, ip);
    const ok = await verifyPassword(input.password, user?.password_hash ?? (await dummyPasswordHash));
    if (!user || !ok) {
      await this.attempts.recordFailure(account, ip);
      throw unauthorized('Invalid email or password');
    }
    await this.attempts.recordSuccess(account, ip);
    return this.loggedIn(user);
  }

  /** Revokes this session and disconnects its sockets. */
  async logout(auth: AuthenticatedSession): Promise<void> {
    await this.sessions.revoke(auth.session.id);
    await this.publisher.disconnectSession(auth.session.id);
  }

  /**
   * Changes the password after checking the current one, and revokes every other session
   * of the user (a password change is how a user locks out a stolen session), disconnecting
   * their sockets.
   */
  async changePassword(auth: AuthenticatedSession, ip: string, input: { current_password: string; new_password: string }): Promise<void> {
    const { user, session } = auth;
    // The same counters as login: a stolen session must not brute-force the current password.
    const account = accountOfUser(user.id);
    await this.attempts.assertAllowed(account, ip);
    if (!(await verifyPassword(input.current_password, user.password_hash))) {
      await this.attempts.recordFailure(account, ip);
      throw unauthorized('Current password is wrong');
    }
    const passwordHash = await hashPassword(input.new_password);
    const revoked = await this.sql.begin(async (tx) => {
      await usersRepo.updatePasswordHash(tx, user.id, passwordHash);
      return sessionsRepo.revokeOtherSessions(tx, user.id, session.id);
    });
    await Promise.all(revoked.map((id) => this.publisher.disconnectSession(id)));
  }

  private async loggedIn(user: UserRow): Promise<LoggedIn> {
    const { token } = await this.sessions.open(user.id);
    return { user: toUserDto(user), token };
  }
}
