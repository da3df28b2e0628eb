import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newConversation, newUser, sessionCookieFrom, uniqueEmail } from '../helpers/http.js';
import { connect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';

// Own limits and an own Redis prefix, so the shared per-IP counters of other files do not interfere.
const env = {
  REDIS_PREFIX: `${inject('redisPrefix')}-sec`,
  LOGIN_RATE_LIMIT_PER_IP: '1000000',
  LOGIN_RATE_LIMIT_PER_ACCOUNT: '4',
  MESSAGE_RATE_LIMIT: '5',
  MAX_SOCKETS_PER_USER: '3',
};
let hub: RunningApp;
let twin: RunningApp;
const sockets: ClientSocket[] = [];
beforeAll(async () => {
  [hub, twin] = await Promise.all([startApp(env), startApp(env)]);
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all([hub.close(), twin.close()]);
});

const errorOf = (code: string) => ({ error: { code, message: expect.any(String) } });
const login = (url: string, email: string, password: string, headers: Record<string, string> = {}) =>
  api(url, 'POST', '/api/auth/login', { body: { email, password }, headers });

describe('login brute force', () => {
  it('is limited per account across pods, whatever the case of the email', async () => {
    const u = await newUser(hub.url);
    const statuses = [];
    for (const [i, url] of [hub.url, twin.url, hub.url, twin.url].entries()) statuses.push((await login(url, i % 2 ? u.email.toUpperCase() : u.email, 'wrong-password')).status);
    expect(statuses).toEqual([401, 401, 401, 401]);
    const blocked = await login(twin.url, u.email, u.password);
    expect([blocked.status, blocked.body]).toEqual([429, errorOf('rate_limited')]);
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
    // Another account from the same client is not affected.
    const other = await newUser(hub.url);
    expect((await login(hub.url, other.email, other.password)).status).toBe(200);
  });

  it('is limited per client IP', async () => {
    const limited = await startApp({ ...env, REDIS_PREFIX: `${env.REDIS_PREFIX}-ip`, LOGIN_RATE_LIMIT_PER_IP: '4' });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await login(limited.url, uniqueEmail(), 'whatever-password')).status);
      expect(statuses).toEqual([401, 401, 401, 401, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('password change', () => {
  it('needs the current password, then revokes every other session and disconnects its sockets', async () => {
    const u = await newUser(hub.url);
    const other = sessionCookieFrom((await login(hub.url, u.email, u.password)).headers);
    const { socket: otherSocket } = await connectInbox(twin.url, other);
    sockets.push(otherSocket);
    const { socket: mine } = await connectInbox(hub.url, u.cookie);
    sockets.push(mine);

    const wrong = await api(hub.url, 'POST', '/api/auth/password', { cookie: u.cookie, body: { current_password: 'nope-nope', new_password: 'brand new password' } });
    expect([wrong.status, wrong.body]).toEqual([401, errorOf('unauthorized')]);

    const dropped = new Promise((r) => otherSocket.once('disconnect', r));
    const ok = await api(hub.url, 'POST', '/api/auth/password', { cookie: u.cookie, body: { current_password: u.password, new_password: 'brand new password' } });
    expect(ok.status).toBe(204);
    expect(await dropped).toBe('io server disconnect');
    expect((await api(hub.url, 'GET', '/api/me', { cookie: other })).status).toBe(401);
    expect((await api(hub.url, 'GET', '/api/me', { cookie: u.cookie })).status).toBe(200);
    expect(mine.connected).toBe(true);
    expect((await login(hub.url, u.email, 'brand new password')).status).toBe(200);
  });
});

describe('sockets', () => {
  it('a tampered or foreign-signed cookie is refused at the handshake', async () => {
    const u = await newUser(hub.url);
    const [name, value] = u.cookie.split('=') as [string, string];
    const [token, sig] = value.split('.') as [string, string];
    await expect(connect(hub.url, `${name}=${token}.${sig.slice(0, -3)}abc`)).rejects.toThrow('unauthorized');
    await expect(connect(hub.url, `${name}=${token}`)).rejects.toThrow('unauthorized');
  });

  it.each([['polling'], ['websocket']] as const)('a foreign Origin is refused on every namespace over %s, cookie or not', async (transport) => {
    const u = await newUser(hub.url);
    const conv = await newConversation(hub.url, u, await newUser(hub.url));
    for (const namespace of ['/', '/inbox', `/chat/${conv.id}`]) {
      await expect(connect(hub.url, u.cookie, { namespace, origin: 'https://evil.example', transports: [transport] })).rejects.toThrow('forbidden_origin');
    }
  });

  it('caps the sockets one user may hold on a pod', async () => {
    const u = await newUser(hub.url);
    for (let i = 0; i < 3; i++) sockets.push((await connectInbox(hub.url, u.cookie)).socket);
    await expect(connect(hub.url, u.cookie)).rejects.toThrow('rate_limited');
  });

  it('limits messages per user over all their sockets, bursts of twice the rate', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const a1 = (await connectInbox(hub.url, ann.cookie)).socket;
    const a2 = (await connectInbox(hub.url, ann.cookie)).socket;
    sockets.push(a1, a2);
    const acks = await Promise.all(
      Array.from({ length: 14 }, (_, i) => request(i % 2 ? a1 : a2, 'message', { conversation_id: conv.id, message: `m${i}`, type: 'TEXT' })),
    );
    const codes = acks.map((a) => (a.ok ? 'ok' : a.error.code));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(10);
    expect(codes.filter((c) => c === 'rate_limited')).toHaveLength(4);
    const [row] = await hub.app.dbHandle.sql`select count(*)::int as n from messages where conversation_id = ${conv.id}`;
    expect(row!.n).toBe(10);
  });
});

describe('authorization over HTTP and sockets', () => {
  it('another user\'s conversation is invisible (404) and untouchable (forbidden)', async () => {
    const [ann, bob, eve] = await Promise.all([newUser(hub.url), newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const history = await api(hub.url, 'GET', `/api/conversations/${conv.id}/messages`, { cookie: eve.cookie });
    expect([history.status, history.body]).toEqual([404, errorOf('not_found')]);
    const listed = await api(hub.url, 'GET', '/api/conversations', { cookie: eve.cookie });
    expect(listed.body).toEqual({ conversations: [] });
    const e = (await connectInbox(hub.url, eve.cookie)).socket;
    sockets.push(e);
    const forbidden = { ok: false, error: { code: 'forbidden', message: expect.any(String) } };
    expect(await request(e, 'message', { conversation_id: conv.id, message: 'x', type: 'TEXT' })).toEqual(forbidden);
    expect(await request(e, 'sync', { cursors: { [conv.id]: 0 } })).toEqual(forbidden);
    expect(await request(e, 'typing', { conversation_id: conv.id })).toEqual(forbidden);
    expect(await request(e, 'read', { conversation_id: conv.id, seq: 1 })).toEqual(forbidden);
    await expect(connect(hub.url, eve.cookie, { namespace: `/chat/${conv.id}` })).rejects.toThrow('forbidden');
  });
});

describe('headers', () => {
  it('sends security headers', async () => {
    const res = await fetch(`${hub.url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    // HSTS is production's only (test/dev/first-run.test.ts).
  });

  it('answers CORS preflight only for allowed origins', async () => {
    const pre = (origin: string) =>
      fetch(`${hub.url}/api/auth/login`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    const good = await pre('http://localhost:8000');
    expect(good.headers.get('access-control-allow-origin')).toBe('http://localhost:8000');
    const bad = await pre('https://evil.example');
    expect(bad.headers.get('access-control-allow-origin')).toBeNull();
  });
});
