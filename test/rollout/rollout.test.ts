import { describe, it } from 'vitest';
import { expectNothingLost } from './expectations.js';
import { formatReport, runRollout } from './simulation.js';

/**
 * The CI-sized rolling update (the full one is `npm run test:rollout`): 3 hub pods behind a
 * round-robin balancer, 20 clients sending with client_msg_id retries, each pod taken out of
 * rotation, SIGTERMed and replaced while the traffic flows. Nothing may be lost or duplicated.
 */
describe('a rolling update of the hub pods', () => {
  it('replaces 3 pods one at a time under traffic: 0 lost, 0 duplicated, every client complete after sync', async () => {
    const report = await runRollout({ pods: 3, pairs: 10, sendEveryMs: 100, warmupMs: 2000, tailMs: 1000, drainFirst: true, log: (l) => console.log(l) });
    console.log(`rolling update (CI size)\n${formatReport(report)}`);
    expectNothingLost(report);
  }, 400_000);
});
