import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newUser } from '../helpers/http.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { filePrefix, jobShape } from './support.js';

let redis: PrivateRedis;
let hub: RunningApp;

beforeAll(async () => {
  redis = await startPrivateRedis();
  hub = await startApp({ REDIS_URL: redis.url, REDIS_PREFIX: filePrefix('jobs-redis-down') });
});
afterAll(async () => {
  await hub?.close();
  await redis?.kill();
});

describe('POST /api/jobs while Redis is down', () => {
  it('answers 503 and keeps no ownership row, then works again once Redis is back', async () => {
    const ann = await newUser(hub.url);
    await redis.kill();
    const res = await api(hub.url, 'POST', '/api/jobs', { cookie: ann.cookie, body: { name: 'demo.steps', data: { steps: 1, step_ms: 0 } } });
    expect(res).toMatchObject({ status: 503, body: { error: { code: 'unavailable', message: 'The queue is unavailable; nothing was enqueued' } } });
    expect((await api(hub.url, 'GET', '/api/jobs', { cookie: ann.cookie })).body).toEqual({ jobs: [] });

    await redis.start();
    const again = await api(hub.url, 'POST', '/api/jobs', { cookie: ann.cookie, body: { name: 'demo.steps', data: { steps: 1, step_ms: 0 } } });
    expect(again).toMatchObject({ status: 202, body: { job: jobShape() } });
  });
});
