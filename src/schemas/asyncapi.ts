import { z } from 'zod';
import { ERROR_STATUS } from '../errors.js';
import { conversationSchema, jobSchema, messageSchema, userSchema } from './objects.js';
import {
  conversationNewEvent,
  conversationPayload,
  deliveredEvent,
  deliveredPayload,
  jobOutputEvent,
  resyncEvent,
  jobPayload,
  jobWatchPayload,
  jobWatchResult,
  legacyMessagePayload,
  messageResult,
  noticeNewEvent,
  presenceEvent,
  readEvent,
  readPayload,
  readyEvent,
  sendMessagePayload,
  syncPayload,
  syncResult,
  typingEvent,
} from './socket.js';

/**
 * The socket protocol as an AsyncAPI 3 document, built from the zod schemas that validate
 * the events (client to server) and shape the replies, so the document cannot drift from
 * what the hub accepts. Served at /docs/asyncapi.json; docs/protocol.md tells the rest.
 */

const errorBody = z.object({ code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]), message: z.string() });
const failedAck = z.object({ ok: z.literal(false), error: errorBody });
/** A successful ack: `ok: true` first, then the result's fields. */
const ok = <S extends z.ZodRawShape>(result: z.ZodObject<S>) => z.object({ ok: z.literal(true), ...result.shape });
const emptyAck = ok(z.object({}));
const messageAck = ok(messageResult);

/** Who emits the event: the client (the hub receives it) or the hub (the client receives it). */
type From = 'client' | 'server';

interface EventDoc {
  event: string;
  from: From;
  summary: string;
  payload: z.ZodType;
  /** The acknowledgement's success shape; every acked event may also answer `failed_ack`. */
  ack?: z.ZodType;
}

export const INBOX_EVENTS: readonly EventDoc[] = [
  { event: 'message', from: 'client', payload: sendMessagePayload, ack: messageAck, summary: 'Send a chat message. Stored before the ack and the broadcast; a repeated client_msg_id returns the first stored message and is not broadcast again. Over MAX_MESSAGE_LENGTH characters: too_large.' },
  { event: 'sync', from: 'client', payload: syncPayload, ack: ok(syncResult), summary: 'Fetch every message above the given seq per conversation (limit 1..500, default 100), in storage order; call again with advanced cursors while has_more.' },
  { event: 'typing', from: 'client', payload: conversationPayload, ack: emptyAck, summary: "Tell the other member you are typing; relayed to their sockets, not to the typist's." },
  { event: 'read', from: 'client', payload: readPayload, ack: emptyAck, summary: "Move your read marker forward; it moves your delivered markers too. At or below the marker: ok, nothing changes; above the conversation's last seq: invalid_payload. The conversation's room gets read (and delivered) for what moved." },
  { event: 'delivered', from: 'client', payload: deliveredPayload, ack: emptyAck, summary: "This device (session) has received every message of the conversation up to seq. Your delivered marker is the highest over your sessions; when it moves the conversation's room gets delivered. Forward only; above the last seq: invalid_payload." },
  { event: 'job:watch', from: 'client', payload: jobWatchPayload, ack: ok(jobWatchResult), summary: 'Watch one of your jobs: joins job_<job_id>, then acks its stored state and, with output_from, its stored output chunks from that offset (at most 500; output_has_more when there are more); job:status and job:output follow.' },
  { event: 'job:unwatch', from: 'client', payload: jobPayload, ack: emptyAck, summary: 'Stop watching a job.' },
  { event: 'ready', from: 'server', payload: readyEvent, summary: 'Sent once per connection, read after the socket joined its rooms: the user, the ids of all their conversations, the 100 most recently active in full, which of their peers are online, and the count of unread notices. Every message with a seq above a conversation\'s last_seq here arrives as message (or through sync). Call sync with your cursors.' },
  { event: 'message', from: 'server', payload: messageSchema, summary: 'A stored message of one of your conversations (your own included). seq is per conversation, 1, 2, 3... without gaps.' },
  { event: 'conversation:new', from: 'server', payload: conversationNewEvent, summary: 'A conversation you are a member of was created; your sockets have joined its room.' },
  { event: 'typing', from: 'server', payload: typingEvent, summary: 'The other member is typing.' },
  { event: 'read', from: 'server', payload: readEvent, summary: "A member's stored read marker moved forward." },
  { event: 'delivered', from: 'server', payload: deliveredEvent, summary: "A member's delivered marker (the highest over their sessions) moved forward." },
  { event: 'presence', from: 'server', payload: presenceEvent, summary: "A peer (a user sharing a conversation with you) came online (their first socket anywhere), or went offline (their last socket has been gone for PRESENCE_GRACE_MS, or its pod died); reloads inside the grace send nothing." },
  { event: 'job:status', from: 'server', payload: jobSchema, summary: 'A watched job changed; keep the highest seq per job.' },
  { event: 'job:output', from: 'server', payload: jobOutputEvent, summary: 'New output chunks of a watched job, in offset order, at most 20 events per second per job; keep the highest offset (a chunk may also come in a job:watch ack).' },
  { event: 'notice:new', from: 'server', payload: noticeNewEvent, summary: 'One of your jobs ended while none of your sockets watched it; the notice is stored (GET /api/notices).' },
  { event: 'resync', from: 'server', payload: resyncEvent, summary: 'This socket fell behind (more than SLOW_CONSUMER_BYTES unsent) and messages of these conversations were held back from it; once it had drained, this is sent once. Call sync for them.' },
];

export const LEGACY_EVENTS: readonly EventDoc[] = [
  { event: 'message', from: 'client', payload: legacyMessagePayload, ack: messageAck, summary: 'Send a message to the conversation of this namespace (the ack is optional).' },
  { event: 'message', from: 'server', payload: messageSchema, summary: "A stored message of this namespace's conversation, whichever namespace it was sent from." },
];

const key = (e: EventDoc) => `${e.event.replace(/[^A-Za-z0-9]/g, '_')}_from_${e.from}`;
const ref = (path: string) => ({ $ref: path });

/** Gives every distinct schema one name in components.schemas; shared schemas share a name. */
function schemaNames(): Map<z.ZodType, string> {
  const names = new Map<z.ZodType, string>([
    [userSchema, 'user'],
    [messageSchema, 'message'],
    [conversationSchema, 'conversation'],
    [jobSchema, 'job'],
    [failedAck, 'failed_ack'],
  ]);
  for (const [namespace, events] of [['inbox', INBOX_EVENTS], ['legacy', LEGACY_EVENTS]] as const) {
    for (const e of events) {
      if (!names.has(e.payload)) names.set(e.payload, `${namespace}_${key(e)}`);
      if (e.ack && !names.has(e.ack)) names.set(e.ack, `${namespace}_${key(e)}_ack`);
    }
  }
  return names;
}

function componentSchemas(names: Map<z.ZodType, string>): Record<string, object> {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of names) registry.add(schema, { id });
  // Output: what a valid payload looks like once parsed; refinements (NUL checks) are not expressible.
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-7', io: 'output', uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]),
  );
}

function channel(address: string, description: string, events: readonly EventDoc[], names: Map<z.ZodType, string>) {
  const messages: Record<string, object> = {};
  for (const e of events) {
    messages[key(e)] = { name: e.event, title: `${e.event} (from the ${e.from})`, summary: e.summary, contentType: 'application/json', payload: ref(`#/components/schemas/${names.get(e.payload)}`) };
    if (e.ack) {
      messages[`${key(e)}_ack`] = { name: `${e.event} ack`, title: `${e.event} acknowledgement`, summary: `Success answer of ${e.event}.`, contentType: 'application/json', payload: ref(`#/components/schemas/${names.get(e.ack)}`) };
    }
  }
  messages.failed_ack = { name: 'failed ack', title: 'Failed acknowledgement', summary: 'Any acked event that did not succeed: nothing was stored or sent.', contentType: 'application/json', payload: ref('#/components/schemas/failed_ack') };
  return { address, description, messages };
}

function operations(channelId: string, events: readonly EventDoc[]): Record<string, object> {
  const ops: Record<string, object> = {};
  for (const e of events) {
    const channelRef = ref(`#/channels/${channelId}`);
    ops[`${channelId}_${key(e)}`] = {
      // From the hub's side: it receives what clients emit and sends the rest.
      action: e.from === 'client' ? 'receive' : 'send',
      channel: channelRef,
      summary: e.summary,
      messages: [ref(`#/channels/${channelId}/messages/${key(e)}`)],
      ...(e.ack && {
        reply: {
          channel: channelRef,
          messages: [ref(`#/channels/${channelId}/messages/${key(e)}_ack`), ref(`#/channels/${channelId}/messages/failed_ack`)],
        },
      }),
    };
  }
  return ops;
}

/** The whole document; cheap enough to build once per process. */
export function asyncApiDocument(): object {
  const names = schemaNames();
  return {
    asyncapi: '3.1.0',
    info: {
      title: 'Inbox hub socket protocol',
      version: '1.0.0',
      description: [
        'Socket.IO 4 namespaces of the inbox hub. A Socket.IO event is a message: its name is the event name, its payload the first argument.',
        'Acknowledged events take a callback as last argument, answered exactly once with `{ok: true, ...}` or `{ok: false, error: {code, message}}`.',
        'The handshake is authenticated by the `sessionid` cookie; refusals are `connect_error` with message `unauthorized`, `forbidden_origin`, `forbidden`, `rate_limited` or `unavailable`.',
        'docs/protocol.md in the repository describes ordering, catching up and limits.',
      ].join('\n\n'),
    },
    defaultContentType: 'application/json',
    channels: {
      inbox: channel('/inbox', 'One connection per user for all their conversations and jobs. Joins user_<id> and chat_<id> of every conversation on connect.', INBOX_EVENTS, names),
      legacy_chat: {
        ...channel('/chat/{conversation_id}', 'The legacy one-connection-per-conversation namespace (when LEGACY_CHAT is true); members only.', LEGACY_EVENTS, names),
        parameters: { conversation_id: { description: 'The conversation id, a canonical positive integer.' } },
      },
    },
    operations: { ...operations('inbox', INBOX_EVENTS), ...operations('legacy_chat', LEGACY_EVENTS) },
    components: { schemas: componentSchemas(names) },
  };
}
