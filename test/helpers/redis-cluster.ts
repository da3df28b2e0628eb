import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, pollUntil } from './processes.js';

const run = promisify(execFile);

export interface PrivateRedisCluster {
  nodes: { host: string; port: number }[];
  /** `REDIS_CLUSTER_NODES` for the processes under test. */
  env: string;
  stop(): Promise<void>;
}

/**
 * A throw-away 3-master Redis Cluster on spare loopback ports, from the machine's
 * redis-server, in a temp dir; never touches the shared Redis.
 */
export async function startRedisCluster(masters = 3): Promise<PrivateRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'inbox-cluster-'));
  const ports = await Promise.all(Array.from({ length: masters }, () => freePort()));
  const children: ChildProcess[] = ports.map((port) =>
    spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir,
      '--save', '', '--appendonly', 'no', '--cluster-node-timeout', '2000',
    ], { stdio: 'ignore' }),
  );
  const stop = async () => {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map((p) => waitForPing(p)));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    await Promise.all(ports.map((p) => waitForClusterOk(p)));
  } catch (err) {
    await stop();
    throw err;
  }
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  return { nodes, env: nodes.map((n) => `${n.host}:${n.port}`).join(','), stop };
}

const cli = async (port: number, ...args: string[]) => (await run('redis-cli', ['-p', String(port), ...args])).stdout;

const waitForPing = (port: number) => pollUntil(async () => (await cli(port, 'ping')).trim() === 'PONG', `redis on ${port}`, 15_000);
const waitForClusterOk = (port: number) =>
  pollUntil(async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'), `cluster state on ${port}`, 15_000);
