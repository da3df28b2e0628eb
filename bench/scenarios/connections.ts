import type { ConnectResult, SocketStatus } from '../client/protocol.js';
import { AgentPool } from '../client/pool.js';
import { RssSampler, sumCpuMs, sumRss } from '../lib/proc.js';
import type { Topology } from '../lib/seed.js';
import { sleep } from '../lib/services.js';
import { addCounts, percentiles, type Percentiles } from '../lib/stats.js';
import { pidsOf, seqStrideOf, socketSpec, type Target, type TargetName } from '../lib/targets.js';

export interface ConnectionResult {
  target: TargetName;
  sockets: number;
  connected: number;
  failed: number;
  errors: Record<string, number>;
  /** Still open after the settle period, and dropped by the server meanwhile. */
  open: number;
  dropped: number;
  connectPerS: number;
  connectMs: Percentiles;
  emptyRssMb: number;
  rssMb: number;
  rssPeakMb: number;
  rssPerSocketKb: number;
  cpuMsPerSocket: number;
}

export interface ConnectionOptions {
  sockets: number;
  socketProcs: number;
  log(line: string): void;
}

const MB = 1024 * 1024;
// Lets the target finish per-connection work and the allocator settle before RSS is read.
const SETTLE_MS = 3000;

/**
 * N idle sockets on a freshly started target, each as one of the seeded users (so in that
 * user's conversations), spread over several client processes: one process may hold at
 * most 20,000 open files.
 */
export async function runConnections(t: Target, topo: Topology, o: ConnectionOptions): Promise<ConnectionResult> {
  const pids = pidsOf(t);
  await sleep(SETTLE_MS);
  const emptyRss = sumRss(pids);
  const pool = await new AgentPool(o.socketProcs).ready();
  try {
    const rss = new RssSampler(pids);
    const cpu0 = sumCpuMs(pids);
    const started = Date.now();
    const results = await pool.all<ConnectResult>(
      (agent) => ({
        type: 'connect',
        target: t.name,
        seqStride: seqStrideOf(t),
        sockets: Array.from({ length: o.sockets }, (_, k) => k)
          .filter((k) => k % pool.agents.length === agent.index)
          .map((k) => socketSpec(t, topo, k % topo.users, k, false)),
        concurrency: 64,
        timeoutMs: 30_000,
      }),
      600_000,
    );
    const elapsedS = (Date.now() - started) / 1000;
    const cpuMs = sumCpuMs(pids) - cpu0;
    await sleep(SETTLE_MS);
    const { peak, last } = rss.stop();
    const status = await pool.all<SocketStatus>(() => ({ type: 'status', target: t.name }), 30_000);
    const connected = results.reduce((n, r) => n + r.connected, 0);
    o.log(`  ${t.name}: ${connected}/${o.sockets} connected in ${elapsedS.toFixed(1)} s, RSS ${(emptyRss / MB).toFixed(0)} -> ${(last / MB).toFixed(0)} MB`);
    await pool.all(() => ({ type: 'disconnect', target: t.name }), 60_000);
    return {
      target: t.name,
      sockets: o.sockets,
      connected,
      failed: o.sockets - connected,
      errors: results.reduce((acc, r) => addCounts(acc, r.errors), {} as Record<string, number>),
      open: status.reduce((n, s) => n + s.open, 0),
      dropped: status.reduce((n, s) => n + s.dropped, 0),
      connectPerS: connected / elapsedS,
      connectMs: percentiles(results.map((r) => r.connectMs)),
      emptyRssMb: emptyRss / MB,
      rssMb: last / MB,
      rssPeakMb: peak / MB,
      rssPerSocketKb: connected > 0 ? (last - emptyRss) / 1024 / connected : Number.NaN,
      cpuMsPerSocket: connected > 0 ? cpuMs / connected : Number.NaN,
    };
  } finally {
    await pool.close();
  }
}
