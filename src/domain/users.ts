import type { UserRow } from '../db/schema/index.js';

/** The contract's `user` object: the caller themself, the only one who ever sees their email. */
export interface UserDto {
  id: number;
  email: string;
  name: string;
  avatar_url: string | null;
}

/** The contract's `peer` object: any user as others see them, never with an email. */
export interface PeerDto {
  id: number;
  name: string;
  avatar_url: string | null;
}

export function toUserDto(row: Pick<UserRow, 'id' | 'email' | 'name' | 'avatarUrl'>): UserDto {
  return { id: row.id, email: row.email, name: row.name, avatar_url: row.avatarUrl };
}

export function toPeerDto(row: Pick<UserRow, 'id' | 'name' | 'avatarUrl'>): PeerDto {
  return { id: row.id, name: row.name, avatar_url: row.avatarUrl };
}
