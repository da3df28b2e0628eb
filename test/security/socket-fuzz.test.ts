import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { z } from 'zod';
import { conversationPayload, deliveredPayload, jobPayload, legacyMessagePayload, readPayload, sendMessagePayload, syncPayload } from '../../src/schemas/socket.js';
import { createIsolatedDatabase, type IsolatedDatabase } from '../helpers/database.js';
import { newConversation, newUser, type TestUser } from '../helpers/http.js';
import { spawnHub, type ChildService } from '../helpers/processes.js';
import { connect, connectInbox, request } from '../helpers/sockets.js';

/**
 * Hostile payloads at every client-to-server event of /inbox and /chat/<id>, events the hub
 * does not know, and frames up to 1 MiB, against a real hub process on a database of its own:
 * every known event gets exactly one ack with a contract code, the process stays up, no
 * socket is dropped, and not one row is written.
 */
const SEED = 20261129;
const MiB = 1024 * 1024;
const MAX_MESSAGE_LENGTH = 300;
const CODES = ['invalid_payload', 'forbidden', 'not_found', 'rate_limited', 'too_large'];
const TABLES = ['users', 'sessions', 'conversations', 'messages', 'read_markers', 'delivered_markers', 'session_delivered_markers', 'jobs'];

let db: IsolatedDatabase;
let hub: ChildService;
let ann: TestUser;
let own: number;
let foreign: number;
let rowsBefore: Record<string, number>;
let sent = 0;

async function countRows(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of TABLES) counts[t] = (await db.sql.unsafe(`select count(*)::int as n from ${t}`))[0]!.n as number;
  const [m] = await db.sql`select coalesce(sum(last_read_seq), 0)::int as s from read_markers`;
  counts.read_marker_sum = m!.s as number;
  return counts;
}

beforeAll(async () => {
  db = await createIsolatedDatabase('socketfuzz');
  hub = await spawnHub({
    DATABASE_URL: db.url,
    REDIS_PREFIX: `${inject('redisPrefix')}-socketfuzz`,
    MESSAGE_RATE_LIMIT: '1000000',
    MAX_MESSAGE_LENGTH: String(MAX_MESSAGE_LENGTH),
    LOG_LEVEL: 'warn',
  });
  const [bob, carol, dan] = await Promise.all([newUser(hub.url), newUser(hub.url), newUser(hub.url)]);
  ann = await newUser(hub.url);
  own = (await newConversation(hub.url, ann, bob)).id;
  foreign = (await newConversation(hub.url, carol, dan)).id;
  rowsBefore = await countRows();
}, 90_000);

afterAll(async () => {
  await hub?.stop();
  await db?.drop();
});

// ---- generators ----------------------------------------------------------------------
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', '', '\u0000', '😀');
const text = fc.oneof(fc.string(), fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '\uD800', '\u202E', 'NaN', '1e309', '<script>'));
const nested = (depth: number): unknown => (depth === 0 ? {} : { a: nested(depth - 1) });
const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  text,
  fc.integer({ min: 20, max: 1500 }).map(nested),
  fc.tuple(hostileKey, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(v ?? null)}}`)),
  fc.constantFrom(null, true, false, 0, -1, 1.5, [], {}),
);
/** Every field of `base` kept, broken or dropped, plus hostile extra keys. */
function mangled(base: Record<string, unknown>): fc.Arbitrary<unknown> {
  const fields = Object.fromEntries(Object.entries(base).map(([k, v]) => [k, fc.oneof(fc.constant(v), junk)]));
  const record = fc.record(fields, { requiredKeys: [] });
  return fc.oneof(
    record,
    fc.tuple(record, hostileKey, junk).map(([r, k, v]) => JSON.parse(JSON.stringify({ ...(r as object), [k]: v }))),
    junk,
  );
}
/** One field replaced by a string past 64 KiB, up to a frame just under 1 MiB (no field takes that). */
const large = (base: Record<string, unknown>) =>
  fc.tuple(fc.constantFrom(...Object.keys(base)), fc.integer({ min: 64 * 1024, max: MiB - 4096 })).map(([k, n]) => ({ ...base, [k]: 'x'.repeat(n) }));

const rejects = (schema: z.ZodType) => (p: unknown) => !schema.safeParse(p).success;

interface Target {
  event: string;
  legacy?: boolean;
  arb: fc.Arbitrary<unknown>;
  runs: number;
  /** Acks a payload may get besides an error (a harmless no-op). */
  okAllowed?: boolean;
}

/** Wrong by shape (the schema refuses them) or well-formed but aimed where the caller may not go. */
const targets = (): Target[] => {
  const message = { conversation_id: own, message: 'hi', type: 'TEXT', client_msg_id: 'c1' };
  return [
    { event: 'message', runs: 250, arb: fc.oneof(
      mangled(message).filter(rejects(sendMessagePayload)),
      fc.string({ minLength: 1, maxLength: 40 }).map((m) => ({ conversation_id: foreign, message: m || 'x', type: 'TEXT' })),
      fc.integer({ min: MAX_MESSAGE_LENGTH + 1, max: 50_000 }).map((n) => ({ ...message, message: 'é'.repeat(n) })),
      large(message),
    ) },
    { event: 'sync', runs: 200, arb: fc.oneof(
      mangled({ cursors: { [own]: 0 }, limit: 10 }).filter(rejects(syncPayload)),
      fc.dictionary(fc.oneof(hostileKey, fc.string()), junk, { minKeys: 1, maxKeys: 5 }).map((cursors) => ({ cursors })).filter(rejects(syncPayload)),
      fc.constant({ cursors: { [foreign]: 0 } }),
      large({ cursors: { [own]: 0 }, limit: 10 }),
    ) },
    { event: 'typing', runs: 150, arb: fc.oneof(mangled({ conversation_id: own }).filter(rejects(conversationPayload)), fc.constant({ conversation_id: foreign }), large({ conversation_id: own })) },
    { event: 'read', runs: 150, arb: fc.oneof(
      mangled({ conversation_id: own, seq: 0 }).filter(rejects(readPayload)),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((seq) => ({ conversation_id: foreign, seq })),
      large({ conversation_id: own, seq: 0 }),
    ) },
    // `own` has no message yet: any seq above 0 is past its last seq.
    { event: 'delivered', runs: 150, arb: fc.oneof(
      mangled({ conversation_id: own, seq: 0 }).filter(rejects(deliveredPayload)),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((seq) => ({ conversation_id: foreign, seq })),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }).map((seq) => ({ conversation_id: own, seq })),
      large({ conversation_id: own, seq: 0 }),
    ) },
    { event: 'job:watch', runs: 150, arb: fc.oneof(mangled({ job_id: 'x' }).filter(rejects(jobPayload)), fc.string({ minLength: 1, maxLength: 100 }).filter((s) => !s.includes('\u0000')).map((job_id) => ({ job_id })), large({ job_id: 'x' })) },
    { event: 'job:unwatch', runs: 100, okAllowed: true, arb: fc.oneof(mangled({ job_id: 'x' }), large({ job_id: 'x' })) },
    { event: 'message', legacy: true, runs: 150, arb: fc.oneof(
      mangled({ message: 'hi', type: 'TEXT' }).filter(rejects(legacyMessagePayload)),
      fc.integer({ min: MAX_MESSAGE_LENGTH + 1, max: 50_000 }).map((n) => ({ message: 'x'.repeat(n), type: 'TEXT' })),
      large({ message: 'hi', type: 'TEXT' }),
    ) },
  ];
};

const sample = (arb: fc.Arbitrary<unknown>, runs: number, salt: number) => fc.sample(arb, { numRuns: runs, seed: SEED + salt });

describe('hostile payloads at every socket event', () => {
  it.each(targets().map((t, i) => [`${t.legacy ? '/chat/<id> ' : '/inbox '}${t.event}`, i] as const))('%s: each gets one ack with a contract code, and the socket stays', async (_name, i) => {
    const target = targets()[i]!;
    const payloads = sample(target.arb, target.runs, i);
    expect(payloads).toHaveLength(target.runs);
    const socket = target.legacy
      ? await connect(hub.url, ann.cookie, { namespace: `/chat/${own}` })
      : (await connectInbox(hub.url, ann.cookie)).socket;
    const codes = new Map<string, number>();
    // Small batches: a 1 MiB frame is parsed and answered before the next batch goes out.
    for (let start = 0; start < payloads.length; start += 10) {
      const acks = await Promise.all(payloads.slice(start, start + 10).map((p) => request(socket, target.event, p, 30_000)));
      for (const [j, ack] of acks.entries()) {
        const shown = JSON.stringify(payloads[start + j])?.slice(0, 200);
        if (target.okAllowed && ack.ok) {
          expect(ack, shown).toEqual({ ok: true });
          continue;
        }
        expect(ack, shown).toEqual({ ok: false, error: { code: expect.any(String), message: expect.any(String) } });
        expect(CODES, shown).toContain(ack.error.code);
        codes.set(ack.error.code, (codes.get(ack.error.code) ?? 0) + 1);
      }
    }
    sent += payloads.length;
    expect(codes.get('invalid_payload') ?? 0).toBeGreaterThan(target.runs / 3);
    expect(socket.connected).toBe(true);
    socket.close();
  }, 300_000);

  it('events the hub does not know, with and without an ack, change nothing and drop no socket', async () => {
    const reserved = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener', 'message', 'sync', 'typing', 'read', 'delivered', 'job:watch', 'job:unwatch']);
    const names = fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'ready', 'conversation:new', 'legacy:message', 'session:revoked'));
    const events = sample(fc.tuple(names.filter((n) => !reserved.has(n)), junk, fc.boolean()), 100, 99) as [string, unknown, boolean][];
    const { socket } = await connectInbox(hub.url, ann.cookie);
    const raw = socket as unknown as { emit(ev: string, ...args: unknown[]): void };
    let acked = 0;
    for (const [name, payload, withAck] of events) {
      if (withAck) raw.emit(name, payload, () => (acked += 1));
      else raw.emit(name, payload);
    }
    // The sentinel: a known event sent after all of them is answered on the same socket.
    expect(await request(socket, 'typing', { conversation_id: 'x' })).toEqual({ ok: false, error: { code: 'invalid_payload', message: expect.any(String) } });
    expect(acked).toBe(0);
    expect(socket.connected).toBe(true);
    sent += events.length;
    socket.close();
  }, 60_000);
});

describe('after the hostile payloads', () => {
  it('at least 1,200 were sent; the hub is alive, says nothing of unhandled errors, and not one row was written', async () => {
    expect(sent).toBeGreaterThanOrEqual(1200);
    expect(hub.child.exitCode).toBeNull();
    expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);
    expect(await countRows()).toEqual(rowsBefore);
    expect(hub.output()).not.toMatch(/unhandled|uncaught|socket handler failed/i);
    const { socket } = await connectInbox(hub.url, ann.cookie);
    const ok = await request(socket, 'message', { conversation_id: own, message: 'still here', type: 'TEXT' });
    expect(ok.ok).toBe(true);
    socket.close();
  });
});
