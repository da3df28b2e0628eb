import { expect } from 'vitest';
import type { RolloutReport } from './simulation.js';

/** What a rollout that loses nothing looks like, whatever its size. */
export function expectNothingLost(r: RolloutReport): void {
  // Every pod left through its graceful shutdown, and it really moved clients.
  expect(r.steps.map((s) => s.exit)).toEqual(Array.from({ length: r.pods }, () => 0));
  const moved = r.steps.reduce((n, s) => n + s.clientsMoved, 0);
  expect(moved).toBeGreaterThan(0);
  expect(r.reconnects).toBeGreaterThanOrEqual(moved);
  expect(r.deliveryDuring.count).toBeGreaterThan(0);
  // Every message was acknowledged in the end (retries counted once), stored once, delivered to both members.
  expect(r.acked).toBe(r.sent);
  expect(r.attempts).toBeGreaterThanOrEqual(r.sent);
  expect({ rows: r.storedRows, ids: r.storedIds }).toEqual({ rows: r.sent, ids: r.sent });
  expect({ lost: r.lost, duplicated: r.duplicated, incompleteClients: r.incompleteClients }).toEqual({ lost: 0, duplicated: 0, incompleteClients: 0 });
}
