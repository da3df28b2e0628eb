import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const expectFailure = (env: Record<string, string>, line: string) => {
  expect(() => loadConfig(env)).toThrowError(ConfigError);
  expect(() => loadConfig(env)).toThrowError(line);
};

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const config = loadConfig({});
    expect({
      PORT: config.PORT,
      HOST: config.HOST,
      DATABASE_URL: config.DATABASE_URL,
      REDIS_URL: config.REDIS_URL,
      ALLOWED_ORIGINS: config.ALLOWED_ORIGINS,
      MAX_MESSAGE_LENGTH: config.MAX_MESSAGE_LENGTH,
      WORKER_CONCURRENCY: config.WORKER_CONCURRENCY,
      EXPORT_DIR: config.EXPORT_DIR,
      MESSAGE_RATE_LIMIT: config.MESSAGE_RATE_LIMIT,
      MAX_ACTIVE_JOBS_PER_USER: config.MAX_ACTIVE_JOBS_PER_USER,
      MAX_QUEUED_JOBS_PER_USER: config.MAX_QUEUED_JOBS_PER_USER,
      NOTIFY_WEBHOOK_URL: config.NOTIFY_WEBHOOK_URL,
      NOTIFY_DELAY_S: config.NOTIFY_DELAY_S,
      NODE_ENV: config.NODE_ENV,
      cookieSecretGenerated: config.cookieSecretGenerated,
    }).toEqual({
      PORT: 8000,
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
      REDIS_URL: 'redis://127.0.0.1:6379',
      ALLOWED_ORIGINS: ['http://localhost:8000', 'http://127.0.0.1:8000'],
      MAX_MESSAGE_LENGTH: 4000,
      WORKER_CONCURRENCY: 4,
      EXPORT_DIR: './data/exports',
      MESSAGE_RATE_LIMIT: 20,
      MAX_ACTIVE_JOBS_PER_USER: 2,
      MAX_QUEUED_JOBS_PER_USER: 20,
      NOTIFY_WEBHOOK_URL: undefined,
      NOTIFY_DELAY_S: 120,
      NODE_ENV: 'development',
      cookieSecretGenerated: true,
    });
    expect(config.COOKIE_SECRET.length).toBeGreaterThanOrEqual(32);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('defaults the variables beyond the contract that change behaviour, and parses LEGACY_CHAT', () => {
    const config = loadConfig({});
    expect([config.LEGACY_CHAT, config.PGLITE_DATA_DIR]).toEqual([true, './data/pglite']);
    expect(loadConfig({ LEGACY_CHAT: 'false' }).LEGACY_CHAT).toBe(false);
  });

  it('parses numbers and origin lists', () => {
    const config = loadConfig({ PORT: '9001', ALLOWED_ORIGINS: 'https://app.example.com/, http://x.test:3000', MAX_MESSAGE_LENGTH: '10' });
    expect(config.PORT).toBe(9001);
    expect(config.ALLOWED_ORIGINS).toEqual(['https://app.example.com', 'http://x.test:3000']);
    expect(config.MAX_MESSAGE_LENGTH).toBe(10);
  });

  it.each([
    [{ PORT: 'eighty' }, 'Invalid configuration: PORT:'],
    [{ PORT: '70000' }, 'Invalid configuration: PORT:'],
    [{ DATABASE_URL: 'mysql://root@localhost/db' }, 'Invalid configuration: DATABASE_URL: must be a postgres:// or postgresql:// URL'],
    [{ DATABASE_URL: 'not a url' }, 'Invalid configuration: DATABASE_URL:'],
    [{ REDIS_URL: 'http://localhost:6379' }, 'Invalid configuration: REDIS_URL:'],
    [{ ALLOWED_ORIGINS: 'not-an-origin' }, 'Invalid configuration: ALLOWED_ORIGINS'],
    [{ MAX_MESSAGE_LENGTH: '0' }, 'Invalid configuration: MAX_MESSAGE_LENGTH:'],
    [{ WORKER_CONCURRENCY: '-1' }, 'Invalid configuration: WORKER_CONCURRENCY:'],
    [{ NODE_ENV: 'staging' }, 'Invalid configuration: NODE_ENV:'],
    [{ LEGACY_CHAT: 'yes' }, 'Invalid configuration: LEGACY_CHAT: must be true or false'],
    [{ COOKIE_SECRET: 'short' }, 'Invalid configuration: COOKIE_SECRET: must be at least 32 characters'],
    [{ NODE_ENV: 'production' }, 'Invalid configuration: COOKIE_SECRET: required when NODE_ENV=production'],
    [{ NOTIFY_WEBHOOK_URL: 'ftp://hooks.example.com/inbox', NOTIFY_WEBHOOK_SECRET: 's'.repeat(32) }, 'Invalid configuration: NOTIFY_WEBHOOK_URL: must be a http:// or https:// URL'],
    [{ NOTIFY_WEBHOOK_URL: 'hooks.example.com/inbox', NOTIFY_WEBHOOK_SECRET: 's'.repeat(32) }, 'Invalid configuration: NOTIFY_WEBHOOK_URL: must be a http:// or https:// URL'],
    [{ NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/inbox' }, 'Invalid configuration: NOTIFY_WEBHOOK_SECRET: required when NOTIFY_WEBHOOK_URL is set'],
    [{ NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/inbox', NOTIFY_WEBHOOK_SECRET: 'short' }, 'Invalid configuration: NOTIFY_WEBHOOK_SECRET: must be at least 16 characters'],
    [{ NOTIFY_DELAY_S: '0' }, 'Invalid configuration: NOTIFY_DELAY_S:'],
    [{ MAX_ACTIVE_JOBS_PER_USER: '0' }, 'Invalid configuration: MAX_ACTIVE_JOBS_PER_USER:'],
    [{ MAX_QUEUED_JOBS_PER_USER: 'many' }, 'Invalid configuration: MAX_QUEUED_JOBS_PER_USER:'],
  ])('rejects %j with one line naming the variable', (env, line) => {
    expectFailure(env, line);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('accepts production with a secret', () => {
    const config = loadConfig({ NODE_ENV: 'production', COOKIE_SECRET: 'x'.repeat(40) });
    expect(config.cookieSecretGenerated).toBe(false);
    expect(config.COOKIE_SECRET).toBe('x'.repeat(40));
  });
});
