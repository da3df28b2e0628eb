import type { Database } from '../db/client.js';
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
