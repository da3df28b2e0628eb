import { expect } from 'vitest';
import type { ChildService } from '../helpers/processes.js';

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
