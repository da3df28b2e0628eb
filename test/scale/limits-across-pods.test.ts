import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../helpers/config.js';
import { api, newConversation, newUser, type TestUser } from '../helpers/http.js';
import { pollUntil, spawnHub, type ChildService } from '../helpers/processes.js';
import { connect, connectInbox, request, type ClientSocket } from '../helpers/sockets.js';

/**
 * Two real hub processes sharing Redis and Postgres: the per-user limits hold for the user's
 * sockets on both together, and a session that dies in the database takes its sockets on both
 * pods with it, in every namespace.
 */
const RATE = 1;
const MAX_SOCKETS = 3;
const SWEEP_MS = 300;
let podA: ChildService;
let podB: ChildService;
let sql: postgres.Sql;
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  const env = { MESSAGE_RATE_LIMIT: String(RATE), MAX_SOCKETS_PER_USER: String(MAX_SOCKETS), SESSION_SWEEP_MS: String(SWEEP_MS) };
  [podA, podB] = await Promise.all([spawnHub(env), spawnHub(env)]);
  sql = postgres(testEnv().DATABASE_URL, { max: 1, onnotice: () => {} });
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await sql?.end();
  await Promise.all([podA?.stop(), podB?.stop()]);
});

const keep = <T extends ClientSocket>(s: T) => (sockets.push(s), s);
const inboxOn = async (pod: ChildService, u: TestUser) => keep((await connectInbox(pod.url, u.cookie)).socket);
const outcome = (p: Promise<ClientSocket>) => p.then((s) => (keep(s), 'connected'), (err: Error) => err.message);
const disconnected = (s: ClientSocket) => new Promise<string>((resolve) => s.once('disconnect', resolve));

describe('MESSAGE_RATE_LIMIT over two pods', () => {
  it('one user\'s sockets on both pods share one allowance (bursts of twice the rate)', async () => {
    const [ann, bob] = await Promise.all([newUser(podA.url), newUser(podA.url)]);
    const conv = await newConversation(podA.url, ann, bob);
    const [onA, onB] = await Promise.all([inboxOn(podA, ann), inboxOn(podB, ann)]);
    const started = performance.now();
    const acks = await Promise.all(
      Array.from({ length: 12 }, (_, i) => request(i % 2 ? onB : onA, 'message', { conversation_id: conv.id, message: `m${i}`, type: 'TEXT' })),
    );
    const elapsedS = (performance.now() - started) / 1000;
    const codes = acks.map((a) => (a.ok ? 'ok' : a.error.code));
    const ok = codes.filter((c) => c === 'ok').length;
    // The burst (2 x RATE), plus what refilled while the 12 were in flight; each pod alone would allow the burst.
    expect(ok).toBeGreaterThanOrEqual(2 * RATE);
    expect(ok).toBeLessThanOrEqual(2 * RATE + Math.floor(elapsedS * RATE));
    expect(codes.filter((c) => c === 'rate_limited')).toHaveLength(12 - ok);
    const [row] = await sql`select count(*)::int as n from messages where conversation_id = ${conv.id}`;
    expect(row!.n).toBe(ok);
  });
});

describe('MAX_SOCKETS_PER_USER over two pods and every namespace', () => {
  it('counts /inbox and /chat/<id> sockets on both pods together, and frees a place on disconnect', async () => {
    const [ann, bob] = await Promise.all([newUser(podA.url), newUser(podA.url)]);
    const conv = await newConversation(podA.url, ann, bob);
    const first = await inboxOn(podA, ann);
    await inboxOn(podA, ann);
    keep(await connect(podB.url, ann.cookie, { namespace: `/chat/${conv.id}` }));
    expect(await outcome(connect(podB.url, ann.cookie))).toBe('rate_limited');
    expect(await outcome(connect(podA.url, ann.cookie, { namespace: `/chat/${conv.id}` }))).toBe('rate_limited');
    // Another user is not held up by Ann's count.
    expect(await outcome(connect(podB.url, bob.cookie))).toBe('connected');
    first.close();
    await pollUntil(async () => (await outcome(connect(podB.url, ann.cookie))) === 'connected', 'a place freed on pod A to be usable on pod B', 5000, 100);
  });
});

describe('sessions that die in the database', () => {
  async function annWithSocketsOnBothPods() {
    const [ann, bob] = await Promise.all([newUser(podA.url), newUser(podA.url)]);
    const conv = await newConversation(podA.url, ann, bob);
    const annSockets = [await inboxOn(podA, ann), keep(await connect(podB.url, ann.cookie, { namespace: `/chat/${conv.id}` }))];
    const bobSocket = await inboxOn(podB, bob);
    const [session] = await sql`select id from sessions where user_id = ${ann.user.id} and revoked_at is null`;
    return { ann, annSockets, bobSocket, sessionId: session!.id as number };
  }

  it.each([
    ['revoked by an operator', 'update sessions set revoked_at = now() where id = $1'],
    ['expired', "update sessions set expires_at = now() - interval '1 second' where id = $1"],
  ])('%s: its sockets on every pod, in every namespace, are disconnected within a sweep; others stay', async (_what, statement) => {
    const { ann, annSockets, bobSocket, sessionId } = await annWithSocketsOnBothPods();
    const gone = Promise.all(annSockets.map(disconnected));
    const started = performance.now();
    await sql.unsafe(statement, [sessionId]);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
    // A sweep every SWEEP_MS on each pod; generous for a loaded machine, far below the contract's 60 s.
    expect(performance.now() - started).toBeLessThan(SWEEP_MS * 10);
    expect(bobSocket.connected).toBe(true);
    expect(await outcome(connect(podA.url, ann.cookie))).toBe('unauthorized');
  });

  it('logout disconnects the session\'s sockets on both pods, in every namespace', async () => {
    const { ann, annSockets, bobSocket } = await annWithSocketsOnBothPods();
    const gone = Promise.all(annSockets.map(disconnected));
    expect((await api(podA.url, 'POST', '/api/auth/logout', { cookie: ann.cookie })).status).toBe(204);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
    expect(bobSocket.connected).toBe(true);
  });
});
