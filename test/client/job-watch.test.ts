import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInboxClient, type InboxClient } from '@inbox-hub/client';
import type { ClientToServerEvents, JobDto, ServerToClientEvents } from '../../src/realtime/protocol.js';
import { outgoing, statusReached } from './client-helpers.js';

/**
 * The client's job bookkeeping against a scripted `/inbox`: the test decides exactly which
 * states arrive twice or late, which a real worker cannot be made to do on cue.
 */
type FakeIo = Server<ClientToServerEvents, ServerToClientEvents>;

const USER = { id: 1, email: 'ann@example.test', name: 'Ann', avatar_url: null };
const job = (seq: number, over: Partial<JobDto> = {}): JobDto => ({
  job_id: 'j1',
  name: 'demo.steps',
  state: 'active',
  progress: seq * 10,
  status_text: `step ${seq}`,
  result: null,
  error: null,
  attempts_made: 0,
  created_at: '2025-01-01T00:00:00.000Z',
  updated_at: '2025-01-01T00:00:00.000Z',
  seq,
  ...over,
});

let http: HttpServer;
let io: FakeIo;
let url: string;
let current: JobDto;
const clients: InboxClient[] = [];

beforeEach(async () => {
  current = job(1);
  http = createServer();
  io = new Server(http);
  io.of('/inbox').on('connection', (socket) => {
    socket.on('sync', (_payload, ack) => ack({ ok: true, messages: [], has_more: false, conversation_ids: [] }));
    socket.on('job:watch', ({ job_id }, ack) => {
      if (job_id !== 'j1') return ack({ ok: false, error: { code: 'not_found', message: 'Job not found' } });
      void socket.join('job_j1');
      ack({ ok: true, job: current, output: [], output_has_more: false });
    });
    socket.on('job:unwatch', (_payload, ack) => {
      void socket.leave('job_j1');
      ack({ ok: true });
    });
    socket.emit('ready', { user: USER, conversation_ids: [], conversations: [], online_user_ids: [], unread_notices: 0 });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await new Promise<void>((resolve) => void io.close(() => resolve()));
});

function client(): InboxClient {
  const c = createInboxClient(url, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 200 });
  clients.push(c);
  return c;
}

const publish = (state: JobDto) => io.of('/inbox').to('job_j1').emit('job:status', state);

describe('watchJob', () => {
  it('gives the current state, then each change once, dropping repeated and late seqs', async () => {
    const c = client();
    const r = recorder();
    const watch = await c.watchJob('j1', r.listener);
    expect(watch.job).toEqual(job(1));
    for (const seq of [2, 2, 1, 3]) publish(job(seq));
    await r.until(3);
    expect(r.seen).toEqual([1, 2, 3]);
  });

  it('watches again after a reconnect and hands on what changed meanwhile, once', async () => {
    const c = client();
    const watches = outgoing(c, 'job:watch');
    const r = recorder();
    await c.watchJob('j1', r.listener);
    current = job(5);
    for (const socket of io.of('/inbox').sockets.values()) socket.conn.close();
    await statusReached(c, 'reconnecting');
    await r.until(5);
    for (const seq of [5, 4, 6]) publish(job(seq, { state: seq === 6 ? 'completed' : 'active' }));
    await r.until(6);
    expect(r.seen).toEqual([1, 5, 6]);
    expect(watches).toEqual([{ job_id: 'j1', output_from: 0 }, { job_id: 'j1', output_from: 0 }]);
  });

  it('stops after unwatch, and rejects a job the hub refuses', async () => {
    const c = client();
    const seen: number[] = [];
    const unwatches = outgoing(c, 'job:unwatch');
    const watch = await c.watchJob('j1', (j) => seen.push(j.seq));
    await watch.unwatch();
    expect(unwatches).toEqual([{ job_id: 'j1' }]);
    await expect(c.watchJob('nope', () => undefined)).rejects.toMatchObject({ code: 'not_found' });
    publish(job(2));
    await c.watchJob('j1', () => undefined);
    expect(seen).toEqual([1]);
  });

  it('a second listener on the same job also starts with its current state', async () => {
    const c = client();
    const first = recorder();
    const second = recorder();
    await c.watchJob('j1', first.listener);
    publish(job(2));
    await first.until(2);
    await c.watchJob('j1', second.listener);
    expect(second.seen).toEqual([2]);
  });
});

/** The seqs a listener was given, and a way to wait for one of them (no fixed sleeps). */
function recorder() {
  const seen: number[] = [];
  const waiters: { seq: number; resolve: () => void }[] = [];
  const listener = (j: JobDto) => {
    seen.push(j.seq);
    for (const w of waiters) if (w.seq === j.seq) w.resolve();
  };
  const until = (seq: number) =>
    seen.includes(seq) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ seq, resolve }));
  return { seen, listener, until };
}
