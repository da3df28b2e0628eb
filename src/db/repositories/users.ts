import { eq, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { users, type UserRow } from '../schema/index.js';

export interface NewUser {
  email: string;
  name: string;
  avatarUrl: string | null;
  passwordHash: string;
}

/** Inserts a user; returns null when the email (case-insensitively) is taken. */
export async function insertUser(db: Executor, user: NewUser): Promise<UserRow | null> {
  const rows = await db
    .insert(users)
    .values(user)
    .onConflictDoNothing()
    .returning();
  return rows[0] ?? null;
}

export async function findUserByEmail(db: Executor, email: string): Promise<UserRow | null> {
  const rows = await db.select().from(users).where(sql`lower(${users.email}) = lower(${email})`).limit(1);
  return rows[0] ?? null;
}

export async function findUserById(db: Executor, id: number): Promise<UserRow | null> {
  const rows = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return rows[0] ?? null;
}

export async function countUsersById(db: Executor, ids: number[]): Promise<number> {
  const rows = await db.select({ id: users.id }).from(users).where(inArray(users.id, ids));
  return rows.length;
}

export async function updatePasswordHash(db: Executor, id: number, passwordHash: string): Promise<void> {
  await db.update(users).set({ passwordHash }).where(eq(users.id, id));
}
