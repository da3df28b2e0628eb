import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { api, newConversation, newUser, type TestUser } from '../helpers/http.js';
import { connectInbox, request, waitFor } from '../helpers/sockets.js';

let hub: RunningApp;
beforeAll(async () => {
  hub = await startApp({ METRICS_TOKEN: 'scrape-token-0123456789' });
});
afterAll(() => hub.close());

const scrape = async (token = 'scrape-token-0123456789') => {
  const res = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};
/** The value of the series `name` whose labels include every `k="v"` of `labels` (any order). */
const sample = (text: string, name: string, labels: string) => {
  const wanted = labels ? labels.split(',') : [];
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return Number(line?.split(' ').at(-1) ?? NaN);
};

describe('/metrics', () => {
  it('needs the token when METRICS_TOKEN is set', async () => {
    expect((await scrape('wrong-token-wrong-token')).status).toBe(401);
    expect((await fetch(`${hub.url}/metrics`)).status).toBe(401);
  });

  it('exposes sockets per namespace, stored and broadcast messages, ack latency and process metrics', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const before = await scrape();
    const a = await connectInbox(hub.url, ann.cookie);
    const b = await connectInbox(hub.url, bob.cookie);
    const got = waitFor(b.socket, 'message');
    await request(a.socket, 'message', { conversation_id: conv.id, message: 'count me', type: 'TEXT' });
    await got;
    await request(a.socket, 'message', { conversation_id: conv.id, message: '', type: 'TEXT' });
    const after = await scrape();
    a.socket.close();
    b.socket.close();
    expect(after.status).toBe(200);
    expect(after.type).toMatch(/^text\/plain/);
    expect(sample(after.text, 'inbox_connected_sockets', 'namespace="/inbox"')).toBe(2);
    const delta = (name: string, labels = '') => sample(after.text, name, labels) - (sample(before.text, name, labels) || 0);
    expect(delta('inbox_messages_stored_total')).toBe(1);
    expect(delta('inbox_messages_broadcast_total')).toBe(1);
    expect(delta('inbox_socket_ack_seconds_count', 'event="message",outcome="ok"')).toBe(1);
    expect(delta('inbox_socket_ack_seconds_count', 'event="message",outcome="invalid_payload"')).toBe(1);
    expect(after.text).toMatch(/^nodejs_eventloop_lag_seconds\{pod="[^"]+"\} /m);
    expect(after.text).toMatch(/^process_resident_memory_bytes\{pod="[^"]+"\} /m);
  });
});

describe('/metrics in production', () => {
  it('a production hub without METRICS_TOKEN stops at start with one line', async () => {
    await expect(buildApp(testConfig({ NODE_ENV: 'production' }), { logger: false })).rejects.toThrow(
      /^Invalid configuration: METRICS_TOKEN: required when NODE_ENV=production$/,
    );
  });
});

describe('production build', () => {
  it('ships no source maps: tsc emits none for dist/, the page bundle has none', async () => {
    const { execFile } = await import('node:child_process');
    const { readFileSync } = await import('node:fs');
    const showConfig = await new Promise<string>((resolve, reject) =>
      execFile('npx', ['tsc', '-p', 'tsconfig.build.json', '--showConfig'], (err, out) => (err ? reject(err) : resolve(out))),
    );
    const options = JSON.parse(showConfig).compilerOptions as Record<string, unknown>;
    expect([options.sourceMap ?? false, options.inlineSourceMap ?? false, options.declarationMap ?? false]).toEqual([false, false, false]);
    const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>;
    expect(scripts['build:web']).toMatch(/^esbuild /);
    expect(scripts['build:web']).not.toMatch(/--sourcemap/);
  }, 60_000);
});

describe('/docs', () => {
  it('serves OpenAPI generated from the route schemas, and its UI', async () => {
    const spec = await api(hub.url, 'GET', '/docs/json');
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toMatch(/^3\./);
    for (const path of ['/api/auth/register', '/api/auth/login', '/api/conversations', '/api/conversations/{id}/messages', '/api/jobs', '/api/jobs/{id}/cancel']) {
      expect(Object.keys(spec.body.paths)).toContain(path);
    }
    const register = spec.body.paths['/api/auth/register'].post;
    expect(register.requestBody.content['application/json'].schema.required).toEqual(['email', 'password', 'name']);
    const ui = await fetch(`${hub.url}/docs/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });
});

describe('/admin/queues', () => {
  /** A second pod over the same database and queue, whose admins are the given users' ids. */
  async function boardFor(admins: TestUser[], env: Record<string, string> = {}) {
    return startApp({ ADMIN_USER_IDS: admins.map((a) => a.user.id).join(','), ...env });
  }
  const board = (pod: RunningApp, path: string, cookie: string, init: RequestInit = {}) =>
    fetch(`${pod.url}/admin/queues${path}`, { ...init, headers: { cookie, 'sec-fetch-site': 'same-origin', ...init.headers } });

  it('is served to the users listed by id in ADMIN_USER_IDS, invisible (404) to everyone else', async () => {
    const [ops, user] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const pod = await boardFor([ops]);
    try {
      const anon = await fetch(`${pod.url}/admin/queues`);
      expect([anon.status, await anon.text()]).toEqual([404, expect.stringContaining('not_found')]);
      expect((await board(pod, '', user.cookie)).status).toBe(404);
      const page = await board(pod, '', ops.cookie);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/bull/i);
      const queues = await board(pod, '/api/queues', ops.cookie);
      expect(queues.status).toBe(200);
      expect(((await queues.json()) as { queues: { name: string }[] }).queues.map((q) => q.name)).toEqual(['jobs']);
    } finally {
      await pod.close();
    }
  });

  it('no email makes an admin: ADMIN_EMAILS stops the start with one line', () => {
    expect(() => testConfig({ ADMIN_EMAILS: 'ops@example.test' })).toThrow(
      /^Invalid configuration: ADMIN_EMAILS: no longer supported \(emails are not verified\); list admin user ids in ADMIN_USER_IDS$/,
    );
    expect(() => testConfig({ ADMIN_USER_IDS: 'ops@example.test' })).toThrow(/^Invalid configuration: ADMIN_USER_IDS\.0: must be a comma-separated list of user ids$/);
    expect(testConfig({ ADMIN_USER_IDS: ' 7, 42 ' }).ADMIN_USER_IDS).toEqual([7, 42]);
  });

  it('is read-only unless ADMIN_BOARD_WRITE=true, and a foreign Origin gets 403, not 500', async () => {
    const ops = await newUser(hub.url);
    const [readOnly, writable] = await Promise.all([boardFor([ops]), boardFor([ops], { ADMIN_BOARD_WRITE: 'true' })]);
    try {
      const pause = await board(readOnly, '/api/queues/jobs/pause', ops.cookie, { method: 'PUT' });
      expect(pause.status).toBe(405);
      expect(await hub.app.jobsQueue.isPaused()).toBe(false);
      const foreign = await board(writable, '/api/queues/jobs/pause', ops.cookie, { method: 'PUT', headers: { origin: 'https://evil.example' } });
      expect([foreign.status, await foreign.json()]).toEqual([403, { error: { code: 'forbidden', message: 'Origin not allowed: https://evil.example is not in ALLOWED_ORIGINS' } }]);
      expect(await hub.app.jobsQueue.isPaused()).toBe(false);
      expect((await board(writable, '/api/queues/jobs/pause', ops.cookie, { method: 'PUT' })).status).toBe(200);
      expect(await hub.app.jobsQueue.isPaused()).toBe(true);
      expect((await board(writable, '/api/queues/jobs/resume', ops.cookie, { method: 'PUT' })).status).toBe(200);
    } finally {
      await hub.app.jobsQueue.resume();
      await Promise.all([readOnly.close(), writable.close()]);
    }
  });
});
