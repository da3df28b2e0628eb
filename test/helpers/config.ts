import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';

/**
 * This test file's Redis prefix, under the run's (so teardown still finds its keys). Adapter
 * channels are named by room, and files whose hubs run on a database of their own (a private
 * Postgres, PGlite) have a `chat_1` too: sharing the run's prefix, they received each
 * other's messages. Vitest loads this module afresh for every test file.
 */
const FILE_REDIS_PREFIX = `${inject('redisPrefix')}-${randomBytes(3).toString('hex')}`;

/** The environment a test process or spawned child uses: this run's database and this file's Redis prefix. */
export function testEnv(overrides: Record<string, string> = {}) {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: FILE_REDIS_PREFIX,
    COOKIE_SECRET: 'test-cookie-secret-that-is-long-enough-0123456789',
    HOST: '127.0.0.1',
    PORT: '0',
    // Every test registers users from 127.0.0.1; the security tests set their own limits.
    LOGIN_RATE_LIMIT_PER_IP: '1000000',
    LOGIN_RATE_LIMIT_PER_ACCOUNT: '1000000',
    ...overrides,
  };
}

export const testConfig = (overrides: Record<string, string> = {}): Config => loadConfig(testEnv(overrides));
