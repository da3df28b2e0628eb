import { expect } from 'vitest';
import type { JobDto } from '../../src/realtime/protocol.js';
import { api, newUser } from '../helpers/http.js';
import type { ChildService } from '../helpers/processes.js';
import { request, type ClientSocket } from '../helpers/sockets.js';

/**
 * Enqueues a demo.steps job over HTTP on pod A and watches it from pod B: every change a
 * worker process publishes must arrive there through Redis, each seq once and in order.
 */
export async function expectJobStreamsAcrossPods(
  podA: ChildService,
  podB: ChildService,
  inboxOn: (pod: ChildService, cookie: string) => Promise<ClientSocket>,
): Promise<void> {
  const owner = await newUser(podA.url);
  const watcher = await inboxOn(podB, owner.cookie);
  const seen: JobDto[] = [];
  watcher.on('job:status', (job) => seen.push(job));
  const created = await api(podA.url, 'POST', '/api/jobs', { cookie: owner.cookie, body: { name: 'demo.steps', data: { steps: 4, step_ms: 50 } } });
  expect(created.status).toBe(202);
  const jobId = created.body.job.job_id as string;
  const watched = await request(watcher, 'job:watch', { job_id: jobId });
  expect(watched).toMatchObject({ ok: true, job: { job_id: jobId } });
  await expect.poll(() => seen.at(-1)?.state, { timeout: 30_000 }).toBe('completed');
  const after = seen.filter((j) => j.seq > watched.job.seq);
  const seqs = after.map((j) => j.seq);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(seen.at(-1)).toMatchObject({ job_id: jobId, state: 'completed', progress: 100, result: { steps: 4 } });
  const final = await api(podA.url, 'GET', `/api/jobs/${jobId}`, { cookie: owner.cookie });
  expect(final.body.job).toEqual(seen.at(-1));
}
