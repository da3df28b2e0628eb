import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job } from 'bullmq';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Writable } from 'node:stream';
import { buildApp } from '../../src/app.js';
import { users } from '../../src/db/schema/index.js';
import { loggerOptions } from '../../src/logger.js';
import { testConfig } from '../helpers/config.js';
import { spawnWorker } from '../helpers/worker-process.js';
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

describe('login limits count failures, per (account, network), with an account-wide ceiling', () => {
  // Behind a trusted proxy, so each attempt can come from the network the test chooses.
  const proxied = { ...env, REDIS_PREFIX: `${env.REDIS_PREFIX}-lock`, TRUST_PROXY: 'true', LOGIN_RATE_LIMIT_PER_ACCOUNT_TOTAL: '6' };
  let lock: RunningApp;
  beforeAll(async () => {
    lock = await startApp(proxied);
  });
  afterAll(() => lock.close());
  const from = (ip: string) => ({ 'x-forwarded-for': ip });

  it('an "İ" spelling of the email neither reaches a fresh counter nor logs in while locked', async () => {
    const u = { email: uniqueEmail('iris'), password: 'correct horse battery' };
    expect((await api(lock.url, 'POST', '/api/auth/register', { body: { ...u, name: 'Iris' } })).status).toBe(201);
    const dotted = u.email.replace('i', 'İ');
    for (let i = 0; i < 4; i++) expect((await login(lock.url, u.email, 'wrong-password', from('10.1.0.1'))).status).toBe(401);
    const spelled = await login(lock.url, dotted, u.password, from('10.1.0.1'));
    expect([spelled.status, spelled.body]).toEqual([400, errorOf('invalid_payload')]);
    const locked = await login(lock.url, u.email.toUpperCase(), u.password, from('10.1.0.1'));
    expect([locked.status, locked.body]).toEqual([429, errorOf('rate_limited')]);
  });

  it('successes never count; a stranger\'s failures lock only their own network until the ceiling', async () => {
    const u = await newUser(lock.url);
    for (let i = 0; i < 5; i++) expect((await login(lock.url, u.email, u.password, from('10.2.0.1'))).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login(lock.url, u.email, 'wrong-password', from('10.2.0.66'))).status).toBe(401);
    expect((await login(lock.url, u.email, u.password, from('10.2.0.66'))).status).toBe(429);
    expect((await login(lock.url, u.email, u.password, from('10.2.0.1'))).status).toBe(200);
    // Two more failures from a third network reach the account-wide ceiling (6): now every network waits.
    for (let i = 0; i < 2; i++) expect((await login(lock.url, u.email, 'wrong-password', from('10.2.0.77'))).status).toBe(401);
    const ceiling = await login(lock.url, u.email, u.password, from('10.2.0.1'));
    expect([ceiling.status, ceiling.body]).toEqual([429, errorOf('rate_limited')]);
    expect(ceiling.headers.get('retry-after')).toMatch(/^\d+$/);
  }, 60_000);

  it('password change is limited on the user id, failures only, sharing the login counters', async () => {
    const u = await newUser(lock.url);
    const change = (current: string, ip: string) =>
      api(lock.url, 'POST', '/api/auth/password', { cookie: u.cookie, headers: from(ip), body: { current_password: current, new_password: 'brand new password' } });
    for (let i = 0; i < 4; i++) expect((await change('wrong-password', '10.3.0.1')).status).toBe(401);
    expect((await change(u.password, '10.3.0.1')).status).toBe(429);
    expect((await login(lock.url, u.email, u.password, from('10.3.0.1'))).status).toBe(429);
    expect((await change(u.password, '10.3.0.2')).status).toBe(204);
  }, 60_000);

  it('the per-IP limit keys IPv6 on the /64', async () => {
    const limited = await startApp({ ...proxied, REDIS_PREFIX: `${env.REDIS_PREFIX}-v6`, LOGIN_RATE_LIMIT_PER_IP: '3' });
    try {
      const statuses = [];
      for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:abcd::5', '2001:db8:1:2::9']) {
        statuses.push((await login(limited.url, uniqueEmail(), 'whatever-password', from(ip))).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect((await login(limited.url, uniqueEmail(), 'whatever-password', from('2001:db8:1:3::1'))).status).toBe(401);
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

describe('email harvesting', () => {
  it('no conversation answered or emitted carries an email, only peers {id, name, avatar_url}', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob', avatar_url: 'https://cdn.example/b.png' })]);
    const b = (await connectInbox(twin.url, bob.cookie)).socket;
    sockets.push(b);
    const news = waitFor(b, 'conversation:new');
    const created = await api(hub.url, 'POST', '/api/conversations', { cookie: ann.cookie, body: { client_id: ann.user.id, worker_id: bob.user.id } });
    const peers = {
      client: { id: ann.user.id, name: 'Ann', avatar_url: null },
      worker: { id: bob.user.id, name: 'Bob', avatar_url: 'https://cdn.example/b.png' },
    };
    expect(created.body.conversation).toMatchObject(peers);
    const emitted = (await news) as unknown as { conversation: Record<string, unknown> };
    const listed = await api(hub.url, 'GET', '/api/conversations', { cookie: ann.cookie });
    const again = await api(twin.url, 'POST', '/api/conversations', { cookie: ann.cookie, body: { client_id: ann.user.id, worker_id: bob.user.id } });
    for (const conversation of [created.body.conversation, emitted.conversation, listed.body.conversations[0], again.body.conversation]) {
      expect(Object.keys(conversation.client as object)).toEqual(['id', 'name', 'avatar_url']);
      expect(Object.keys(conversation.worker as object)).toEqual(['id', 'name', 'avatar_url']);
      expect(conversation).toMatchObject(peers);
      expect(JSON.stringify(conversation)).not.toMatch(/@example\.test/);
    }
  });
});

describe('jobs: Redis holds a pointer, Postgres the truth', () => {
  it('a job whose owner and data were rewritten in Redis still runs as its stored owner, on its stored data', async () => {
    const exportDir = mkdtempSync(join(tmpdir(), 'inbox-sec-exports-'));
    const [ann, bob, eve, carl] = await Promise.all([newUser(hub.url), newUser(hub.url), newUser(hub.url), newUser(hub.url)]);
    const [victims, own] = await Promise.all([newConversation(hub.url, ann, bob), newConversation(hub.url, eve, carl)]);
    const a = (await connectInbox(hub.url, ann.cookie)).socket;
    const e = (await connectInbox(hub.url, eve.cookie)).socket;
    sockets.push(a, e);
    for (const text of ['secret 1', 'secret 2']) await request(a, 'message', { conversation_id: victims.id, message: text, type: 'TEXT' });
    await request(e, 'message', { conversation_id: own.id, message: 'mine', type: 'TEXT' });
    const queued = await api(hub.url, 'POST', '/api/jobs', { cookie: eve.cookie, body: { name: 'conversation.export', data: { conversation_id: own.id } } });
    expect(queued.status).toBe(202);
    const jobId = queued.body.job.job_id as string;
    // What a writable board (or anyone with Redis access) could do before any worker takes the job.
    const job = (await Job.fromId(hub.app.jobsQueue, jobId))!;
    await job.updateData({ owner_id: ann.user.id, data: { conversation_id: victims.id } });
    expect(await request(e, 'job:watch', { job_id: jobId })).toMatchObject({ ok: true });
    const done = waitFor(e, 'job:status', (j) => j.state === 'completed' || j.state === 'failed', 45_000);
    const worker = await spawnWorker({ REDIS_PREFIX: env.REDIS_PREFIX, EXPORT_DIR: exportDir });
    try {
      const finished = await done;
      expect(finished).toMatchObject({ state: 'completed', result: { message_count: 1, path: expect.stringContaining(`conversation-${own.id}-`) } });
    } finally {
      await worker.stop();
      rmSync(exportDir, { recursive: true, force: true });
    }
  }, 60_000);
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
    expect(await request(e, 'delivered', { conversation_id: conv.id, seq: 1 })).toEqual(forbidden);
    await expect(connect(hub.url, eve.cookie, { namespace: `/chat/${conv.id}` })).rejects.toThrow('forbidden');
  });
});

describe('origin guard without an Origin header', () => {
  it('a request carrying the session cookie must show it came from the page itself; cookieless clients are unaffected', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    await newConversation(hub.url, ann, bob);
    const post = (headers: Record<string, string>) =>
      fetch(`${hub.url}/api/conversations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ client_id: ann.user.id, worker_id: bob.user.id }),
      }).then(async (r) => [r.status, await r.json()]);
    const refused = [403, errorOf('forbidden')];
    const c = { cookie: ann.cookie };
    expect(await post({ ...c, referer: 'https://evil.example/page' })).toEqual(refused);
    expect(await post(c)).toEqual(refused);
    expect(await post({ ...c, 'sec-fetch-site': 'cross-site' })).toEqual(refused);
    expect(await post({ ...c, 'sec-fetch-site': 'same-site', referer: 'https://evil.example/' })).toEqual(refused);
    expect(await post({ ...c, referer: 'not a url' })).toEqual(refused);
    expect((await post({ ...c, 'sec-fetch-site': 'same-origin' }))[0]).toBe(200);
    expect((await post({ ...c, 'sec-fetch-site': 'none' }))[0]).toBe(200);
    expect((await post({ ...c, referer: 'http://localhost:8000/inbox' }))[0]).toBe(200);
    // Other cookies are not the session's: a non-browser client without the session cookie is unaffected.
    const u = uniqueEmail();
    const reg = await fetch(`${hub.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'theme=dark' },
      body: JSON.stringify({ email: u, password: 'longenough', name: 'Script' }),
    });
    expect(reg.status).toBe(201);
  });
});

describe('display-name spoofing', () => {
  it('names refuse bidi controls (test/http/auth.test.ts); message text keeps them verbatim', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const a = (await connectInbox(hub.url, ann.cookie)).socket;
    sockets.push(a);
    const text = 'see \u202Etxt.exe\u202C and \u2066isolated\u2069\u200B';
    const ack = await request(a, 'message', { conversation_id: conv.id, message: text, type: 'TEXT' });
    expect([ack.ok, ack.message.message]).toEqual([true, text]);
    const bad = await api(hub.url, 'POST', '/api/auth/register', { body: { email: uniqueEmail(), password: 'longenough', name: 'admin\u202E' } });
    expect([bad.status, bad.body]).toEqual([400, errorOf('invalid_payload')]);
  });
});

describe('logs never carry query parameters', () => {
  it('a failed query is logged with its SQLSTATE, table and constraint, not its values', async () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) });
    const config = testConfig({ REDIS_PREFIX: `${env.REDIS_PREFIX}-logs` });
    const app = await buildApp(config, { logger: { ...(loggerOptions(config) as object), level: 'warn', stream } });
    const email = uniqueEmail('secret');
    const secretHash = 'scrypt$32768$8$1$c2VjcmV0LXNhbHQ$c2VjcmV0LWhhc2gtdmFsdWU';
    // One statement Postgres refuses for a value (a NUL), one for a duplicate (its detail quotes the key),
    // through the app's own pool as the repositories send them.
    const sql = app.dbHandle.sql;
    const insert = (address: string, name: string) => sql`insert into users (email, name, password_hash) values (${address}, ${name}, ${secretHash})`;
    app.post('/test/nul', async () => insert(email, 'x\u0000y'));
    app.post('/test/duplicate', async () => {
      await insert(email, 'x');
      await insert(email.toUpperCase(), 'x');
    });
    // drizzle still runs the migrations, and its errors quote every parameter in their message.
    const migrator = postgres(config.DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      for (const path of ['/test/nul', '/test/duplicate']) {
        const res = await app.inject({ method: 'POST', url: path });
        expect([res.statusCode, res.json()]).toEqual([500, { error: { code: 'unavailable', message: 'Internal error' } }]);
      }
      const caught = await drizzle(migrator).insert(users).values({ email, name: 'x', passwordHash: secretHash }).catch((e: Error) => e);
      app.log.warn({ err: (caught as Error).message }, 'a line that logs only the message');
      const logged = lines.join('');
      expect(logged).not.toContain(email.split('@')[0]);
      expect(logged).not.toContain('c2VjcmV0');
      const failures = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request failed');
      expect(failures.map((l) => [l.err.code, l.err.table_name ?? null, l.err.constraint_name ?? null])).toEqual([
        ['22021', null, null],
        ['23505', 'users', 'users_email_lower_key'],
      ]);
      expect(logged).toContain('params: [redacted]');
    } finally {
      await app.dbHandle.sql`delete from users where lower(email) = ${email.toLowerCase()}`;
      await migrator.end();
      await app.close();
    }
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
