import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:rollout`: the full rolling-update simulation (three rounds in a row, then one
 * without the preStop drain), apart from `npm test` because it keeps both cores busy for
 * minutes. Same global setup (a database and a Redis prefix per run).
 */
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/rollout/**/*.rollout.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    minWorkers: 1,
    // Rounds run one after another in one file.
    sequence: { concurrent: false },
    testTimeout: 900_000,
    hookTimeout: 90_000,
    reporters: ['default'],
  },
});
