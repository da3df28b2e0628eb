import type { BenchReport, TargetCheck } from './report.js';

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const verdict = (ok: boolean): TargetCheck['status'] => (ok ? 'pass' : 'miss');
const notRun = (name: string, why: string): TargetCheck => ({ name, status: 'not run', detail: why });

/** The targets for one pod on this machine (issue 17's ratios to the ceiling, then the feature targets), judged from the run's figures. */
export function checkTargets(r: Omit<BenchReport, 'targets'>): TargetCheck[] {
  const d = r.options.durationS;
  const step = (target: string, rate: number) => r.steps.find((s) => s.target === target && s.rate === rate && s.durationS === d);
  const checks: TargetCheck[] = [];

  // Issue 17: ratios to the bare Socket.IO ceiling measured in the same run.
  const h1 = step('hub', 1000);
  const c1 = step('ceiling', 1000);
  const t1 = '1,000 msg/s: 0 lost, p99 <= 3x ceiling';
  const t1c = '1,000 msg/s: hub CPU/msg <= 1.6x ceiling';
  if (h1 && c1) {
    const r99 = h1.latency.p99 / c1.latency.p99;
    const ok = h1.lost === 0 && h1.duplicates === 0 && h1.gaps === 0 && r99 <= 3;
    checks.push({ name: t1, status: verdict(ok), detail: `${f(r99, 2)}x: p99 ${f(h1.latency.p99, 2)} vs ${f(c1.latency.p99, 2)} ms, lost ${h1.lost}, dup ${h1.duplicates}, gaps ${h1.gaps}` });
    const rc = h1.cpuMsPerMsg / c1.cpuMsPerMsg;
    checks.push({ name: t1c, status: verdict(rc <= 1.6), detail: `${f(rc, 2)}x: ${f(h1.cpuMsPerMsg, 3)} vs ${f(c1.cpuMsPerMsg, 3)} ms/msg` });
  } else checks.push(notRun(t1, 'no 1000 msg/s step'), notRun(t1c, 'no 1000 msg/s step'));

  const h3 = step('hub', 3000);
  const c3 = step('ceiling', 3000);
  const t3 = '3,000 msg/s: 0 lost, p99 < 250 ms';
  const t3c = '3,000 msg/s: hub CPU/msg <= 1.3x ceiling';
  if (h3) checks.push({ name: t3, status: verdict(h3.lost === 0 && h3.latency.p99 < 250), detail: `p99 ${f(h3.latency.p99, 2)} ms${c3 ? ` (${f(h3.latency.p99 / c3.latency.p99, 2)}x ceiling's ${f(c3.latency.p99, 2)})` : ''}, lost ${h3.lost}` });
  else checks.push(notRun(t3, 'no 3000 msg/s step'));
  if (h3 && c3) {
    const rc = h3.cpuMsPerMsg / c3.cpuMsPerMsg;
    checks.push({ name: t3c, status: verdict(rc <= 1.3), detail: `${f(rc, 2)}x: ${f(h3.cpuMsPerMsg, 3)} vs ${f(c3.cpuMsPerMsg, 3)} ms/msg` });
  } else checks.push(notRun(t3c, 'no 3000 msg/s steps'));

  const hm = r.maxRate.find((m) => m.target === 'hub');
  const cm = r.maxRate.find((m) => m.target === 'ceiling');
  const tm = 'highest sustained rate (0 lost, p99 < 250 ms) >= 60% of the ceiling\'s';
  if (hm && cm && cm.maxRate > 0) {
    const pct = (100 * hm.maxRate) / cm.maxRate;
    checks.push({ name: tm, status: verdict(pct >= 60), detail: `${f(pct, 0)} %: hub ${hm.maxRate} msg/s, ceiling ${cm.maxRate} msg/s` });
  } else checks.push(notRun(tm, 'max scenario not run'));

  const hc = r.connections.find((c) => c.target === 'hub');
  const cc = r.connections.find((c) => c.target === 'ceiling');
  const tcr = 'connect rate >= 0.7x the ceiling\'s';
  const tc = `${r.options.sockets} idle sockets: 0 failures, KB/socket <= 1.3x the ceiling's`;
  if (hc && cc) {
    const rr = hc.connectPerS / cc.connectPerS;
    checks.push({ name: tcr, status: verdict(rr >= 0.7), detail: `${f(rr, 2)}x: ${f(hc.connectPerS, 0)} vs ${f(cc.connectPerS, 0)} sockets/s` });
    const rk = hc.rssPerSocketKb / cc.rssPerSocketKb;
    const ok = hc.failed === 0 && hc.dropped === 0 && rk <= 1.3;
    checks.push({ name: tc, status: verdict(ok), detail: `${f(rk, 2)}x: ${f(hc.rssPerSocketKb)} vs ${f(cc.rssPerSocketKb)} KB/socket, failed ${hc.failed}, dropped ${hc.dropped}` });
  } else checks.push(notRun(tcr, 'connections scenario not run'), notRun(tc, 'connections scenario not run'));

  const tj = `job progress -> watcher p99 <= 25 ms at ${r.options.jobUpdatesPerS} updates/s`;
  if (r.jobs && !r.jobs.skipped) {
    const j = r.jobs;
    const ok = j.latency.p99 <= 25 && j.received >= j.expected && j.nonMonotonic === 0;
    checks.push({ name: tj, status: verdict(ok), detail: `p50 ${f(j.latency.p50, 2)} ms, p99 ${f(j.latency.p99, 2)} ms over ${j.received}/${j.expected} updates at ${f(j.updatesPerS, 0)} updates/s` });
  } else checks.push(notRun(tj, r.jobs?.skipped ?? 'jobs scenario not run'));

  const tr = `${r.options.receiptRate} msg/s with every recipient sending delivered: < 30 % more hub CPU, nothing lost`;
  const rc = r.receipts[0];
  if (rc) {
    const ok = rc.cpuRatio < 1.3 && rc.lostOn === 0 && rc.deliveredErrors === 0 && rc.deliveredHeardPerS > 0;
    checks.push({ name: tr, status: verdict(ok), detail: `${f(rc.cpuMsPerMsgOn, 3)} vs ${f(rc.cpuMsPerMsgOff, 3)} ms/msg (${f((rc.cpuRatio - 1) * 100, 0)} % more), ${f(rc.deliveredSentPerS, 0)} delivered/s sent, ${rc.deliveredErrors} refused, ${rc.lostOn} messages lost` });
  } else checks.push(notRun(tr, 'receipts scenario not run'));

  const ts = 'connect: the same statements per connect with few and many conversations';
  const sizes = r.snapshot.filter((x) => x.target === 'hub');
  if (sizes.length >= 2) {
    const counts = sizes.map((x) => x.statementsPerConnect);
    const ok = Math.max(...counts) - Math.min(...counts) < 0.25;
    checks.push({ name: ts, status: verdict(ok), detail: sizes.map((x) => `${x.conversations} conversations: ${f(x.statementsPerConnect, 2)} statements, p99 ${f(x.readyMs.p99, 2)} ms`).join('; ') });
  } else checks.push(notRun(ts, 'snapshot scenario not run (or one size)'));
  return checks;
}
