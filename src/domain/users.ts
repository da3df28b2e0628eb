import type { Sql } from '../db/client.js';
import * as usersRepo from '../db/repositories/users.js';
import type { UserRow } from '../db/rows.js';
import { notFound } from '../errors.js';
import type { PeerDto, UserDto } from '../schemas/objects.js';
import type { Caller } from './caller.js';

export type { PeerDto, UserDto };

export function toUserDto(row: Pick<UserRow, 'id' | 'email' | 'name' | 'avatar_url'>): UserDto {
  return { id: row.id, email: row.email, name: row.name, avatar_url: row.avatar_url };
}

function toPeerDto(row: Pick<UserRow, 'id' | 'name' | 'avatar_url'>): PeerDto {
  return { id: row.id, name: row.name, avatar_url: row.avatar_url };
}

export class UserService {
  constructor(private readonly sql: Sql) {}

  /**
   * The user with this exact email (case aside), as a peer: the caller knows the email
   * already, and the answer never carries one.
   */
  async findPeerByEmail(_caller: Caller, email: string): Promise<PeerDto> {
    const user = await usersRepo.findUserByEmail(this.sql, email);
    if (!user) throw notFound('User');
    return toPeerDto(user);
  }
}
