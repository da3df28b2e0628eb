import type { Executor } from '../client.js';
import type { UserRow } from '../rows.js';

export interface NewUser {
  email: string;
  name: string;
  avatarUrl: string | null;
  passwordHash: string;
}

/** Inserts a user; returns null when the email (case-insensitively) is taken. */
export async function insertUser(sql: Executor, user: NewUser): Promise<UserRow | null> {
  const rows = await sql<UserRow[]>`
    insert into users (email, name, avatar_url, password_hash)
    values (${user.email}, ${user.name}, ${user.avatarUrl}, ${user.passwordHash})
    on conflict do nothing
    returning *`;
  return rows[0] ?? null;
}

/** Served by users_email_lower_key: emails are one account whatever their case. */
export async function findUserByEmail(sql: Executor, email: string): Promise<UserRow | null> {
  const rows = await sql<UserRow[]>`select * from users where lower(email) = lower(${email}) limit 1`;
  return rows[0] ?? null;
}

export async function countUsersById(sql: Executor, ids: readonly number[]): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from users where id = any(${[...ids]}::int[])`;
  return row!.n;
}

export async function updatePasswordHash(sql: Executor, id: number, passwordHash: string): Promise<void> {
  await sql`update users set password_hash = ${passwordHash} where id = ${id}`;
}
