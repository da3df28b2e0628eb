import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS, FaultCluster, formatRound, FULL_SCALE, PASSED, runRound, verdict, type Fault, type RoundResult } from './rounds.js';

/**
 * `npm run test:faults`: the five faults, one per round, on two hubs and two workers over a
 * private Postgres and Redis, FAULT_RUNS times in a row (default 1; 3 for the acceptance run).
 * FAULT_ROUNDS picks some of them (comma-separated names). Prints one line per round.
 */
const RUNS = Number(process.env.FAULT_RUNS ?? 1);
const ROUNDS = (process.env.FAULT_ROUNDS?.split(',') as Fault[] | undefined) ?? [...FAULTS];
const scale = FULL_SCALE;
const results: { run: number; result: RoundResult }[] = [];

afterAll(() => {
  console.log(`fault rounds (${scale.pairs} conversations, ${scale.rate} msg/s, ${scale.jobs} jobs of ${scale.steps} x ${scale.stepMs} ms):\n${results.map((r) => `run ${r.run} | ${formatRound(r.result)}`).join('\n')}`);
});

for (let run = 1; run <= RUNS; run++) {
  describe(`fault run ${run}`, () => {
    let cluster: FaultCluster;
    beforeAll(async () => {
      cluster = await FaultCluster.start(`faults-${run}`);
    });
    afterAll(async () => {
      await cluster?.stop();
    });
    for (const fault of ROUNDS) {
      it(`${fault}: nothing lost, duplicated or missing; every job completed and seen; no failure 10 s after recovery`, async () => {
        const result = await runRound(cluster, fault, { scale, log: (line) => console.log(line) });
        results.push({ run, result });
        expect(verdict(result, scale.jobs)).toEqual(PASSED(scale.jobs));
      });
    }
  });
}
