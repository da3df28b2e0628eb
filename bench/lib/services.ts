import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A child process the bench started and must stop; its output is kept only as a short tail. */
export interface Service {
  name: string;
  pid: number;
  url: string;
  /** Resolves with the exit code once the process is gone. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
  tail(): string;
}

const running = new Set<Service>();

/** A free loopback port; the tiny race until the child binds it is acceptable on a bench box. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  cwd?: string;
  /** Path answering 200 once the service is up ... */
  readyPath?: string;
  /** ... or, for a process without HTTP, text it prints once ready. */
  readyText?: string;
  readyTimeoutMs?: number;
}

/** Starts a service and resolves once it answers HTTP on its port (or rejects with its output). */
export async function startService(o: SpawnOptions): Promise<Service> {
  const child = spawn(o.command, o.args, { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let printedReady: () => void = () => {};
  const printed = new Promise<void>((resolve) => (printedReady = resolve));
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (o.readyText && text.includes(o.readyText)) printedReady();
    for (const line of text.split('\n')) if (line) lines.push(line);
    if (lines.length > 200) lines.splice(0, lines.length - 100);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${o.port}`;
  const service: Service = {
    name: o.name,
    pid: child.pid!,
    url,
    exited,
    stop: () => stopChild(child, exited).finally(() => running.delete(service)),
    tail: () => lines.slice(-30).join('\n'),
  };
  running.add(service);
  const died = exited.then((code) => {
    throw new Error(`${o.name} exited with ${code} before it was ready:\n${service.tail()}`);
  });
  try {
    const timeoutMs = o.readyTimeoutMs ?? 30_000;
    const ready = o.readyText
      ? Promise.race([printed, sleep(timeoutMs).then(() => Promise.reject(new Error(`${o.name} did not print "${o.readyText}" within ${timeoutMs} ms`)))])
      : waitForHttp(`${url}${o.readyPath ?? '/healthz'}`, timeoutMs);
    await Promise.race([ready, died]);
  } catch (err) {
    await service.stop();
    throw err;
  }
  died.catch(() => {});
  return service;
}

/** SIGTERM, then SIGKILL after a grace period; never waits forever. */
async function stopChild(child: ChildProcess, exited: Promise<number | null>, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Stops every service still running (on error or interrupt), in parallel. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((s) => s.stop()));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
