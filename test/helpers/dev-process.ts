import { spawn } from 'node:child_process';
import { testEnv } from './config.js';
import { freePort, spawnTs, type ChildService } from './processes.js';
import { waitForOutput } from './worker-process.js';

/**
 * `npm run dev` as a child process (hub and worker in one), serving its own origin so a
 * browser page works too; resolves once it printed the URL to open.
 */
export async function spawnDev(env: Record<string, string>): Promise<{ dev: ChildService; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dev = spawnTs('src/dev.ts', testEnv({ PORT: String(port), ALLOWED_ORIGINS: url, ...env }), port);
  // The first start of an embedded database runs initdb: several seconds on a busy machine.
  await waitForOutput(dev, `open ${url}/`, 90_000);
  return { dev, url };
}

/**
 * `npm run dev` itself (the package script, with its `.env` loading), as a newcomer types it;
 * `--ignore-scripts` skips only `predev` (`npm test` built the page already, and rebuilding it
 * would rewrite files other tests are serving). npm runs tsx in a shell, so the whole process
 * group is signalled on stop. `env` replaces the environment: nothing of the test run leaks in.
 */
export function spawnNpmDev(opts: { cwd: string; env: Record<string, string>; port: number }): ChildService {
  const child = spawn('npm', ['run', 'dev', '--ignore-scripts'], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    port: opts.port,
    url: `http://127.0.0.1:${opts.port}`,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM') => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // the group is gone already
      }
      return exited;
    },
  };
}
