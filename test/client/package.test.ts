import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { newConversation, newUser } from '../helpers/http.js';
import type { ChildService } from '../helpers/processes.js';
import { spawnWorker } from '../helpers/worker-process.js';
import { filePrefix } from '../jobs/support.js';

/**
 * The client as a frontend team gets it: `npm pack`, installed from the tarball into an
 * empty folder, compiled strictly, run against a live hub. Dependencies come from the npm
 * cache the root install filled (`--prefer-offline`), so this needs no network when warm.
 */
const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
const CLIENT = join(ROOT, 'client');
const MAX_PACKAGES = 15;
const MAX_BUNDLE_GZIP = 20 * 1024;
const RUNTIME_EXPORTS = [
  'ConversationView', 'HubHttp', 'InboxClient', 'InboxClientError', 'InboxStore', 'JobView', 'createInboxClient',
  'defaultStorage', 'inboxStore', 'indexedDbStorage', 'localStorageStorage', 'login', 'memoryStorage',
];
const REACT_EXPORTS = ['InboxProvider', 'useConversation', 'useInbox', 'useJob'];

const work = mkdtempSync(join(tmpdir(), 'inbox-client-pack-'));
let tarball: string;
let packed: string[];

const npm = (cwd: string, ...args: string[]) => run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd, maxBuffer: 16 << 20 });
const rootVersion = (name: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

function emptyProject(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  return dir;
}

beforeAll(async () => {
  const { stdout } = await npm(CLIENT, 'pack', '--json', '--pack-destination', work);
  const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  tarball = join(work, info.filename);
  packed = info.files.map((f) => f.path).sort();
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed client', () => {
  it('ships only its compiled entry points, declarations and README, importing nothing but socket.io-client (and react)', () => {
    expect(packed).toContain('dist/index.js');
    expect(packed).toContain('dist/index.d.ts');
    expect(packed).toContain('dist/react.js');
    expect(packed).toContain('dist/react.d.ts');
    expect(packed.filter((p) => !/^(package\.json|README\.md|dist\/[\w-]+\.(js|d\.ts))$/.test(p))).toEqual([]);
    const bare = new Set<string>();
    for (const file of packed.filter((p) => p.endsWith('.js') || p.endsWith('.d.ts'))) {
      const source = readFileSync(join(CLIENT, file), 'utf8');
      for (const [, spec] of source.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) if (!spec!.startsWith('.')) bare.add(spec!);
    }
    expect([...bare].sort()).toEqual(['react', 'socket.io-client']);
  });

  it(`installs with at most ${MAX_PACKAGES} packages, and its browser bundle is at most 20 kB minified and gzipped`, async () => {
    const dir = emptyProject('size-check');
    await npm(dir, 'install', tarball, '--ignore-scripts');
    const lock = JSON.parse(readFileSync(join(dir, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const installed = Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/'));
    expect(installed).toContain('node_modules/@inbox-hub/client');
    expect(installed).not.toContain('node_modules/react');
    expect(installed.length, installed.join('\n')).toBeLessThanOrEqual(MAX_PACKAGES);

    const result = await build({
      stdin: { contents: "export * from '@inbox-hub/client';", resolveDir: dir, loader: 'js' },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const gzipped = gzipSync(result.outputFiles[0]!.contents).length;
    console.log(`client: ${installed.length} packages installed; browser bundle ${(gzipped / 1024).toFixed(1)} kB min+gzip`);
    expect(gzipped).toBeLessThanOrEqual(MAX_BUNDLE_GZIP);
  }, 120_000);
});

describe('a strict TypeScript consumer of the tarball', () => {
  let consumer: string;
  let hub: RunningApp;
  let worker: ChildService;

  beforeAll(async () => {
    const env = { REDIS_PREFIX: filePrefix('client-pack') };
    consumer = emptyProject('consumer');
    const deps = ['typescript', '@types/node', 'react', '@types/react'].map((name) => `${name}@${rootVersion(name)}`);
    const installed = npm(consumer, 'install', tarball, ...deps, '--ignore-scripts');
    // The worker starts through tsx beside an npm install: give it more than the usual 20 s on a busy machine.
    [hub, worker] = await Promise.all([startApp(env), spawnWorker(env, 60_000), installed]);
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    await hub?.close();
  });

  it('compiles every export and the README example with strict on and skipLibCheck off', async () => {
    mkdirSync(join(consumer, 'src'));
    copyFileSync(join(import.meta.dirname, 'consumer', 'every-export.ts'), join(consumer, 'src', 'every-export.ts'));
    writeFileSync(join(consumer, 'src', 'example.ts'), readmeExample());
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true, skipLibCheck: false, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM'], types: ['node'], outDir: 'dist', rootDir: 'src',
        },
        include: ['src'],
      }),
    );
    // A browser app has no Node types: every export must compile without them too.
    writeFileSync(
      join(consumer, 'tsconfig.browser.json'),
      JSON.stringify({ extends: './tsconfig.json', compilerOptions: { types: [], noEmit: true }, include: ['src/every-export.ts'] }),
    );
    const tsc = (project: string) => run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { cwd: consumer }).catch((err: { stdout: string }) => err);
    const [node, browser] = await Promise.all([tsc('tsconfig.json'), tsc('tsconfig.browser.json')]);
    expect(node.stdout).toBe('');
    expect(browser.stdout).toBe('');

    const { stdout } = await run(process.execPath, ['-e', "Promise.all([import('@inbox-hub/client'), import('@inbox-hub/client/react')]).then((m) => console.log(JSON.stringify(m.map((x) => Object.keys(x).sort()))))"], { cwd: consumer });
    expect(JSON.parse(stdout)).toEqual([RUNTIME_EXPORTS, REACT_EXPORTS]);
  }, 120_000);

  it('runs the README example against a live hub: login, send, receive, watch a job', async () => {
    const ann = await newUser(hub.url, { name: 'Ann' });
    const bob = await newUser(hub.url, { name: 'Bob' });
    const conv = await newConversation(hub.url, ann, bob);
    const { stdout } = await run(process.execPath, ['dist/example.js'], {
      cwd: consumer,
      env: { ...process.env, HUB_URL: hub.url, EMAIL: ann.email, PASSWORD: ann.password },
      timeout: 30_000,
    });
    const lines = stdout.trim().split('\n');
    expect(lines.slice(0, 1)).toEqual(['outbox pending']);
    expect(lines.filter((l) => l.startsWith('message ') || l.startsWith('stored '))).toEqual([
      `message ${conv.id}#1 Ann: Hello from Ann`,
      'stored as seq 1',
    ]);
    const job = lines.filter((l) => l.startsWith('job '));
    expect(job.at(-1)).toBe('job completed 100%');
  }, 60_000);
});

/** The first TypeScript block under "Quick start" in the client's README. */
function readmeExample(): string {
  const readme = readFileSync(join(CLIENT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('no ```ts block under "## Quick start" in client/README.md');
  return match[1]!;
}
