// `npm run lint`: typescript-eslint's recommended rules, and the layers of docs/architecture.md
// as import rules that fail the build (import-x resolves every import to its file, so a rule
// names directories, not spellings of relative paths).
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Modules every layer may use, which import no layer themselves. */
const BASE = [
  './src/config.ts',
  './src/errors.ts',
  './src/logger.ts',
  './src/log-redaction.ts',
  './src/metrics.ts',
  './src/origin.ts',
  './src/redis.ts',
  './src/redis-keys.ts',
  './src/shutdown.ts',
  './src/schemas/**',
];
const LAYERS = ['./src/db', './src/domain', './src/queue', './src/realtime', './src/http', './workers'];
/** What assembles the layers into processes and the package's surface: nothing imports these. */
const ROOTS = ['./src/app.ts', './src/server.ts', './src/dev.ts', './src/producer.ts', './src/index.ts'];

/** One zone of import-x/no-restricted-paths: files in `target` never import from `from` (but `except`). */
const zone = (target, from, message, except) => ({ target, from, message, ...(except && { except }) });

const layerZones = [
  zone(['./src/http/routes', './src/realtime'], './src/db', 'Transports never touch the database: call a service (app.services / ctx.services).'),
  zone('./src/domain', ['./src/http', './src/realtime'], 'The domain never imports a transport: it publishes through the ports in src/domain/ports.ts.'),
  zone('./src/domain', './src/queue', 'The domain reaches the queue through the JobQueue port (src/domain/ports.ts); only the job catalog is shared.', ['./catalog.ts']),
  zone('./src/db', ['./src/domain', './src/queue', './src/realtime', './src/http', './workers', ...ROOTS], 'src/db never imports upward: only its own files and the base modules.'),
  zone('./src/queue', ['./src/db', './src/domain', './src/realtime', './src/http'], 'src/queue is infrastructure (catalog, queue, cancel keys): it imports no layer above it.'),
  zone('./src/realtime', './src/http', 'realtime/ never imports http/: the HTTP plugins wrap realtime, not the other way round.'),
  zone(BASE, [...LAYERS, ...ROOTS], 'Base modules are imported by the layers, never the other way round.'),
  zone('./workers', './src/http', 'Workers never import the HTTP layer.'),
  zone(['./workers/processors', './workers/!(start).ts'], './src/db', 'Workers go through the job services; only workers/start.ts opens the pool.'),
  zone('./client', ['./src', './workers'], 'The client package is self-contained: it carries its own copy of the contract types.'),
  zone('./web', ['./src', './workers'], 'The demo page imports the client package, never the server.'),
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'src/db/migrations/**', 'bench/results/**', 'test/artifacts/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // How import-x reads the files it follows (for no-cycle), and finds them.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: ['./tsconfig.json', './web/tsconfig.json', './client/tsconfig.json'],
          noWarnOnMultipleProjects: true,
          // The client workspace is imported from its sources, as tsc and vitest do.
          conditionNames: ['inbox-hub-source', 'types', 'import', 'default'],
        }),
      ],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      // `_name` marks a parameter or binding kept for its position or shape.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', destructuredArrayIgnorePattern: '^_' }],
      // Socket.IO's and BullMQ's generic types take `any` where this code means "any event map".
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Plain Node scripts (this file, test probes).
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', URL: 'readonly' } },
  },
  {
    // The server's own code: no import cycle (tests and tools may import in any order).
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // The typed event maps reach frontends' bundles: types only, never zod or server code at runtime.
    files: ['src/realtime/protocol.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['*'], allowTypeImports: true, message: 'protocol.ts imports types only.' }] }],
    },
  },
);
