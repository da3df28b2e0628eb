import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultCluster, formatRound, PASSED, runRound, verdict, type Fault, type Scale } from './rounds.js';

/**
 * The CI-sized part of the fault suite (`npm run test:faults` runs all five at full scale):
 * the three faults whose handling lives in this code rather than in BullMQ or the load
 * balancer, at a small scale. Worker and hub SIGKILLs are covered in test/jobs/recovery.test.ts
 * and test/scale/pod-restart.test.ts.
 */
const scale: Scale = { pairs: 4, rate: 20, jobs: 3, steps: 15, stepMs: 200, beforeMs: 2000, afterMs: 11_000 };
const rounds: Fault[] = ['redis-restart', 'postgres-restart', 'hub-sigterm'];

let cluster: FaultCluster;
beforeAll(async () => {
  cluster = await FaultCluster.start('fault-rounds');
}, 400_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('fault rounds (CI scale)', () => {
  for (const fault of rounds) {
    it(`${fault}: nothing lost, duplicated or missing; every job completed and seen; no failure 10 s after recovery`, async () => {
      const result = await runRound(cluster, fault, { scale });
      console.log(formatRound(result));
      expect(verdict(result, scale.jobs)).toEqual(PASSED(scale.jobs));
    }, 240_000);
  }
});
