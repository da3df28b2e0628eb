import { expect } from 'vitest';
import { testEnv } from '../helpers/config.js';
import { freePort, spawnTs, type ChildService } from '../helpers/processes.js';

/**
 * A real hub process, as spawnHub makes it, with a longer wait for readiness: fault tests
 * start several processes (servers, pods) at once on a small shared machine.
 */
export async function spawnHubPatiently(env: Record<string, string> = {}, timeoutMs = 45_000): Promise<ChildService> {
  const port = await freePort();
  const hub = spawnTs('src/server.ts', testEnv({ PORT: String(port), LOG_LEVEL: 'info', ...env }), port);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hub.child.exitCode !== null) throw new Error(`hub exited early:\n${hub.output()}`);
    if ((await fetch(`${hub.url}/readyz`).then((r) => r.status, () => 0)) === 200) return hub;
    await new Promise((r) => setTimeout(r, 100));
  }
  await hub.stop('SIGKILL');
  throw new Error(`hub not ready within ${timeoutMs} ms:\n${hub.output()}`);
}

/** The ack of any event whose storage did not answer: nothing was stored, nothing was sent. */
export const UNAVAILABLE_ACK = {
  ok: false,
  error: { code: 'unavailable', message: 'Storage is unavailable; nothing was stored' },
} as const;

export async function readyz(baseUrl: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}/readyz`);
  return { status: res.status, body: await res.json() };
}

/** The process still runs and never reported an unhandled error. */
export function expectAlive(service: ChildService): void {
  expect(service.child.exitCode).toBe(null);
  expect(service.child.signalCode).toBe(null);
  expect(service.output()).not.toMatch(/unhandled|uncaught/i);
}
