import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { testEnv } from './config.js';

/** A free loopback port (bound then released; the race with other processes is negligible here). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface ChildService {
  child: ChildProcess;
  url: string;
  port: number;
  /** Everything the process printed, for assertions and for diagnosing failures. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Spawns a real hub process (`src/server.ts` through tsx) and waits until /readyz answers 200. */
export async function spawnHub(env: Record<string, string> = {}): Promise<ChildService> {
  const port = await freePort();
  const service = spawnTs('src/server.ts', { ...testEnv({ PORT: String(port), LOG_LEVEL: 'info', ...env }) }, port);
  await waitUntilReady(service);
  return service;
}

export function spawnTs(entry: string, env: Record<string, string>, port = 0): ChildService {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    exited,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

async function waitUntilReady(service: ChildService, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null) throw new Error(`hub exited early:\n${service.output()}`);
    try {
      const res = await fetch(`${service.url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await service.stop('SIGKILL');
  throw new Error(`hub not ready within ${timeoutMs} ms:\n${service.output()}`);
}

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. Errors count as "not yet". */
export async function pollUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
