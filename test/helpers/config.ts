import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';

/** The environment a test process or spawned child uses: this run's database and Redis prefix. */
export function testEnv(overrides: Record<string, string> = {}) {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: inject('redisPrefix'),
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
