import { describe, it } from 'vitest';
import { expectNothingLost } from './expectations.js';
import { formatReport, runRollout, type RolloutOptions } from './simulation.js';

/**
 * `npm run test:rollout`: the rolling update at full size, three rounds in a row (each a fresh
 * set of 3 pods, 40 clients, every client sending 10 messages a second with client_msg_id
 * retries), then one round where a pod leaves the balancer only after it has exited, as
 * without the Deployment's preStop sleep: clients may then reach a pod that is closing.
 */
const FULL: Omit<RolloutOptions, 'drainFirst'> = {
  pods: 3,
  pairs: Number(process.env.ROLLOUT_PAIRS ?? 20),
  sendEveryMs: Number(process.env.ROLLOUT_SEND_EVERY_MS ?? 100),
  warmupMs: 5000,
  tailMs: 3000,
  log: (line) => console.log(line),
};

describe('a rolling update of the hub pods, full size', () => {
  it.each([1, 2, 3])('round %i: 0 lost, 0 duplicated, every client complete after sync', async (round) => {
    const report = await runRollout({ ...FULL, drainFirst: true });
    console.log(`rolling update, round ${round}\n${formatReport(report)}`);
    expectNothingLost(report);
  });

  it('without the preStop drain (a pod stays in rotation until it exits): still 0 lost, 0 duplicated', async () => {
    const report = await runRollout({ ...FULL, drainFirst: false });
    console.log(`rolling update without preStop drain\n${formatReport(report)}`);
    expectNothingLost(report);
  });
});
