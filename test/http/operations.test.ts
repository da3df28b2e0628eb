import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newConversation, newUser, uniqueEmail } from '../helpers/http.js';
import { connectInbox, request, waitFor } from '../helpers/sockets.js';

const adminEmail = uniqueEmail('admin');
let hub: RunningApp;
beforeAll(async () => {
  hub = await startApp({ ADMIN_EMAILS: `ops@example.test, ${adminEmail.toUpperCase()}`, METRICS_TOKEN: 'scrape-token-0123456789' });
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
  it('is invisible (404) to anonymous and non-admin users, and served to admins', async () => {
    const anon = await fetch(`${hub.url}/admin/queues`);
    expect([anon.status, await anon.text()]).toEqual([404, expect.stringContaining('not_found')]);
    const user = await newUser(hub.url);
    expect((await fetch(`${hub.url}/admin/queues`, { headers: { cookie: user.cookie } })).status).toBe(404);
    const reg = await api(hub.url, 'POST', '/api/auth/register', { body: { email: adminEmail, password: 'admin password', name: 'Ops' } });
    const cookie = reg.headers.getSetCookie()[0]!.split(';')[0]!;
    const page = await fetch(`${hub.url}/admin/queues`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/bull/i);
    const queues = await fetch(`${hub.url}/admin/queues/api/queues`, { headers: { cookie } });
    expect(queues.status).toBe(200);
    expect(((await queues.json()) as { queues: { name: string }[] }).queues.map((q) => q.name)).toEqual(['jobs']);
  });
});
