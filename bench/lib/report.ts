import type { ConnectionResult } from '../scenarios/connections.js';
import type { JobResult } from '../scenarios/jobs.js';
import type { MaxRateResult } from '../scenarios/max-rate.js';
import type { StepResult } from '../scenarios/messages.js';
import type { OutputResult } from '../scenarios/output.js';
import type { ReceiptResult } from '../scenarios/receipts.js';
import type { PresenceResult } from '../scenarios/presence.js';
import type { SlowConsumerResult } from '../scenarios/slow-consumer.js';
import type { SnapshotResult } from '../scenarios/snapshot.js';
import type { BenchOptions } from './options.js';

/** Everything one run produced; written as JSON and rendered as the table. */
export interface BenchReport {
  startedAt: string;
  command: string;
  options: BenchOptions;
  environment: {
    node: string; cpus: number; commit: string; baselineCommit: string | null; runtime: string; runtimeNote: string | null;
    totalMemGb: number; backgroundBusyPct: number;
  };
  conversations: number;
  steps: StepResult[];
  maxRate: MaxRateResult[];
  connections: ConnectionResult[];
  jobs: JobResult | null;
  receipts: ReceiptResult[];
  slowConsumer: SlowConsumerResult[];
  snapshot: SnapshotResult[];
  output?: OutputResult | null;
  presence?: PresenceResult | null;
  targets: TargetCheck[];
  notes: string[];
}

export interface TargetCheck {
  name: string;
  status: 'pass' | 'miss' | 'not run';
  detail: string;
}

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const ratio = (a: number, b: number) => (Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-');
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

function table(head: string[], rows: string[][], leftColumns = 2): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function stepsTable(steps: StepResult[]): string {
  const rows: string[][] = [];
  const row = (r: StepResult) => [
    String(r.rate), r.target, f(r.achievedRate, 0), f(r.deliveriesPerS, 0), f(r.latency.p50, 2), f(r.latency.p95, 2),
    f(r.latency.p99, 2), f(r.latency.max, 1), String(r.lost), String(r.duplicates), String(r.gaps), String(sum(r.ackErrors)),
    f(r.cpuMsPerMsg, 3), r.target === 'ceiling' ? '' : f(r.pgCpuMsPerMsg, 3), f(r.rssPeakMb, 0), f(r.machineBusyPct, 0),
  ];
  const ratioRow = (label: string, a: StepResult, b: StepResult) => [
    '', label, ratio(a.achievedRate, b.achievedRate), ratio(a.deliveriesPerS, b.deliveriesPerS), ratio(a.latency.p50, b.latency.p50),
    ratio(a.latency.p95, b.latency.p95), ratio(a.latency.p99, b.latency.p99), ratio(a.latency.max, b.latency.max),
    '', '', '', '', ratio(a.cpuMsPerMsg, b.cpuMsPerMsg), b.target === 'baseline' ? ratio(a.pgCpuMsPerMsg, b.pgCpuMsPerMsg) : '', ratio(a.rssPeakMb, b.rssPeakMb), '',
  ];
  for (const rate of [...new Set(steps.map((s) => s.rate))]) {
    const at = steps.filter((s) => s.rate === rate);
    for (const r of at) rows.push(row(r));
    const h = at.find((s) => s.target === 'hub');
    const c = at.find((s) => s.target === 'ceiling');
    const b = at.find((s) => s.target === 'baseline');
    if (h && c) rows.push(ratioRow('hub/ceiling', h, c));
    if (h && b) rows.push(ratioRow('hub/baseline', h, b));
  }
  return table(
    ['msg/s', 'target', 'sent/s', 'deliv/s', 'p50', 'p95', 'p99', 'max', 'lost', 'dup', 'gaps', 'ack err', 'cpu ms/msg', 'pg ms/msg', 'rss MB', 'box %'],
    rows,
  );
}

function connectionsTable(list: ConnectionResult[]): string {
  const rows = list.map((c) => [
    c.target, String(c.sockets), String(c.failed), String(c.dropped), f(c.connectPerS, 0), f(c.connectMs.p99, 0),
    f(c.emptyRssMb, 0), f(c.rssMb, 0), f(c.rssPerSocketKb, 1), f(c.cpuMsPerSocket, 2),
  ]);
  const c = list.find((x) => x.target === 'ceiling');
  const h = list.find((x) => x.target === 'hub');
  const ratios = (label: string, a: ConnectionResult, b: ConnectionResult) =>
    [label, '', '', '', ratio(a.connectPerS, b.connectPerS), ratio(a.connectMs.p99, b.connectMs.p99), '', '', ratio(a.rssPerSocketKb, b.rssPerSocketKb), ratio(a.cpuMsPerSocket, b.cpuMsPerSocket)];
  if (c && h) rows.push(ratios('hub/ceiling', h, c));
  const b = list.find((x) => x.target === 'baseline');
  if (b && h) rows.push(ratios('hub/baseline', h, b));
  return table(['target', 'sockets', 'failed', 'dropped', 'connect/s', 'p99 ms', 'empty MB', 'MB', 'KB/socket', 'cpu ms/socket'], rows, 1);
}

function receiptsTable(list: ReceiptResult[]): string {
  const rows = list.flatMap((r) => [
    ...[...r.off.map((x) => ['off', x] as const), ...r.on.map((x) => ['on', x] as const)].map(([label, x]) => [
      String(r.rate), label, f(x.achievedRate, 0), f(x.latency.p50, 2), f(x.latency.p99, 2), String(x.lost), String(sum(x.ackErrors)),
      f(x.deliveredSent / x.durationS, 0), f(x.deliveredHeard / x.durationS, 0), f(x.cpuMsPerMsg, 3), f(x.pgCpuMsPerMsg, 3), f(x.machineBusyPct, 0),
    ]),
    [String(r.rate), 'on/off', '', '', '', '', '', '', '', ratio(r.cpuMsPerMsgOn, r.cpuMsPerMsgOff), ratio(r.pgMsPerMsgOn, r.pgMsPerMsgOff), ''],
  ]);
  return table(['msg/s', 'receipts', 'sent/s', 'p50', 'p99', 'lost', 'ack err', 'delivered/s', 'heard/s', 'cpu ms/msg', 'pg ms/msg', 'box %'], rows);
}

function snapshotTable(list: SnapshotResult[]): string {
  const rows = list.map((r) => [
    r.target, String(r.conversations), String(r.snapshotConversations), String(r.connects), f(r.readyMs.p50, 2), f(r.readyMs.p99, 2),
    f(r.statementsPerConnect, 2), f(r.hubCpuMsPerConnect, 2), String(r.readyChars),
  ]);
  return table(['target', 'conversations', 'in ready', 'connects', 'p50 ms', 'p99 ms', 'statements/connect', 'cpu ms/connect', 'ready chars'], rows, 1);
}

/** The human summary: one table per scenario, then the targets. */
export function render(r: BenchReport): string {
  const o = r.options;
  const out: string[] = [];
  const e = r.environment;
  out.push(`Inbox hub benchmark, ${r.startedAt}, commit ${e.commit}, node ${e.node}, ${e.cpus} cores, ${o.pods} pod(s), hub ${e.runtime}, box ${f(e.backgroundBusyPct, 0)}% busy before the run`);
  out.push(`command: ${r.command}`);
  if (r.steps.length > 0) {
    out.push('', `Messages: ${o.users} users x ${o.conversations} conversations (${r.conversations} conversations), ${o.bodySize}-char messages, ${o.durationS} s per step`);
    out.push('latency ms from send to delivery at the other member\'s socket; cpu = the target\'s process(es), pg = its Postgres backends; box % = whole machine busy');
    out.push(stepsTable(r.steps.filter((s) => s.durationS === o.durationS)));
  }
  if (r.maxRate.length > 0) {
    out.push('', `Highest sustained rate (0 lost, no ack errors, p99 < ${o.p99LimitMs} ms, ${o.probeDurationS} s probes):`);
    for (const m of r.maxRate) out.push(`  ${m.target.padEnd(8)} ${m.maxRate} msg/s${m.firstFailing ? ` (${m.firstFailing} msg/s was not)` : ' (no probe failed)'}`);
    const c = r.maxRate.find((m) => m.target === 'ceiling');
    const h = r.maxRate.find((m) => m.target === 'hub');
    if (c && h && c.maxRate > 0) out.push(`  hub/ceiling ${((100 * h.maxRate) / c.maxRate).toFixed(0)} %`);
  }
  if (r.connections.length > 0) {
    out.push('', `Idle sockets: ${o.sockets} over ${o.socketProcs} client processes, each socket in ${o.conversations} conversations`);
    out.push(connectionsTable(r.connections));
  }
  if (r.jobs) {
    out.push('', 'Jobs: demo.steps progress update -> watcher receipt');
    const j = r.jobs;
    if (j.skipped) out.push(`  skipped: ${j.skipped}`);
    else {
      out.push(`  ${j.jobs} jobs x ${j.steps} steps of ${j.stepMs} ms = ${f(j.updatesPerS, 0)} updates/s, ${j.watchers} watchers; ${j.received}/${j.expected} updates received, ${j.completed}/${j.watchers} saw completed, ${j.nonMonotonic} out of order`);
      out.push(`  latency p50 ${f(j.latency.p50, 2)} ms, p95 ${f(j.latency.p95, 2)} ms, p99 ${f(j.latency.p99, 2)} ms, max ${f(j.latency.max, 1)} ms (ms resolution of updated_at); cpu worker ${f(j.workerCpuMs, 0)} ms, hub ${f(j.hubCpuMs, 0)} ms`);
    }
  }
  if (r.output && !r.output.skipped) {
    out.push('', 'Job output: demo.stream token write -> watcher receipt (write time = the job\'s active updated_at + (offset + 1) x token_ms)');
    for (const p of r.output.phases) {
      out.push(`  ${p.reconnectEveryMs ? `one watcher per job reconnecting every ${p.reconnectEveryMs} ms (${p.reconnects} reconnects)` : 'steady watchers'}: ${p.jobs} jobs x ${p.tokensPerJob} tokens every ${p.tokenMs} ms, ${p.watchers} watchers, ${p.completed}/${p.watchers} saw completed`);
      out.push(`    latency p50 ${f(p.latency.p50, 1)} ms, p99 ${f(p.latency.p99, 1)} ms, max ${f(p.latency.max, 1)} ms; job:output at most ${p.maxEventsPerSecond}/s per job and watcher, ${f(p.chunksPerEvent, 1)} chunks per event`);
      out.push(`    missing ${p.missing}, duplicated ${p.duplicated} (ack/event overlap dropped: ${p.overlap}); Postgres ${f(p.rowsPer1000, 0)} rows and ${f(p.bytesPer1000 / 1024, 1)} KiB (table + index) per 1,000 tokens`);
    }
  }
  if (r.receipts.length > 0) {
    out.push('', 'Receipts: the same message load without and with every recipient sending delivered (off, on, on, off)');
    out.push(`delivered gathered per conversation for ${r.receipts[0]!.everyMs} ms, as the typed client does; heard = delivered events the sockets received; cpu = the hub`);
    out.push(receiptsTable(r.receipts));
    for (const x of r.receipts) out.push(`  hub CPU per message with receipts: ${f(x.cpuMsPerMsgOn, 3)} vs ${f(x.cpuMsPerMsgOff, 3)} ms without (${f((x.cpuRatio - 1) * 100, 0)} % more)`);
  }
  for (const x of r.slowConsumer ?? []) {
    out.push('', 'Slow consumer: the same message load without and with one client that stopped reading its socket (off, on, on, off)');
    out.push(`  the slow client was sent ${f(x.slowSentMb, 1)} MB per step; guard: ${Object.entries(x.guard).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing'}`);
    out.push(`  other sockets' p99 ${f(x.p99On, 1)} ms with it vs ${f(x.p99Off, 1)} ms without; hub RSS peak ${f(x.rssPeakOnMb, 0)} vs ${f(x.rssPeakOffMb, 0)} MB; lost ${x.lost}`);
    out.push(`  after it resumed: ${x.resyncs} resync(s), ${x.missingAfterSync} messages missing after sync; hub CPU ${x.on.map((s) => f(s.cpuMsPerMsg, 3)).join('/')} vs ${x.off.map((s) => f(s.cpuMsPerMsg, 3)).join('/')} ms/msg without`);
  }
  if (r.snapshot.length > 0) {
    out.push('', 'Connect snapshot: one socket after another, handshake -> ready (TCP, WebSocket, session, rooms, snapshot)');
    out.push('statements = transactions committed in the run\'s database per connect (pg_stat_database); cpu = the hub pod');
    out.push(snapshotTable(r.snapshot));
  }
  if (r.presence) {
    const p = r.presence;
    out.push('', `Presence: ${p.users} users x ${p.peers} peers, half connecting and disconnecting in ${p.waves} waves (online, reload inside the grace, offline), ${p.pods} pod(s), grace ${p.graceMs} ms, its own Redis`);
    out.push(`  ${p.changes} changes: ${p.deliveredEvents}/${p.expectedEvents} presence events delivered, ${p.lost} lost, ${p.extra} extra, ${p.reloadEvents} during reloads (${p.slowReloads} reloads took longer than the grace: each may send offline + online)`);
    out.push(`  hub cpu ${f(p.hubCpuMsPerChange, 3)} ms/change, redis ${f(p.redisCommandsPerChange, 1)} commands/change (${p.redisTop.map(([k, v]) => `${k} ${f(v, 1)}`).join(', ')}); connects and reloads included`);
    out.push('  one user toggled alone, each change timed from the connect (or the close) until every peer heard it; medians; the connect\'s own work included (ready reads one HGET per peer), the offline window holds the grace\'s idle sweeps:');
    out.push(table(['peers', 'changes', 'online cpu ms', 'online redis cmds', 'online ms', 'offline cpu ms', 'offline redis cmds', 'offline ms'], p.single.map((x) => [
      String(x.peers), String(x.changes), f(x.online.cpuMs, 1), f(x.online.commands, 0), f(x.online.ms, 1), f(x.offline.cpuMs, 1), f(x.offline.commands, 0), f(x.offline.ms, 0),
    ])));
  }
  if (r.targets.length > 0) {
    out.push('', `Targets (issue 17: one pod on this machine, ratios to the ceiling in this run${o.pods > 1 ? `; this run had ${o.pods} pods` : ''}):`);
    for (const t of r.targets) out.push(`  [${t.status.toUpperCase()}] ${t.name}: ${t.detail}`);
  }
  for (const n of r.notes) out.push('', `note: ${n}`);
  return out.join('\n');
}
