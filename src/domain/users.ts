import type { UserRow } from '../db/schema/index.js';

/** The contract's `user` object: exactly these keys. */
export interface UserDto {
  id: number;
  email: string;
  name: string;
  avatar_url: string | null;
}

export function toUserDto(row: Pick<UserRow, 'id' | 'email' | 'name' | 'avatarUrl'>): UserDto {
  return { id: row.id, email: row.email, name: row.name, avatar_url: row.avatarUrl };
}
