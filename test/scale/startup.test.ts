import { afterEach, describe, expect, it } from 'vitest';
import { freePort, spawnTs, type ChildService } from '../helpers/processes.js';
import { testEnv } from '../helpers/config.js';

/** Bad configuration stops the process at start with one clear line naming the variable. */
const started: ChildService[] = [];
// A process that did not exit in time must not outlive the test.
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop('SIGKILL')));
});

describe('hub start-up failures', () => {
  it.each([
    [{ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nope' }, /^hub failed to start: DATABASE_URL: cannot connect to Postgres \(ECONNREFUSED\)$/],
    [{ DATABASE_URL: 'mysql://x@127.0.0.1/db' }, /^Invalid configuration: DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL$/],
    [{ NODE_ENV: 'production', COOKIE_SECRET: '' }, /^Invalid configuration: COOKIE_SECRET: required when NODE_ENV=production$/],
    [{ REDIS_URL: 'redis://127.0.0.1:1' }, /^hub failed to start: REDIS_URL: cannot reach Redis/],
    [{ PORT: 'abc' }, /^Invalid configuration: PORT: /],
  ])('%j', async (env, line) => {
    const port = await freePort();
    const hub = spawnTs('src/server.ts', testEnv({ PORT: String(port), LOG_LEVEL: 'silent', ...env }));
    started.push(hub);
    expect(await hub.exited).toBe(1);
    const lines = hub.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  }, 60_000);
});
