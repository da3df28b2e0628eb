import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The client workspace is imported from its TypeScript sources (see client/package.json).
  resolve: { conditions: ['inbox-hub-source'] },
  ssr: { resolve: { conditions: ['inbox-hub-source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // Two cores: more parallel files only add contention with Postgres and Redis.
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
