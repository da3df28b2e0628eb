import { randomBytes } from 'node:crypto';
import type { UserDto } from '../../src/domain/users.js';

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** A JSON request against a running hub; the body is parsed when there is one. */
export async function api<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { body?: unknown; cookie?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  // What a browser sends from the hub's own page; the origin guard wants it (or an allowed
  // Origin) on a state-changing request that carries the session cookie.
  if (opts.cookie) Object.assign(headers, { cookie: opts.cookie, 'sec-fetch-site': 'same-origin' }, opts.headers);
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** `name=value` of the session cookie a response set, ready for a Cookie header. */
export function sessionCookieFrom(headers: Headers): string {
  const setCookie = headers.getSetCookie().find((c) => c.startsWith('sessionid='));
  if (!setCookie) throw new Error('no sessionid cookie was set');
  return setCookie.split(';')[0]!;
}

export interface TestUser {
  user: UserDto;
  cookie: string;
  email: string;
  password: string;
}

export const uniqueEmail = (label = 'user') => `${label}-${randomBytes(5).toString('hex')}@example.test`;

/** Registers a fresh user through the real HTTP API. */
export async function newUser(baseUrl: string, fields: { name?: string; avatar_url?: string | null } = {}): Promise<TestUser> {
  const email = uniqueEmail();
  const password = 'correct horse battery';
  const res = await api<{ user: UserDto }>(baseUrl, 'POST', '/api/auth/register', {
    body: { email, password, name: fields.name ?? 'Test User', avatar_url: fields.avatar_url },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { user: res.body.user, cookie: sessionCookieFrom(res.headers), email, password };
}

/** Opens (or returns) the conversation between `client` and `worker`, asked by the client. */
export async function newConversation(baseUrl: string, client: TestUser, worker: TestUser) {
  const res = await api(baseUrl, 'POST', '/api/conversations', {
    cookie: client.cookie,
    body: { client_id: client.user.id, worker_id: worker.user.id },
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`conversation failed: ${res.status}`);
  return res.body.conversation as { id: number };
}
