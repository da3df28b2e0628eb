import type { z } from 'zod';
import { INT4_MAX, MESSAGE_TYPES } from './common.js';
import type { sendMessagePayload } from './socket.js';

type SendMessage = z.output<typeof sendMessagePayload>;

const TYPES: ReadonlySet<unknown> = new Set(MESSAGE_TYPES);
const isText = (s: unknown): s is string => typeof s === 'string' && !s.includes('\u0000');

/**
 * The common, well-formed `message` payload checked by hand, for the hot path. The zod schema
 * (`sendMessagePayload`) stays the source of truth: this accepts only payloads it accepts, and
 * gives what it would give (the known fields, nothing else); anything else, odd or wrong,
 * returns null and goes to the schema, which also words the error. A test holds the two to
 * the same answers (test/realtime/socket-fast-path.test.ts); a field added to the schema must
 * be added here, or every payload carrying it takes the schema's path.
 */
export function fastSendMessage(payload: unknown): SendMessage | null {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const p = payload as Record<string, unknown>;
  const { conversation_id: id, message, type } = p;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > INT4_MAX) return null;
  if (!isText(message) || message.length < 1 || !TYPES.has(type)) return null;
  if (!('client_msg_id' in p)) return { conversation_id: id, message, type: type as SendMessage['type'] };
  const cmid = p.client_msg_id;
  // zod counts code points; at most 64 UTF-16 units is at most 64 of them (longer: the schema decides).
  if (!isText(cmid) || cmid.length < 1 || cmid.length > 64) return null;
  return { conversation_id: id, message, type: type as SendMessage['type'], client_msg_id: cmid };
}
