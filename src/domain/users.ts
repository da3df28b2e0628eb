import type { UserRow } from '../db/rows.js';
import type { PeerDto, UserDto } from '../schemas/objects.js';

export type { PeerDto, UserDto };

export function toUserDto(row: Pick<UserRow, 'id' | 'email' | 'name' | 'avatar_url'>): UserDto {
  return { id: row.id, email: row.email, name: row.name, avatar_url: row.avatar_url };
}

export function toPeerDto(row: Pick<UserRow, 'id' | 'name' | 'avatar_url'>): PeerDto {
  return { id: row.id, name: row.name, avatar_url: row.avatar_url };
}
