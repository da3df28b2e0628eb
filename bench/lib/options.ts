import { parseArgs } from 'node:util';

export const SCENARIOS = ['messages', 'max', 'connections', 'jobs', 'receipts', 'snapshot', 'output', 'presence', 'slow-consumer'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Everything one run is parameterised by; every loop in the bench is bounded by these. */
export interface BenchOptions {
  users: number;
  /** Conversations each user is a member of (two members each). */
  conversations: number;
  rates: number[];
  durationS: number;
  warmupS: number;
  drainS: number;
  pods: number;
  sockets: number;
  scenarios: Scenario[];
  clientProcs: number;
  socketProcs: number;
  bodySize: number;
  p99LimitMs: number;
  probeDurationS: number;
  maxProbes: number;
  jobs: number;
  jobUpdatesPerS: number;
  jobDurationS: number;
  jobWatchers: number;
  /** Output scenario: demo.stream jobs, tokens per second each, seconds, and how often a watcher reconnects. */
  outputJobs: number;
  outputTokensPerS: number;
  outputDurationS: number;
  outputReconnectMs: number;
  /** Receipts scenario: the message rate, and how long clients gather `delivered` per conversation. */
  receiptRate: number;
  receiptEveryMs: number;
  /** Rounds of off, on, on, off. */
  receiptRounds: number;
  /** Slow-consumer scenario: the message rate, and rounds of off, on, on, off. */
  slowRate: number;
  slowRounds: number;
  /** Snapshot scenario: conversations per user to measure, and connects per size. */
  snapshotSizes: number[];
  snapshotConnects: number;
  /** Presence scenario: users (half stay connected, half move in waves), peers each, the big user's peers, waves, grace. */
  presenceUsers: number;
  presencePeers: number;
  presenceBigPeers: number;
  presenceWaves: number;
  presenceToggles: number;
  presenceGraceMs: number;
  build: boolean;
  keep: boolean;
  /** Extra node flags for the hub pods, e.g. `--cpu-prof --cpu-prof-dir=bench/results/prof`. */
  hubNodeArgs: string[];
  /** A git revision of the hub to run side by side with the working tree (before/after). */
  baseline: string | null;
  /** Run the hub from this git revision instead of the working tree (others' uncommitted work left out). */
  hubRev: string | null;
  /** Run the hub from this directory's dist/ (an experiment built elsewhere), as-is. */
  hubDir: string | null;
}

const HELP = `npm run bench -- [options]

  --users N            users seeded over HTTP (200)
  --conversations N    conversations each user is in, two members each (5)
  --rates a,b,c        aggregate message rates per step, msg/s (1000,3000,5000)
  --duration S         seconds per rate step (20)
  --warmup S           unmeasured seconds per target before the steps (3)
  --drain S            at most this long to wait for acks and deliveries after a step (10)
  --pods N             hub pods, 1 or 2; the ceiling runs as many (1)
  --sockets N          idle sockets in the connection scenario (15000)
  --scenarios list     any of messages,max,connections,jobs,receipts,snapshot,output,presence,slow-consumer (all)
  --client-procs N     client processes for the message scenario (2)
  --socket-procs N     client processes for the connection scenario (4)
  --body-size N        characters per chat message (100)
  --p99-limit MS       p99 a rate must hold to count as sustained (250)
  --probe-duration S   seconds per probe of the highest-rate search (10)
  --max-probes N       probes per target in that search (7)
  --jobs N             demo.steps jobs in the job scenario, all running at once (20)
  --job-rate N         aggregate progress updates per second (200)
  --job-duration S     seconds the job scenario runs (15)
  --job-watchers N     sockets watching each job (2)
  --output-jobs N      demo.stream jobs in the output scenario, 2 watchers each (20)
  --output-rate N      tokens per second per job (50)
  --output-duration S  seconds each output phase streams (20)
  --output-reconnect MS  how often one watcher per job reconnects in the second phase (5000)
  --receipt-rate N     msg/s of the receipts scenario, run without and with delivered (1000)
  --receipt-every MS   how long a client gathers delivered per conversation before sending (100)
  --receipt-rounds N   rounds of off, on, on, off steps (1)
  --slow-rate N        msg/s of the slow-consumer scenario, run without and with one client that stopped reading (1000)
  --slow-rounds N      rounds of off, on, on, off steps (1)
  --snapshot-sizes a,b conversations per user in the snapshot scenario (5,200)
  --snapshot-connects N  connects per size, one after another (200)
  --presence-users N   presence scenario users: half stay connected, half connect and disconnect in waves (2000)
  --presence-peers N   peers of each user (10)
  --presence-big-peers N  peers of the one user compared with a 10-peer one (1000)
  --presence-waves N   online, reload, offline waves (3)
  --presence-toggles N connect/disconnect pairs of the single users (10)
  --presence-grace MS  PRESENCE_GRACE_MS of the scenario's hub pods (5000)
  --no-build           run the last build in dist/ instead of \`npm run build\`
  --keep               keep the bench database and Redis keys (for inspection)
  --baseline REV       also run the hub at git revision REV (built in a temp dir), side by side
  --hub-rev REV        run the hub from git revision REV instead of the working tree
  --hub-dir DIR        run the hub from DIR/dist (built there beforehand) instead of the working tree
  --hub-node-args=".." extra node flags for the hub (note the =), e.g.
                       --hub-node-args="--cpu-prof --cpu-prof-dir=bench/results/prof"
`;

const int = (name: string, raw: string | undefined, fallback: number, min: number, max: number): number => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: expected an integer in ${min}..${max}, got "${raw}"`);
  return n;
};

/** Parses argv; throws one line naming the bad flag. Returns null when --help was asked. */
export function parseOptions(argv: string[]): BenchOptions | null {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      users: { type: 'string' },
      conversations: { type: 'string' },
      rates: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      drain: { type: 'string' },
      pods: { type: 'string' },
      sockets: { type: 'string' },
      scenarios: { type: 'string' },
      'client-procs': { type: 'string' },
      'socket-procs': { type: 'string' },
      'body-size': { type: 'string' },
      'p99-limit': { type: 'string' },
      'probe-duration': { type: 'string' },
      'max-probes': { type: 'string' },
      jobs: { type: 'string' },
      'job-rate': { type: 'string' },
      'job-duration': { type: 'string' },
      'job-watchers': { type: 'string' },
      'output-jobs': { type: 'string' },
      'output-rate': { type: 'string' },
      'output-duration': { type: 'string' },
      'output-reconnect': { type: 'string' },
      'receipt-rate': { type: 'string' },
      'receipt-every': { type: 'string' },
      'receipt-rounds': { type: 'string' },
      'slow-rate': { type: 'string' },
      'slow-rounds': { type: 'string' },
      'snapshot-sizes': { type: 'string' },
      'snapshot-connects': { type: 'string' },
      'presence-users': { type: 'string' },
      'presence-peers': { type: 'string' },
      'presence-big-peers': { type: 'string' },
      'presence-waves': { type: 'string' },
      'presence-toggles': { type: 'string' },
      'presence-grace': { type: 'string' },
      'no-build': { type: 'boolean' },
      keep: { type: 'boolean' },
      'hub-node-args': { type: 'string' },
      baseline: { type: 'string' },
      'hub-rev': { type: 'string' },
      'hub-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return null;
  }
  const users = int('users', v.users, 200, 3, 20_000);
  const conversations = int('conversations', v.conversations, 5, 1, 50);
  if (conversations >= users) throw new Error('--conversations must be below --users');
  if (conversations % 2 === 1 && users % 2 === 1) throw new Error('--users must be even when --conversations is odd');
  const rateList = (v.rates ?? v.rate ?? '1000,3000,5000').split(',').map((r) => int('rates', r.trim(), 0, 1, 200_000));
  const scenarios = (v.scenarios ?? SCENARIOS.join(',')).split(',').map((s) => s.trim());
  for (const s of scenarios) if (!SCENARIOS.includes(s as Scenario)) throw new Error(`--scenarios: unknown "${s}" (use ${SCENARIOS.join(',')})`);
  return {
    users,
    conversations,
    rates: rateList,
    durationS: int('duration', v.duration, 20, 1, 600),
    warmupS: int('warmup', v.warmup, 3, 0, 60),
    drainS: int('drain', v.drain, 10, 1, 120),
    pods: int('pods', v.pods, 1, 1, 2),
    sockets: int('sockets', v.sockets, 15_000, 1, 60_000),
    scenarios: scenarios as Scenario[],
    clientProcs: int('client-procs', v['client-procs'], 2, 1, 16),
    socketProcs: int('socket-procs', v['socket-procs'], 4, 1, 32),
    bodySize: int('body-size', v['body-size'], 100, 40, 4000),
    p99LimitMs: int('p99-limit', v['p99-limit'], 250, 1, 60_000),
    probeDurationS: int('probe-duration', v['probe-duration'], 10, 1, 600),
    maxProbes: int('max-probes', v['max-probes'], 7, 1, 20),
    // Each job holds a worker slot and a Postgres connection (WORKER_CONCURRENCY = jobs).
    jobs: int('jobs', v.jobs, 20, 1, 80),
    jobUpdatesPerS: int('job-rate', v['job-rate'], 200, 1, 100_000),
    jobDurationS: int('job-duration', v['job-duration'], 15, 1, 600),
    jobWatchers: int('job-watchers', v['job-watchers'], 2, 1, 100),
    outputJobs: int('output-jobs', v['output-jobs'], 20, 1, 80),
    outputTokensPerS: int('output-rate', v['output-rate'], 50, 1, 1000),
    outputDurationS: int('output-duration', v['output-duration'], 20, 1, 100),
    outputReconnectMs: int('output-reconnect', v['output-reconnect'], 5000, 100, 60_000),
    receiptRate: int('receipt-rate', v['receipt-rate'], 1000, 1, 100_000),
    receiptEveryMs: int('receipt-every', v['receipt-every'], 100, 1, 10_000),
    receiptRounds: int('receipt-rounds', v['receipt-rounds'], 1, 1, 10),
    slowRate: int('slow-rate', v['slow-rate'], 1000, 1, 100_000),
    slowRounds: int('slow-rounds', v['slow-rounds'], 1, 1, 10),
    snapshotSizes: (v['snapshot-sizes'] ?? '5,200').split(',').map((n) => int('snapshot-sizes', n.trim(), 0, 0, 10_000)),
    snapshotConnects: int('snapshot-connects', v['snapshot-connects'], 200, 1, 100_000),
    presenceUsers: int('presence-users', v['presence-users'], 2000, 2, 100_000),
    presencePeers: int('presence-peers', v['presence-peers'], 10, 1, 1000),
    presenceBigPeers: int('presence-big-peers', v['presence-big-peers'], 1000, 1, 100_000),
    presenceWaves: int('presence-waves', v['presence-waves'], 3, 1, 100),
    presenceToggles: int('presence-toggles', v['presence-toggles'], 10, 1, 1000),
    presenceGraceMs: int('presence-grace', v['presence-grace'], 5000, 0, 45_000),
    build: !v['no-build'],
    keep: Boolean(v.keep),
    hubNodeArgs: (v['hub-node-args'] ?? '').split(' ').filter(Boolean),
    baseline: v.baseline ?? null,
    hubRev: v['hub-rev'] ?? null,
    hubDir: v['hub-dir'] ?? null,
  };
}
