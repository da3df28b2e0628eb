import { describe, expect, it } from 'vitest';
import { INT4_MAX } from '../../src/schemas/common.js';
import { fastSendMessage } from '../../src/schemas/socket-fast.js';
import { sendMessagePayload } from '../../src/schemas/socket.js';

// Values a field may take, valid and not: the cross product covers each field's edges
// together with every other field's, and a few whole-payload oddities are added.
const ids: unknown[] = [1, 42, INT4_MAX, 0, -1, INT4_MAX + 1, 1.5, NaN, Infinity, '1', null, undefined, true];
const bodies: unknown[] = ['hi', 'x'.repeat(5000), '😀', '', 'a\u0000b', 7, null, undefined, ['hi'], { t: 'hi' }];
const types: unknown[] = ['TEXT', 'IMAGE', 'FILE', 'text', '', 'VIDEO', null, undefined, 1];
const cmids: unknown[] = [absent(), 'a', 'x'.repeat(64), 'x'.repeat(65), '😀'.repeat(32), '😀'.repeat(33), '', 'a\u0000', undefined, null, 5];

function absent() {
  return Symbol.for('absent');
}

function payloads(): unknown[] {
  const out: unknown[] = [];
  for (const conversation_id of ids)
    for (const message of bodies)
      for (const type of types)
        for (const cmid of cmids) {
          const p: Record<string, unknown> = { conversation_id, message, type };
          if (cmid !== absent()) p.client_msg_id = cmid;
          out.push(p);
        }
  const ok = { conversation_id: 3, message: 'hi', type: 'TEXT' };
  out.push(
    null, undefined, 'message', 12, [], [ok], Object.assign(Object.create(null), ok),
    { ...ok, extra: 'dropped by both' }, { ...ok, __proto__: { client_msg_id: 'inherited' } },
    { conversation_id: 3, message: 'hi' }, { message: 'hi', type: 'TEXT' },
  );
  return out;
}

describe('the message payload fast path against its zod schema', () => {
  const all = payloads();

  it(`accepts only what the schema accepts, and gives the schema's output (${all.length} payloads)`, () => {
    let fast = 0;
    for (const p of all) {
      const quick = fastSendMessage(p);
      const parsed = sendMessagePayload.safeParse(p);
      if (quick === null) continue;
      fast++;
      expect({ p, ok: parsed.success }).toEqual({ p, ok: true });
      expect(quick).toStrictEqual(parsed.data);
    }
    expect(fast).toBeGreaterThan(100);
  });

  it('takes the fast path for every well-formed payload a client sends', () => {
    for (const p of all) {
      const parsed = sendMessagePayload.safeParse(p);
      if (!parsed.success) {
        expect(fastSendMessage(p)).toBeNull();
        continue;
      }
      const plain = typeof p === 'object' && p !== null && Object.getPrototypeOf(p) === Object.prototype;
      const cmid = (p as { client_msg_id?: unknown }).client_msg_id;
      // Left to the schema on purpose: client_msg_id present but undefined, and one longer than
      // 64 UTF-16 units (zod counts code points; up to 64 units is up to 64 code points).
      const leftToSchema = ('client_msg_id' in (p as object) && cmid === undefined) || (typeof cmid === 'string' && cmid.length > 64);
      if (plain && !leftToSchema) expect({ p, fast: fastSendMessage(p) !== null }).toEqual({ p, fast: true });
    }
  });
});
