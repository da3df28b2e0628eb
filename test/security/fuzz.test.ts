import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { originRefusal } from '../../src/http/plugins/origin-guard.js';
import { createIsolatedDatabase, type IsolatedDatabase } from '../helpers/database.js';
import { newConversation, newUser, type TestUser } from '../helpers/http.js';
import { spawnHub, type ChildService } from '../helpers/processes.js';
import { connectInbox, request, type ClientSocket } from '../helpers/sockets.js';

/**
 * Generated malformed input at every socket event and HTTP route, against a real hub
 * process on a database of its own: every one gets a contract error, the process stays
 * up, and not one row is written.
 */
const RUNS = 1000;
const SEED = 20261125;
// `unavailable` is not among them: storage is up, so it would mean input reached it and broke it.
const SOCKET_CODES = ['invalid_payload', 'forbidden', 'not_found', 'rate_limited', 'too_large'];
const HTTP_CODES: Record<number, string[]> = {
  400: ['invalid_payload'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'], 413: ['too_large'], 415: ['invalid_payload'],
};

let db: IsolatedDatabase;
let hub: ChildService;
let ann: TestUser;
let bob: TestUser;
/** Lookups are limited to 30 a minute per user: each of these callers sends at most that many. */
let lookers: TestUser[];
let socket: ClientSocket;
let conversationId: number;
let rowsBefore: Record<string, number>;

const TABLES = ['users', 'sessions', 'conversations', 'messages', 'read_markers', 'delivered_markers', 'session_delivered_markers', 'jobs'];
async function countRows(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of TABLES) counts[t] = (await db.sql.unsafe(`select count(*)::int as n from ${t}`))[0]!.n as number;
  const [marker] = await db.sql`select coalesce(sum(last_read_seq), 0)::int as s from read_markers`;
  counts.read_marker_sum = marker!.s as number;
  return counts;
}

beforeAll(async () => {
  db = await createIsolatedDatabase('fuzz');
  hub = await spawnHub({
    DATABASE_URL: db.url,
    REDIS_PREFIX: `${inject('redisPrefix')}-fuzz`,
    MESSAGE_RATE_LIMIT: '1000000',
    LOG_LEVEL: 'warn',
  });
  [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
  lookers = await Promise.all(Array.from({ length: 5 }, () => newUser(hub.url)));
  conversationId = (await newConversation(hub.url, ann, bob)).id;
  socket = (await connectInbox(hub.url, ann.cookie)).socket;
  rowsBefore = await countRows();
}, 60_000);

afterAll(async () => {
  socket?.close();
  await hub?.stop();
  await db?.drop();
});

// ---- generators of wrong values ----------------------------------------------------
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', '\u0000', '😀');
const weirdString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.constantFrom('', ' ', '\u0000', '\uD800', '\u202E', 'null', 'undefined', 'NaN', '1e309', '-0', '0x10', '<script>'),
  // Long, but under the socket's maxHttpBufferSize (a larger frame closes the connection:
  // tested on its own below, since no ack can answer a frame that is never read).
  fc.integer({ min: 4_001, max: 60_000 }).map((n) => 'x'.repeat(n)),
);
const nested = (depth: number): unknown => (depth === 0 ? {} : { a: nested(depth - 1) });
const deep = fc.integer({ min: 50, max: 2000 }).map((d) => nested(d));
const polluted = fc.tuple(hostileKey, fc.jsonValue()).map(([k, v]) => JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(v ?? null)}}`));
const junk = fc.oneof(fc.jsonValue(), weirdString, deep, polluted, fc.constantFrom(null, true, false, 0, -1, 1.5, [], {}));
/** Anything but a positive int32: the id fields' wrong values. */
const notAnId = fc.oneof(
  fc.constantFrom(0, -1, 1.5, 2 ** 31, Number.MAX_SAFE_INTEGER, -0.0001, null, true, '1', '', [], {}),
  fc.double({ noInteger: true }),
  fc.integer({ max: 0 }),
  weirdString,
  deep,
);
/** Wrong types, or strings that name no job of the caller's (answered not_found). */
const notAJobId = fc.oneof(fc.constantFrom('', null, 1, [], {}, true), weirdString, deep);
const notAType = fc.oneof(fc.constantFrom('text', 'Text', 'VIDEO', '', null, 1, [], {}), weirdString);

/** A valid-looking payload with one field broken (wrong, a required one missing, or extra-hostile). */
function broken<T extends Record<string, unknown>>(
  base: T,
  wrongs: { [K in keyof T]: fc.Arbitrary<unknown> },
  optional: (keyof T)[] = [],
): fc.Arbitrary<unknown> {
  const keys = Object.keys(wrongs) as (keyof T)[];
  const oneWrong = fc.constantFrom(...keys).chain((k) => wrongs[k].map((v) => ({ ...base, [k]: v })));
  const missing = fc.constantFrom(...keys.filter((k) => !optional.includes(k))).map((k) => {
    const copy: Record<string, unknown> = { ...base };
    delete copy[k as string];
    return copy;
  });
  const wrongWithPollution = fc.tuple(oneWrong, polluted).map(([p, extra]) => Object.assign(Object.create(null), extra, p));
  return fc.oneof(oneWrong, missing, wrongWithPollution, junk.filter((j) => typeof j !== 'object' || j === null || Array.isArray(j)));
}

const sample = (arb: fc.Arbitrary<unknown>, salt: number) => fc.sample(arb, { numRuns: RUNS, seed: SEED + salt });
/** Socket payloads must fit one frame: bigger ones close the connection (tested apart). */
const fitsFrame = (p: unknown) => (JSON.stringify(p) ?? '').length < 60_000;

// ---- socket events ----------------------------------------------------------------
const socketTargets = () => [
  { event: 'message', arb: broken({ conversation_id: conversationId, message: 'hi', type: 'TEXT', client_msg_id: 'x' }, { conversation_id: notAnId, message: fc.oneof(fc.constantFrom('', null, 1, [], {}), deep), type: notAType, client_msg_id: fc.oneof(fc.constantFrom('', 1, null, [], {}), fc.integer({ min: 65, max: 5000 }).map((n) => 'c'.repeat(n))) }, ['client_msg_id']) },
  { event: 'sync', arb: broken({ cursors: { [conversationId]: 0 }, limit: 10 }, { cursors: fc.oneof(junk.filter((j) => typeof j !== 'object' || j === null || Array.isArray(j)), fc.dictionary(fc.oneof(hostileKey, fc.string()), notAnId, { minKeys: 1 })), limit: fc.oneof(notAnId, fc.integer({ min: 501 })) }, ['limit']) },
  { event: 'typing', arb: broken({ conversation_id: conversationId }, { conversation_id: notAnId }) },
  { event: 'read', arb: broken({ conversation_id: conversationId, seq: 0 }, { conversation_id: notAnId, seq: fc.oneof(fc.constantFrom(-1, 1.5, '1', null, [], {}), fc.integer({ max: -1 }), deep) }) },
  { event: 'delivered', arb: broken({ conversation_id: conversationId, seq: 0 }, { conversation_id: notAnId, seq: fc.oneof(fc.constantFrom(-1, 1.5, '1', null, [], {}), fc.integer({ max: -1 }), deep) }) },
  { event: 'job:watch', arb: broken({ job_id: 'x' }, { job_id: notAJobId }) },
  // Unwatching a job one does not watch is a harmless no-op (ok), so only wrong types here.
  { event: 'job:unwatch', arb: broken({ job_id: 'x' }, { job_id: fc.oneof(fc.constantFrom('', null, 1, [], {}, true), fc.integer({ min: 101, max: 5000 }).map((n) => 'j'.repeat(n)), deep) }) },
];

describe('fuzzing socket events', () => {
  it.each([0, 1, 2, 3, 4, 5, 6])('target %i: every malformed payload gets an error ack with a contract code', async (i) => {
    const { event, arb } = socketTargets()[i]!;
    const payloads = sample(arb.filter(fitsFrame), i);
    expect(payloads).toHaveLength(RUNS);
    const socket = (await connectInbox(hub.url, ann.cookie)).socket;
    const codes = new Map<string, number>();
    for (let start = 0; start < payloads.length; start += 50) {
      const acks = await Promise.all(payloads.slice(start, start + 50).map((p) => request(socket, event, p, 10_000)));
      for (const [j, ack] of acks.entries()) {
        const sent = JSON.stringify(payloads[start + j])?.slice(0, 300);
        expect(ack, sent).toEqual({ ok: false, error: { code: expect.any(String), message: expect.any(String) } });
        expect(SOCKET_CODES).toContain(ack.error.code);
        codes.set(ack.error.code, (codes.get(ack.error.code) ?? 0) + 1);
      }
    }
    expect(codes.get('invalid_payload') ?? 0).toBeGreaterThan(RUNS / 2);
    expect(socket.connected).toBe(true);
    socket.close();
  }, 120_000);
});

// ---- HTTP routes --------------------------------------------------------------------
const email = fc.oneof(fc.constantFrom('', 'a', 'a@', '@b', 'a@b', null, 1, [], {}, 'İnfo@example.test', 'ınfo@example.test', 'a\u0000@example.test'), weirdString);
/** Hosts an avatar may not point at: this host, private, link-local, local names (in many spellings). */
const privateHost = fc.constantFrom(
  'localhost', 'app.localhost', '127.0.0.1', '0x7f.1', '2130706433', '0177.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]',
  '169.254.169.254', '[fe80::1]', '[fd12:3456::1]', '10.1.2.3', '172.31.255.255', '192.168.0.1', '0.0.0.0', '100.64.0.1',
  'intranet', 'printer.local', 'db.internal', 'router.home.arpa', '224.0.0.1',
);
const refusedAvatar = fc.oneof(
  fc.constantFrom('', 'javascript', 'not a url', 1, [], {}, 'javascript:alert(1)', 'data:image/png;base64,AAAA', 'ftp://cdn.example/a.png', 'https://cdn.example/a\u0000.png', 'https://user:pw@cdn.example/a.png', 'https://'),
  weirdString.filter((s) => !/^https:\/\//i.test(s)),
  fc.tuple(fc.constantFrom('http', 'https', 'HTTPS', 'wss'), privateHost, fc.webPath()).map(([scheme, host, path]) => `${scheme}://${host}${path}`),
  fc.webUrl({ validSchemes: ['http'] }),
  fc.integer({ min: 2049, max: 9000 }).map((n) => `https://cdn.example/${'a'.repeat(n)}`),
);
const invisible = fc.constantFrom('\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u3164', '\u115F', '\u2800', '\u00AD', ' ', '\u0301', '\u180E', '\t');
const bidi = fc.constantFrom('\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069');
const refusedName = fc.oneof(
  fc.constantFrom('', '   ', null, 1, [], 'a\u0000b'),
  fc.integer({ min: 101, max: 1000 }).map((n) => 'n'.repeat(n)),
  fc.array(invisible, { minLength: 1, maxLength: 20 }).map((cs) => cs.join('')),
  fc.tuple(fc.string({ maxLength: 20 }), bidi, fc.string({ maxLength: 20 })).map(([a, b, c]) => `${a}${b}${c}`),
);
const password = fc.oneof(fc.constantFrom('', 'short', null, 12345678, [], {}), fc.integer({ min: 1025, max: 100_000 }).map((n) => 'p'.repeat(n)));
const httpTargets = () => [
  { method: 'POST', path: '/api/auth/register', auth: false, arb: broken({ email: 'fuzz@example.test', password: 'longenough', name: 'F', avatar_url: null }, { email, password, name: refusedName, avatar_url: refusedAvatar }, ['avatar_url']) },
  { method: 'POST', path: '/api/auth/login', auth: false, arb: broken({ email: 'fuzz@example.test', password: 'x' }, { email: fc.oneof(fc.constantFrom('', null, 1, [], {}), fc.integer({ min: 255, max: 5000 }).map((n) => 'e'.repeat(n))), password: fc.oneof(fc.constantFrom('', null, 1, [], {})) }) },
  { method: 'POST', path: '/api/conversations', auth: true, arb: broken({ client_id: 1, worker_id: 2 }, { client_id: notAnId, worker_id: notAnId }) },
  { method: 'POST', path: '/api/jobs', auth: true, arb: fc.oneof(
    broken({ name: 'demo.steps', data: { steps: 1, step_ms: 0 } }, { name: fc.oneof(fc.constantFrom('', 'nope', 'DEMO.STEPS', null, 1, [], {}), weirdString), data: fc.oneof(fc.constantFrom(null, 1, 'x', [], {}), deep) }),
    broken({ steps: 1, step_ms: 0 }, { steps: fc.oneof(fc.constantFrom(0, 1001, 1.5, '1', null), fc.integer({ min: 1001 })), step_ms: fc.oneof(fc.constantFrom(-1, 60001, 0.5, '0', null)) }).map((data) => ({ name: 'demo.steps', data })),
    notAnId.map((conversation_id) => ({ name: 'conversation.export', data: { conversation_id } })),
  ) },
  { method: 'POST', path: '/api/auth/password', auth: true, arb: broken({ current_password: 'x', new_password: 'longenough' }, { current_password: fc.constantFrom('', null, 1, [], {}), new_password: password }) },
];

async function send(method: string, path: string, body: unknown, cookie?: string, raw = false) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (cookie) Object.assign(headers, { cookie, 'sec-fetch-site': 'same-origin' });
  const res = await fetch(`${hub.url}${path}`, { method, headers, body: raw ? (body as string) : JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

function expectContractError(res: { status: number; body: unknown }, sent?: unknown) {
  expect(Object.keys(HTTP_CODES), JSON.stringify(sent)?.slice(0, 300)).toContain(String(res.status));
  expect(res.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  expect(HTTP_CODES[res.status]).toContain((res.body as { error: { code: string } }).error.code);
}

describe('fuzzing HTTP routes', () => {
  it.each([0, 1, 2, 3, 4])('target %i: every malformed body gets a contract error', async (i) => {
    const { method, path, auth, arb } = httpTargets()[i]!;
    const bodies = sample(arb, 100 + i);
    for (let start = 0; start < bodies.length; start += 25) {
      const results = await Promise.all(bodies.slice(start, start + 25).map((b) => send(method, path, b, auth ? ann.cookie : undefined)));
      results.forEach((res, j) => expectContractError(res, bodies[start + j]));
    }
  }, 120_000);

  it('raw garbage bodies, path and query values get contract errors', async () => {
    const raws = sample(fc.oneof(fc.string(), fc.constantFrom('{', '{"a":', '[1,', '\u0000', 'null', '"str"', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}')), 200);
    for (const raw of raws.slice(0, 300)) expectContractError(await send('POST', '/api/conversations', raw, ann.cookie, true));
    const ids = sample(fc.oneof(weirdString.filter((s) => s.length < 500), fc.constantFrom('0', '-1', '1.5', '99999999999', 'abc', '%00')), 300);
    // Small whole numbers are valid limits (and ids); everything else here is not.
    const malformed = ids.filter((v) => !/[\uD800-\uDFFF]/.test(String(v)) && !/^[1-9]\d{0,2}$/.test(String(v)));
    for (const id of malformed.slice(0, 300)) {
      const p = encodeURIComponent(String(id));
      for (const [method, path] of [
        ['GET', `/api/conversations/${p}/messages?limit=${p}`],
        ['GET', `/api/jobs/${p}`],
        ['POST', `/api/jobs/${p}/cancel`],
        ['GET', `/api/jobs?limit=${p}`],
        ['GET', `/api/jobs/${p}/download`],
      ] as const) {
        expectContractError(await send(method, path, undefined, ann.cookie), `${method} ${path}`);
      }
    }
  }, 240_000);
});

describe('fuzzing the user lookup and the origin guard', () => {
  it('malformed lookup queries get 400, well-formed unknown ones 404', async () => {
    // Under Node's header size limit: a longer URL is refused (431) before the hub sees it.
    const values = sample(fc.oneof(email, fc.emailAddress(), fc.constantFrom('%00', 'a@b.c%00', ' ann@x.io ', 'ann@x.io\n')).filter((v) => (JSON.stringify(v) ?? '').length < 2000), 300);
    const queries = values.slice(0, lookers.length * 30 - 4).map((v) => (typeof v === 'string' ? `email=${encodeURIComponent(v)}` : `email=${encodeURIComponent(JSON.stringify(v) ?? '')}`));
    queries.push('', 'email=', 'email=a&email=b', 'other=1');
    for (const [i, q] of queries.entries()) {
      const res = await send('GET', `/api/users/lookup?${q}`, undefined, lookers[i % lookers.length]!.cookie);
      expectContractError(res, q);
    }
  }, 120_000);

  it('hostile Origin, Referer and Sec-Fetch-Site headers on a state-changing route are answered 200 or 403, never more', async () => {
    const origin = fc.oneof(fc.constant(undefined), fc.constantFrom('null', '', 'http://localhost:8000', 'http://localhost:8000/', 'https://evil.example', 'HTTP://LOCALHOST:8000', 'http://localhost:8000.evil.example'), fc.webUrl());
    const referer = fc.oneof(fc.constant(undefined), fc.constantFrom('', 'not a url', 'http://localhost:8000/x', 'https://evil.example/', '//localhost:8000/'), fc.webUrl(), fc.string());
    const site = fc.oneof(fc.constant(undefined), fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none', '', 'SAME-ORIGIN'), fc.string());
    const combos = sample(fc.record({ origin, referer, site }), 400) as { origin?: string; referer?: string; site?: string }[];
    const body = JSON.stringify({ client_id: ann.user.id, worker_id: bob.user.id });
    const statuses = new Map<number, number>();
    for (const c of combos) {
      const headers: Record<string, string> = { 'content-type': 'application/json', cookie: ann.cookie };
      const printable = (v: string | undefined) => v !== undefined && /^[\x20-\x7e]*$/.test(v);
      if (printable(c.origin)) headers.origin = c.origin!;
      if (printable(c.referer)) headers.referer = c.referer!;
      if (printable(c.site)) headers['sec-fetch-site'] = c.site!;
      const res = await fetch(`${hub.url}/api/conversations`, { method: 'POST', headers, body });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 403) expect(await res.json()).toEqual({ error: { code: 'forbidden', message: originRefusal(headers.origin) } });
      else expect(res.status, JSON.stringify(headers)).toBe(200);
    }
    expect(statuses.get(403)).toBeGreaterThan(100);
    expect(statuses.get(200)).toBeGreaterThan(10);
  }, 120_000);
});

describe('frames over the socket buffer limit', () => {
  it('close only that connection; the hub and other sockets carry on', async () => {
    const victim = (await connectInbox(hub.url, bob.cookie)).socket;
    const closed = new Promise((r) => victim.once('disconnect', r));
    (victim as unknown as { emit(ev: string, p: unknown): void }).emit('message', { conversation_id: conversationId, message: 'x'.repeat(1_100_000), type: 'TEXT' });
    expect(await closed).toBe('transport close');
    expect(socket.connected).toBe(true);
  });
});

describe('after the fuzzing', () => {
  it('the hub is alive, still serves, and not one row was written', async () => {
    expect(hub.child.exitCode).toBeNull();
    expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);
    expect(await countRows()).toEqual(rowsBefore);
    expect(hub.output()).not.toMatch(/unhandled|uncaught/i);
    // Not one answer was a 500, so nothing was logged as a failed request (and no query parameter ever).
    expect(hub.output()).not.toMatch(/"msg":"request failed"/);
    expect(hub.output()).not.toMatch(/params: (?!\[redacted\])/);
    const ok = await request(socket, 'message', { conversation_id: conversationId, message: 'still here', type: 'TEXT' });
    expect(ok.ok).toBe(true);
  });
});
