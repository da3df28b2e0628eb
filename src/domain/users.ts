import type { UserRow } from '../db/schema/index.js';
import type { PeerDto, UserDto } from '../schemas/objects.js';

export type { PeerDto, UserDto };

export function toUserDto(row: Pick<UserRow, 'id' | 'email' | 'name' | 'avatarUrl'>): UserDto {
  return { id: row.id, email: row.email, name: row.name, avatar_url: row.avatarUrl };
}

export function toPeerDto(row: Pick<UserRow, 'id' | 'name' | 'avatarUrl'>): PeerDto {
  return { id: row.id, name: row.name, avatar_url: row.avatarUrl };
}
