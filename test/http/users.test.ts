import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newUser, uniqueEmail } from '../helpers/http.js';

let hub: RunningApp;
beforeAll(async () => {
  hub = await startApp({ REDIS_PREFIX: `${inject('redisPrefix')}-lookup` });
});
afterAll(() => hub.close());

describe('GET /api/users/lookup', () => {
  it('finds a user by exact email, whatever its case, as a peer (no email), for logged-in callers only', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob', avatar_url: 'https://cdn.example/b.png' })]);
    const found = await api(hub.url, 'GET', `/api/users/lookup?email=${encodeURIComponent(bob.email.toUpperCase())}`, { cookie: ann.cookie });
    expect([found.status, found.body]).toEqual([200, { peer: { id: bob.user.id, name: 'Bob', avatar_url: 'https://cdn.example/b.png' } }]);
    const missing = await api(hub.url, 'GET', `/api/users/lookup?email=${uniqueEmail()}`, { cookie: ann.cookie });
    expect([missing.status, missing.body]).toEqual([404, { error: { code: 'not_found', message: 'User not found' } }]);
    const anon = await api(hub.url, 'GET', `/api/users/lookup?email=${encodeURIComponent(bob.email)}`);
    expect(anon.status).toBe(401);
    const bad = await api(hub.url, 'GET', '/api/users/lookup?email=nope', { cookie: ann.cookie });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_payload']);
  });

  it('is rate-limited per user (30 a minute)', async () => {
    const ann = await newUser(hub.url);
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await api(hub.url, 'GET', `/api/users/lookup?email=${uniqueEmail()}`, { cookie: ann.cookie })).status);
    expect(statuses.filter((s) => s === 404)).toHaveLength(30);
    expect(statuses.at(-1)).toBe(429);
  });
});
