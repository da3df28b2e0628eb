import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_TIMEOUT_S, createDb, POOL_TIMEOUTS, type DbHandle } from '../../src/db/client.js';
import { AppError } from '../../src/errors.js';
import { MessageWriter, neverSent, OUTCOME_UNKNOWN_MESSAGE } from '../../src/domain/message-writer.js';
import { insertJob } from '../../src/db/repositories/jobs.js';
import { jobChanges, JobStatusStore } from '../../src/domain/job-status.js';
import { createIsolatedDatabase, type IsolatedDatabase } from '../helpers/database.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

// The pool's timeouts and the message writer's retries, against the run's Postgres behind a
// loopback proxy the tests turn off, black-hole and cut.
let db: IsolatedDatabase;
let proxy: TcpProxy;
let viaProxy: string;
const handles: DbHandle[] = [];
let users: number[];
let conversationId: number;

beforeAll(async () => {
  db = await createIsolatedDatabase('pool');
  const target = new URL(db.url);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const url = new URL(db.url);
  url.port = String(proxy.port);
  viaProxy = url.toString();
  const inserted = await db.sql<{ id: number }[]>`
    insert into users (email, name, password_hash) select 'p' || g || '@example.test', 'P' || g, 'x' from generate_series(1, 2) g returning id`;
  users = inserted.map((u) => u.id);
  const [conv] = await db.sql<{ id: number }[]>`insert into conversations (client_id, worker_id) values (${users[0]!}, ${users[1]!}) returning id`;
  conversationId = conv!.id;
});
afterAll(async () => {
  await Promise.all(handles.map((h) => h.close()));
  await proxy?.close();
  await db?.drop();
});

const pool = (options: Partial<Parameters<typeof createDb>[0]> = {}) => {
  const handle = createDb({ url: viaProxy, max: 1, ...options });
  handles.push(handle);
  return handle.sql;
};
const backendPid = async (sql: postgres.Sql) => (await sql<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
const alive = async (pid: number) => (await db.sql`select 1 from pg_stat_activity where pid = ${pid}`).length === 1;
const message = (text: string) => ({ conversationId, senderId: users[0]!, body: text, type: 'TEXT' as const, clientMsgId: text });
const stored = async (text: string) => (await db.sql`select 1 from messages where client_msg_id = ${text}`).length;

describe('the Postgres pool', () => {
  it('has deliberate timeouts: 5 s to connect, 30 s idle, a 5-10 min lifetime', () => {
    expect(POOL_TIMEOUTS.connectTimeout).toBe(5);
    expect(POOL_TIMEOUTS.idleTimeout).toBe(30);
    const lifetimes = Array.from({ length: 50 }, () => POOL_TIMEOUTS.maxLifetime());
    expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(300);
    expect(Math.max(...lifetimes)).toBeLessThanOrEqual(600);
    expect(new Set(lifetimes).size).toBeGreaterThan(1);
  });

  it('closes a connection idle for idleTimeout', async () => {
    const sql = pool({ idleTimeout: 1 });
    const pid = await backendPid(sql);
    expect(await alive(pid)).toBe(true);
    await expect.poll(() => alive(pid), { timeout: 5000, interval: 100 }).toBe(false);
  });

  it('replaces a connection older than maxLifetime, though it is used all the time', async () => {
    const sql = pool({ maxLifetime: 1, idleTimeout: 60 });
    const first = await backendPid(sql);
    await expect.poll(() => backendPid(sql), { timeout: 5000, interval: 50 }).not.toBe(first);
  });

  it('fails a query whose connection cannot be opened within connectTimeout, as never sent', async () => {
    await proxy.blackhole();
    try {
      const sql = pool({ connectTimeout: 1 });
      const started = Date.now();
      const err = await sql`select 1`.catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'CONNECT_TIMEOUT' });
      expect(neverSent(err)).toBe(true);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await proxy.forward();
    }
  });

  it(`closes within ${CLOSE_TIMEOUT_S} s while a connection is still being opened (it used to wait for its connect timeout)`, async () => {
    const handle = createDb({ url: viaProxy, max: 2 });
    await handle.sql`select 1`;
    await proxy.blackhole();
    try {
      // The pool opens a second connection for the second query, which never gets an answer.
      const busy = handle.sql`select pg_sleep(0.2)`.catch(() => {});
      const opening = handle.sql`select 2`.catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      await handle.close();
      expect(Date.now() - started).toBeLessThan(CLOSE_TIMEOUT_S * 1000 + 500);
      await Promise.all([busy, opening]);
    } finally {
      await proxy.forward();
    }
  });
});

describe('the message writer when Postgres goes away', () => {
  // What is published is not the point here: the writer's promise is.
  const unpublished = { message: () => {} };

  it('retries a batch that was refused (never sent) and stores it once Postgres is back', async () => {
    const writer = new MessageWriter(pool(), unpublished, { retryForMs: 5000 });
    await proxy.refuse();
    const write = writer.write(message('refused-then-stored'));
    await new Promise((r) => setTimeout(r, 400)); // refused a few times meanwhile
    expect(await stored('refused-then-stored')).toBe(0);
    await proxy.forward();
    expect(await write).toMatchObject({ status: 'stored', record: { client_msg_id: 'refused-then-stored' } });
    expect(await stored('refused-then-stored')).toBe(1);
  });

  it('refuses the batch as never stored once its retries run out', async () => {
    const writer = new MessageWriter(pool(), unpublished, { retryForMs: 300 });
    await proxy.refuse();
    try {
      const err = await writer.write(message('never-stored')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await proxy.forward();
    }
    expect(await stored('never-stored')).toBe(0);
  });

  it('answers unavailable "retry with the same client_msg_id" when the connection dropped after the statement was sent', async () => {
    const sql = pool();
    await backendPid(sql); // the connection is open, so the cut hits the insert itself
    const writer = new MessageWriter(sql, unpublished, { retryForMs: 5000 });
    await proxy.cutOn('insert into messages');
    try {
      // The open connection was made in forward mode; a new one is needed for the cut mode.
      await sql`select pg_terminate_backend(pg_backend_pid())`.catch(() => {});
      const err = await writer.write(message('outcome-unknown')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).toBody()).toEqual({ code: 'unavailable', message: OUTCOME_UNKNOWN_MESSAGE });
    } finally {
      await proxy.forward();
    }
  });
});

describe('job status writes when Postgres goes away', () => {
  it('a progress write retries while Postgres refuses, then is stored and published once; without a retry budget it throws', async () => {
    const sql = pool();
    const job = await insertJob(db.sql, { id: crypto.randomUUID(), ownerId: users[0]!, name: 'demo.steps', data: { steps: 2, step_ms: 0 }, state: 'waiting' });
    await db.sql`update jobs set state = 'active' where id = ${job.id}`;
    const published: number[] = [];
    const retries: number[] = [];
    const patient = new JobStatusStore(sql, { jobStatus: (j) => published.push(j.progress), noticeNew: () => {}, jobOutput: () => {} }, { retryForMs: 10_000, onRetry: (_id, _err, n) => retries.push(n) });
    const impatient = new JobStatusStore(sql, { jobStatus: (j) => published.push(j.progress), noticeNew: () => {}, jobOutput: () => {} });
    await backendPid(sql);
    await proxy.refuse();
    await new Promise((r) => setTimeout(r, 200)); // the pool notices its connection closed
    try {
      await expect(impatient.apply(job.id, jobChanges.progress(10, 'step 1/10'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      const write = patient.apply(job.id, jobChanges.progress(50, 'step 5/10'));
      await expect.poll(() => retries.length, { timeout: 5000, interval: 20 }).toBeGreaterThan(2);
      await proxy.forward();
      expect(await write).toMatchObject({ job_id: job.id, state: 'active', progress: 50, status_text: 'step 5/10' });
    } finally {
      await proxy.forward();
    }
    expect(published).toEqual([50]);
  });
});
