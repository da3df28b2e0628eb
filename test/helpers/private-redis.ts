import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, pollUntil } from './processes.js';

const run = promisify(execFile);

/**
 * A throw-away redis-server of its own on a spare loopback port, which a fault test may
 * SIGKILL and start again. The machine's shared Redis on 6379 is never touched.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  /** SIGKILL, as a crash or an OOM kill would; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts a fresh (empty: no persistence) server on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** `redis-cli` against this server, for probing its state (CLIENT LIST, PUBSUB ...). */
  cli(...args: string[]): Promise<string>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const cli = async (...args: string[]) => (await run('redis-cli', ['-p', String(port), ...args])).stdout;

  const start = async () => {
    if (child) throw new Error('private redis is already running');
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = null;
    });
    await pollUntil(async () => (await cli('ping')).trim() === 'PONG', `private redis on ${port}`);
  };
  const kill = async () => {
    const proc = child;
    if (!proc) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await gone;
  };

  await start();
  return { port, url: `redis://127.0.0.1:${port}`, kill, start, cli };
}
