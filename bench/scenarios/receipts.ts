import type { AgentPool } from '../client/pool.js';
import type { Topology } from '../lib/seed.js';
import type { Target } from '../lib/targets.js';
import { runStep, type StepOptions, type StepResult } from './messages.js';

/** The same message load without and with every recipient sending `delivered`, side by side. */
export interface ReceiptResult {
  rate: number;
  everyMs: number;
  /** Steps by condition; run off, on, on, off per round (so a drift of the box weighs on both alike). */
  off: StepResult[];
  on: StepResult[];
  /** Hub CPU ms per message, averaged over each condition's steps. */
  cpuMsPerMsgOff: number;
  cpuMsPerMsgOn: number;
  /** on / off: the target is below 1.30. */
  cpuRatio: number;
  pgMsPerMsgOff: number;
  pgMsPerMsgOn: number;
  deliveredSentPerS: number;
  deliveredHeardPerS: number;
  /** `delivered` acks that were not ok, and messages lost, over the receipts steps. */
  deliveredErrors: number;
  lostOn: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * The receipts scenario on the connected hub: the message step at `rate`, off, on, on, off (per round).
 * "On": every socket sends `delivered` for the other members' messages it received, the highest
 * seq per conversation gathered for `everyMs` (the typed client's batching); the hub stores it
 * per session and per user (group commit) and tells the conversation's room when it moved.
 */
export async function runReceipts(
  pool: AgentPool,
  t: Target,
  topo: Topology,
  o: StepOptions & { rate: number; everyMs: number; rounds: number; log(line: string): void },
): Promise<ReceiptResult> {
  const off: StepResult[] = [];
  const on: StepResult[] = [];
  const order = Array.from({ length: o.rounds }, () => [false, true, true, false]).flat();
  for (const receipts of order) {
    const r = await runStep(pool, t, topo, o.rate, { ...o, deliveredEveryMs: receipts ? o.everyMs : 0 });
    (receipts ? on : off).push(r);
    o.log(`  receipts ${receipts ? 'on ' : 'off'} ${o.rate}/s: cpu ${r.cpuMsPerMsg.toFixed(3)} ms/msg, pg ${r.pgCpuMsPerMsg.toFixed(3)}, p99 ${r.latency.p99.toFixed(1)} ms, delivered sent ${r.deliveredSent} heard ${r.deliveredHeard}, box ${r.machineBusyPct.toFixed(0)}%`);
  }
  const cpuOff = mean(off.map((r) => r.cpuMsPerMsg));
  const cpuOn = mean(on.map((r) => r.cpuMsPerMsg));
  const seconds = on.reduce((n, r) => n + r.durationS, 0);
  return {
    rate: o.rate,
    everyMs: o.everyMs,
    off,
    on,
    cpuMsPerMsgOff: cpuOff,
    cpuMsPerMsgOn: cpuOn,
    cpuRatio: cpuOn / cpuOff,
    pgMsPerMsgOff: mean(off.map((r) => r.pgCpuMsPerMsg)),
    pgMsPerMsgOn: mean(on.map((r) => r.pgCpuMsPerMsg)),
    deliveredSentPerS: on.reduce((n, r) => n + r.deliveredSent, 0) / seconds,
    deliveredHeardPerS: on.reduce((n, r) => n + r.deliveredHeard, 0) / seconds,
    deliveredErrors: on.reduce((n, r) => n + Object.entries(r.ackErrors).filter(([code]) => code.startsWith('delivered_')).reduce((m, [, k]) => m + k, 0), 0),
    lostOn: on.reduce((n, r) => n + r.lost, 0),
  };
}
