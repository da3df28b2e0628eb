import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '../helpers/config.js';
import { api, newUser } from '../helpers/http.js';
import { freePort, spawnTs, type ChildService } from '../helpers/processes.js';
import { connectInbox } from '../helpers/sockets.js';
import { waitForOutput } from '../helpers/worker-process.js';
import { filePrefix, jobEvents, jobShape, settle, watch } from './support.js';

let dev: ChildService | undefined;
afterAll(async () => {
  await dev?.stop('SIGKILL');
});

describe('npm run dev', () => {
  it('migrates, then runs a hub and a worker in one process, and prints the URL to open', async () => {
    const port = await freePort();
    dev = spawnTs('src/dev.ts', testEnv({ PORT: String(port), REDIS_PREFIX: filePrefix('jobs-dev') }));
    const url = `http://127.0.0.1:${port}`;
    await waitForOutput(dev, `open ${url}/`, 40_000);

    const ann = await newUser(url);
    const { socket } = await connectInbox(url, ann.cookie);
    try {
      const got = jobEvents(socket);
      const res = await api(url, 'POST', '/api/jobs', { cookie: ann.cookie, body: { name: 'demo.steps', data: { steps: 2, step_ms: 50 } } });
      const done = await settle(await watch(socket, res.body.job.job_id), got, (j) => j.state === 'completed');
      expect(done).toEqual(
        jobShape({ job_id: res.body.job.job_id, state: 'completed', progress: 100, status_text: 'completed', result: { steps: 2 }, attempts_made: 1, seq: 5, created_at: res.body.job.created_at }),
      );
    } finally {
      socket.close();
    }
    expect(await dev.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
