import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runMigrations } from '../../src/db/migrate.js';
import { freePort } from './processes.js';

const run = promisify(execFile);

/**
 * A throw-away Postgres cluster of its own (initdb into a temp dir, a spare loopback
 * port) that a fault test may crash, freeze and restart. The machine's shared Postgres
 * on 5432 is never touched.
 */
export interface PrivatePostgres {
  port: number;
  /** The migrated `postgres` database of this cluster, for DATABASE_URL. */
  url: string;
  /** Crash: `pg_ctl stop -m immediate` (no checkpoint, backends killed, recovery at next start). */
  crash(): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /**
   * `pg_ctl stop -m fast` then start, as `pg_ctl restart -m fast` does (backends told
   * "terminating connection due to administrator command", a clean shutdown); resolves once it
   * accepts connections again, with how long the port was down.
   */
  restart(): Promise<{ downMs: number }>;
  /** SIGSTOP to the postmaster and every backend: the port still accepts TCP, nothing answers. */
  freeze(): Promise<void>;
  /** SIGCONT to every process frozen by `freeze`. */
  thaw(): Promise<void>;
  /** Stops it (if running) and removes the temp dir. */
  destroy(): Promise<void>;
  /** The server log, for diagnosing a failure. */
  log(): Promise<string>;
}

/** Debian keeps the server binaries per major version; the newest installed one is used. */
function pgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions[0]) throw new Error(`no PostgreSQL server binaries under ${root}; set PG_BIN`);
  return join(root, versions[0], 'bin');
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` OS user. */
function asPostgres(cmd: string, args: string[]) {
  if (process.getuid?.() !== 0) return run(cmd, args);
  return run('runuser', ['-u', 'postgres', '--', cmd, ...args]);
}

async function postgresUid(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = pgBin();
  const dir = await mkdtemp(join(tmpdir(), 'inbox-pg-'));
  const owner = await postgresUid();
  if (owner) await chown(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let frozen: number[] = [];

  const pgCtl = (...args: string[]) => asPostgres(join(bin, 'pg_ctl'), ['-D', data, ...args]);
  const start = async () => {
    // -l: the server must not inherit our pipes, or execFile would wait for it to exit.
    await pgCtl('-l', logFile, '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start');
  };
  const postmasterPid = async () => Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);

  const pg: PrivatePostgres = {
    port,
    url,
    crash: async () => {
      await pgCtl('-w', 'stop', '-m', 'immediate');
    },
    start,
    restart: async () => {
      const stopping = performance.now();
      await pgCtl('-w', '-t', '30', 'stop', '-m', 'fast');
      await start();
      return { downMs: Math.round(performance.now() - stopping) };
    },
    freeze: async () => {
      const root = await postmasterPid();
      frozen = [root, ...(await childrenOf(root))];
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    },
    thaw: async () => {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
      frozen = [];
    },
    destroy: async () => {
      await pg.thaw().catch(() => {});
      await pgCtl('-w', 'stop', '-m', 'immediate').catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
    log: () => readFile(logFile, 'utf8').catch(() => ''),
  };

  try {
    await asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await start();
    await runMigrations(url);
  } catch (err) {
    await pg.destroy();
    throw err;
  }
  return pg;
}

/** Direct children of `pid` (the postmaster's backends and auxiliary processes), from /proc. */
async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command name is in parentheses and may contain spaces; the ppid follows the state.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === pid) out.push(Number(entry));
  }
  return out;
}
