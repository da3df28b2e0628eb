import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import staticSite from '../../src/http/plugins/static-site.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function appWith(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'static-site-'));
  dirs.push(root);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(root, name), body);
  const app = Fastify({ logger: false });
  await app.register(staticSite, { root });
  app.get('/api/ping', async () => ({ pong: true }));
  return app;
}

describe('static-site plugin', () => {
  it('serves the built page at / and its files, and nothing that is not in the build', async () => {
    const app = await appWith({ 'index.html': '<!doctype html><title>x</title>', 'app.js': 'void 0;' });
    expect((await app.inject('/')).statusCode).toBe(200);
    expect((await app.inject('/app.js')).headers['content-type']).toMatch(/javascript/);
    expect((await app.inject('/api/ping')).json()).toEqual({ pong: true });
    expect((await app.inject('/../package.json')).statusCode).toBe(404);
    expect((await app.inject('/missing.js')).statusCode).toBe(404);
    await app.close();
  });

  it('boots without a build, answering 404 at /', async () => {
    const app = await appWith({});
    expect((await app.inject('/')).statusCode).toBe(404);
    await app.close();
  });
});
