import { describe, expect, it } from 'vitest';
import { DeadlineQueue, withDeadline } from '../../src/realtime/ack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('withDeadline over the shared deadline queue', () => {
  it('settles with the work when it is in time, and with onLate when it is not', async () => {
    let lateCalls = 0;
    const quick = withDeadline(sleep(5).then(() => 'done'), 200, () => (lateCalls++, 'late'));
    const slow = withDeadline(sleep(400).then(() => 'done'), 50, () => (lateCalls++, 'late'));
    expect(await quick).toBe('done');
    expect(await slow).toBe('late');
    expect(lateCalls).toBe(1);
  });

  it('passes a rejection in time through, and swallows one after the deadline', async () => {
    await expect(withDeadline(Promise.reject(new Error('boom')), 100, () => 'late')).rejects.toThrow('boom');
    const lateFailure = sleep(100).then(() => { throw new Error('after'); });
    expect(await withDeadline(lateFailure, 20, () => 'late')).toBe('late');
    await sleep(120); // the late rejection must not surface as unhandled (vitest fails the run if it does)
  });

  it('fires each deadline after its own start, oldest first, with one timer for many', async () => {
    const q = new DeadlineQueue(60);
    const fired: Array<[string, number]> = [];
    const t0 = performance.now();
    q.add(() => fired.push(['a', performance.now() - t0]));
    await sleep(30);
    const b = q.add(() => fired.push(['b', performance.now() - t0]));
    q.add(() => fired.push(['c', performance.now() - t0]));
    q.remove(b);
    expect(q.size).toBe(2);
    await sleep(150);
    expect(fired.map(([n]) => n)).toEqual(['a', 'c']);
    expect(fired[0]![1]).toBeGreaterThanOrEqual(59);
    expect(fired[1]![1]).toBeGreaterThanOrEqual(89);
    expect(q.size).toBe(0);
  });
});
