import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newUser, sessionCookieFrom, uniqueEmail } from '../helpers/http.js';

let hub: RunningApp;
beforeAll(async () => {
  hub = await startApp();
});
afterAll(() => hub.close());

const errorOf = (code: string) => ({ error: { code, message: expect.any(String) } });

describe('POST /api/auth/register', () => {
  it('creates the user, answers exactly {user} and sets a hardened session cookie', async () => {
    const email = uniqueEmail('Reg');
    const res = await api(hub.url, 'POST', '/api/auth/register', {
      body: { email, password: 'longenough', name: 'Ann Lee', avatar_url: 'https://cdn.example/a.png' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ user: { id: expect.any(Number), email, name: 'Ann Lee', avatar_url: 'https://cdn.example/a.png' } });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sessionid='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/);
    // Signed: token + "." + signature.
    expect(cookie.split(';')[0]!.split('=')[1]!.split('.')).toHaveLength(2);
  });

  it('answers 409 for a taken email, whatever its case', async () => {
    const first = await newUser(hub.url);
    const res = await api(hub.url, 'POST', '/api/auth/register', {
      body: { email: first.email.toUpperCase(), password: 'longenough', name: 'Dup' },
    });
    expect(res.status).toBe(409);
    expect(res.body).toEqual(errorOf('conflict'));
  });

  it.each([
    [{ password: 'longenough', name: 'x' }],
    [{ email: 'nope', password: 'longenough', name: 'x' }],
    [{ email: 'a@b.co', password: 'short', name: 'x' }],
    [{ email: 'a@b.co', password: 'longenough', name: '' }],
    [{ email: 'a@b.co', password: 12345678, name: 'x' }],
    [{ email: 'a@b.co', password: 'longenough', name: 'x', avatar_url: 'javascript' }],
  ])('rejects %j with 400 invalid_payload', async (body) => {
    const res = await api(hub.url, 'POST', '/api/auth/register', { body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(errorOf('invalid_payload'));
  });

  it.each([
    ['a NUL', 'https://cdn.example/a\u0000.png'],
    ['http', 'http://cdn.example/a.png'],
    ['localhost', 'https://localhost/a.png'],
    ['a .localhost name', 'https://app.localhost/a.png'],
    ['loopback', 'https://127.0.0.1/a.png'],
    ['loopback in hex', 'https://0x7f.1/a.png'],
    ['IPv6 loopback', 'https://[::1]/a.png'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/a.png'],
    ['link-local (cloud metadata)', 'https://169.254.169.254/latest/meta-data'],
    ['IPv6 link-local', 'https://[fe80::1]/a.png'],
    ['IPv6 unique-local', 'https://[fd00::5]/a.png'],
    ['10/8', 'https://10.0.0.5/a.png'],
    ['172.16/12', 'https://172.20.1.1/a.png'],
    ['192.168/16', 'https://192.168.1.1/a.png'],
    ['0.0.0.0', 'https://0.0.0.0/a.png'],
    ['a single-label host', 'https://intranet/a.png'],
    ['a .local name', 'https://printer.local/a.png'],
    ['credentials', 'https://user:pw@cdn.example/a.png'],
  ])('refuses an avatar_url with %s (400 invalid_payload), storing nothing', async (_what, avatar_url) => {
    const email = uniqueEmail();
    const res = await api(hub.url, 'POST', '/api/auth/register', { body: { email, password: 'longenough', name: 'x', avatar_url } });
    expect([res.status, res.body]).toEqual([400, errorOf('invalid_payload')]);
    const rows = await hub.app.dbHandle.sql`select 1 from users where email = ${email}`;
    expect(rows).toHaveLength(0);
  });

  it('accepts an https avatar_url on a public host, by name or address', async () => {
    for (const avatar_url of ['https://cdn.example/a.png?size=64', 'https://8.8.8.8/a.png', 'https://[2001:4860:4860::8888]/a.png']) {
      const res = await api(hub.url, 'POST', '/api/auth/register', { body: { email: uniqueEmail(), password: 'longenough', name: 'x', avatar_url } });
      expect([res.status, res.body.user?.avatar_url]).toEqual([201, avatar_url]);
    }
  });

  it.each([
    ['only zero-width characters', '\u200B\u200C\u200D'],
    ['only a Hangul filler and spaces', ' \u3164 '],
    ['only a combining mark', '\u0301'],
    ['a right-to-left override', 'Ann\u202Egnp.exe'],
    ['a left-to-right embedding', '\u202AAnn'],
    ['a first-strong isolate', 'Ann\u2068Lee'],
    ['a pop directional isolate', 'Ann\u2069'],
  ])('refuses a display name with %s', async (_what, name) => {
    const res = await api(hub.url, 'POST', '/api/auth/register', { body: { email: uniqueEmail(), password: 'longenough', name } });
    expect([res.status, res.body]).toEqual([400, errorOf('invalid_payload')]);
  });

  it('accepts names in any script, and right-to-left names without controls', async () => {
    for (const name of ['Zoë', 'محمد', '李小龍', 'José 🚀']) {
      const res = await api(hub.url, 'POST', '/api/auth/register', { body: { email: uniqueEmail(), password: 'longenough', name } });
      expect([res.status, res.body.user?.name]).toEqual([201, name]);
    }
  });

  it('rejects malformed JSON with 400 invalid_payload', async () => {
    const res = await fetch(`${hub.url}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(errorOf('invalid_payload'));
  });
});

describe('POST /api/auth/login', () => {
  it('refuses a non-ASCII email (400), as registration does', async () => {
    const res = await api(hub.url, 'POST', '/api/auth/login', { body: { email: 'İnfo@example.test', password: 'whatever' } });
    expect([res.status, res.body]).toEqual([400, errorOf('invalid_payload')]);
  });

  it('logs in with the right password, case-insensitive email', async () => {
    const u = await newUser(hub.url);
    const res = await api(hub.url, 'POST', '/api/auth/login', { body: { email: u.email.toUpperCase(), password: u.password } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ user: u.user });
    const me = await api(hub.url, 'GET', '/api/me', { cookie: sessionCookieFrom(res.headers) });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: u.user });
  });

  it('says the same for a wrong password and an unknown email', async () => {
    const u = await newUser(hub.url);
    const wrong = await api(hub.url, 'POST', '/api/auth/login', { body: { email: u.email, password: 'wrong password' } });
    const unknown = await api(hub.url, 'POST', '/api/auth/login', { body: { email: uniqueEmail(), password: 'wrong password' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual({ error: { code: 'unauthorized', message: 'Invalid email or password' } });
    expect(unknown.body).toEqual(wrong.body);
    expect(wrong.headers.getSetCookie()).toEqual([]);
  });
});

describe('sessions', () => {
  it('GET /api/me needs a session', async () => {
    const res = await api(hub.url, 'GET', '/api/me');
    expect(res.status).toBe(401);
    expect(res.body).toEqual(errorOf('unauthorized'));
  });

  it('a tampered cookie is refused', async () => {
    const u = await newUser(hub.url);
    const [name, value] = u.cookie.split('=') as [string, string];
    const [token, sig] = value.split('.') as [string, string];
    const tampered = `${name}=${token.slice(0, -2)}xx.${sig}`;
    expect((await api(hub.url, 'GET', '/api/me', { cookie: tampered })).status).toBe(401);
    const unsigned = `${name}=${token}`;
    expect((await api(hub.url, 'GET', '/api/me', { cookie: unsigned })).status).toBe(401);
  });

  it('logout revokes the session: the same cookie no longer works, other sessions do', async () => {
    const u = await newUser(hub.url);
    const second = await api(hub.url, 'POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
    const otherCookie = sessionCookieFrom(second.headers);
    const out = await api(hub.url, 'POST', '/api/auth/logout', { cookie: u.cookie, headers: { 'content-type': 'application/json' } });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie()[0]).toMatch(/^sessionid=;/);
    expect((await api(hub.url, 'GET', '/api/me', { cookie: u.cookie })).status).toBe(401);
    expect((await api(hub.url, 'POST', '/api/auth/logout', { cookie: u.cookie })).status).toBe(401);
    expect((await api(hub.url, 'GET', '/api/me', { cookie: otherCookie })).status).toBe(200);
  });

  it('slides: a session past half its lifetime is renewed on use; an expired one is refused', async () => {
    const u = await newUser(hub.url);
    const sql = hub.app.dbHandle.sql;
    const expiresIn = async () => {
      const [row] = await sql`select extract(epoch from expires_at - now())::int as s from sessions where user_id = ${u.user.id}`;
      return row!.s as number;
    };
    await sql`update sessions set expires_at = now() + interval '1 hour' where user_id = ${u.user.id}`;
    expect((await api(hub.url, 'GET', '/api/me', { cookie: u.cookie })).status).toBe(200);
    expect(await expiresIn()).toBeGreaterThan(336 * 3600 - 60);
    await sql`update sessions set expires_at = now() - interval '1 second' where user_id = ${u.user.id}`;
    expect((await api(hub.url, 'GET', '/api/me', { cookie: u.cookie })).status).toBe(401);
  });

  it('stores only a hash of the token and a slow salted password hash', async () => {
    const u = await newUser(hub.url);
    const token = u.cookie.split('=')[1]!.split('.')[0]!;
    const sql = hub.app.dbHandle.sql;
    const sessions = await sql`select token_hash from sessions where user_id = ${u.user.id}`;
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.token_hash).not.toContain(token);
    expect(sessions[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    const [row] = await sql`select password_hash from users where id = ${u.user.id}`;
    expect(row!.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
  });
});

describe('origin guard and errors', () => {
  it('refuses a state-changing request from a foreign Origin', async () => {
    const res = await api(hub.url, 'POST', '/api/auth/register', {
      body: { email: uniqueEmail(), password: 'longenough', name: 'x' },
      headers: { origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(errorOf('forbidden'));
  });

  it('accepts an allowed Origin and answers CORS with credentials', async () => {
    const res = await api(hub.url, 'POST', '/api/auth/register', {
      body: { email: uniqueEmail(), password: 'longenough', name: 'x' },
      headers: { origin: 'http://localhost:8000' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:8000');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('answers unknown routes with the error shape', async () => {
    const res = await api(hub.url, 'GET', '/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual(errorOf('not_found'));
  });
});

describe('health', () => {
  it('/healthz and /readyz answer 200 when Postgres and Redis do', async () => {
    expect((await api(hub.url, 'GET', '/healthz')).status).toBe(200);
    const ready = await api(hub.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', postgres: 'up', redis: 'up' });
  });
});
