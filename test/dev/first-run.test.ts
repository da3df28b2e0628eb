import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../helpers/config.js';
import { api, uniqueEmail } from '../helpers/http.js';
import { connect } from '../helpers/sockets.js';
import { filePrefix } from '../jobs/support.js';

/** A hub on a random port (so never in the default ALLOWED_ORIGINS) whose warnings are kept. */
async function hubWithLog(env: Record<string, string>) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  // METRICS_TOKEN: production may require it; it plays no part here.
  const config = testConfig({ REDIS_PREFIX: filePrefix('first-run'), METRICS_TOKEN: 'metrics-token-of-the-first-run-test', ...env });
  const app = await buildApp(config, { logger: { level: 'warn', stream } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const messages = () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => m.startsWith('origin '));
  return { app, port, url: `http://127.0.0.1:${port}`, messages };
}

const register = (url: string, origin: string) =>
  api(url, 'POST', '/api/auth/register', { body: { email: uniqueEmail(), password: 'correct horse battery', name: 'Newcomer' }, headers: { origin } });

let dev: Awaited<ReturnType<typeof hubWithLog>>;
let prod: Awaited<ReturnType<typeof hubWithLog>>;
beforeAll(async () => {
  [dev, prod] = await Promise.all([hubWithLog({ NODE_ENV: 'development' }), hubWithLog({ NODE_ENV: 'production' })]);
});
afterAll(async () => {
  await Promise.all([dev?.app.close(), prod?.app.close()]);
});

describe('outside production the hub trusts its own origin, whatever its port', () => {
  it('a page served by the hub registers and opens its socket without ALLOWED_ORIGINS naming the port', async () => {
    const own = `http://127.0.0.1:${dev.port}`;
    const res = await register(dev.url, own);
    expect(res.status).toBe(201);
    const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
    for (const transport of ['websocket', 'polling'] as const) {
      const socket = await connect(dev.url, cookie, { origin: own, transports: [transport] });
      expect(socket.connected).toBe(true);
      socket.close();
    }
  });

  it('another host, or the same host on another port, is still refused, and the log says why', async () => {
    for (const origin of [`http://localhost:${dev.port}`, `http://127.0.0.1:${dev.port + 1}`, 'https://evil.example', 'null']) {
      const res = await register(dev.url, origin);
      expect([res.status, res.body]).toEqual([403, { error: { code: 'forbidden', message: `Origin not allowed: ${origin} is not in ALLOWED_ORIGINS` } }]);
    }
    await expect(connect(dev.url, undefined, { origin: 'https://evil.example' })).rejects.toThrow('forbidden_origin');
    expect(dev.messages()).toEqual([
      `origin http://localhost:${dev.port} is not in ALLOWED_ORIGINS: refused (POST /api/auth/register)`,
      `origin http://127.0.0.1:${dev.port + 1} is not in ALLOWED_ORIGINS: refused (POST /api/auth/register)`,
      'origin https://evil.example is not in ALLOWED_ORIGINS: refused (POST /api/auth/register)',
      'origin null is not in ALLOWED_ORIGINS: refused (POST /api/auth/register)',
      'origin https://evil.example is not in ALLOWED_ORIGINS: refused (socket handshake /inbox)',
    ]);
  });

  it('production trusts ALLOWED_ORIGINS only', async () => {
    const own = `http://127.0.0.1:${prod.port}`;
    const res = await register(prod.url, own);
    expect([res.status, res.body]).toEqual([403, { error: { code: 'forbidden', message: `Origin not allowed: ${own} is not in ALLOWED_ORIGINS` } }]);
    await expect(connect(prod.url, undefined, { origin: own, namespace: '/inbox' })).rejects.toThrow('forbidden_origin');
    expect(prod.messages()).toEqual([
      `origin ${own} is not in ALLOWED_ORIGINS: refused (POST /api/auth/register)`,
      `origin ${own} is not in ALLOWED_ORIGINS: refused (socket handshake /inbox)`,
    ]);
    expect((await register(prod.url, 'http://localhost:8000')).status).toBe(201);
  });
});

describe('security headers fit plain http outside production', () => {
  it('no upgrade-insecure-requests and no HSTS in development, both in production', async () => {
    const [d, p] = await Promise.all([fetch(`${dev.url}/healthz`), fetch(`${prod.url}/healthz`)]);
    expect(d.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(d.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
    expect(d.headers.get('strict-transport-security')).toBeNull();
    expect(p.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
    expect(p.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });
});
