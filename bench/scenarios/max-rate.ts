import type { AgentPool } from '../client/pool.js';
import type { Topology } from '../lib/seed.js';
import type { Target } from '../lib/targets.js';
import { runStep, sustained, type StepOptions, type StepResult } from './messages.js';

export interface MaxRateResult {
  target: Target['name'];
  /** Highest probed rate that was sustained (0 lost, p99 under the limit); 0 if none was. */
  maxRate: number;
  /** The lowest rate that failed, if one did: the true limit lies in between. */
  firstFailing: number | null;
  probes: StepResult[];
}

const MAX_RATE = 100_000;
const roundRate = (r: number) => Math.max(50, Math.round(r / 50) * 50);

/**
 * Starts from the fixed steps already run, grows by half until a probe fails, then
 * bisects until the bracket is within 10 %, never more than `maxProbes` probes.
 */
export async function findMaxRate(
  pool: AgentPool,
  t: Target,
  topo: Topology,
  known: StepResult[],
  o: StepOptions & { p99LimitMs: number; maxProbes: number; log(line: string): void },
): Promise<MaxRateResult> {
  let lo = Math.max(0, ...known.filter((r) => sustained(r, o.p99LimitMs)).map((r) => r.rate));
  let hi = Math.min(Infinity, ...known.filter((r) => !sustained(r, o.p99LimitMs) && r.rate > lo).map((r) => r.rate));
  const probes: StepResult[] = [];
  while (probes.length < o.maxProbes) {
    if (hi !== Infinity && lo > 0 && (hi - lo) / lo <= 0.1) break;
    const rate = roundRate(hi === Infinity ? Math.max(lo * 1.5, 500) : (lo + hi) / 2);
    if (rate >= MAX_RATE || rate === lo || rate === hi) break;
    const r = await runStep(pool, t, topo, rate, o);
    probes.push(r);
    const ok = sustained(r, o.p99LimitMs);
    o.log(`  probe ${t.name} ${rate}/s: ${ok ? 'sustained' : 'not sustained'} (p99 ${r.latency.p99.toFixed(1)} ms, lost ${r.lost}, lag p99 ${r.sendLagP99Ms.toFixed(1)} ms)`);
    if (ok) lo = rate;
    else hi = rate;
  }
  return { target: t.name, maxRate: lo, firstFailing: hi === Infinity ? null : hi, probes };
}
