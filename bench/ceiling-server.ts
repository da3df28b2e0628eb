/**
 * The ceiling: a bare Socket.IO server with the hub's `/inbox` rooms, message shape and
 * acks, and nothing else (no database, no auth, no validation beyond what the shape
 * needs). The bench drives it with the same client code as the hub, so the hub's figures
 * read as a fraction of what Socket.IO itself does on this machine.
 *
 * Env: PORT; with CEILING_PODS > 1 also CEILING_POD, REDIS_URL, REDIS_PREFIX (Redis adapter).
 */
import { createAdapter } from '@socket.io/redis-adapter';
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { Server, type Socket } from 'socket.io';
import type { ClientToServerEvents, MessageDto, ServerToClientEvents } from '../src/realtime/protocol.js';

interface CeilingData {
  userId: number;
}
type CeilingSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, CeilingData>;

const port = Number(process.env.PORT ?? 0);
const pods = Number(process.env.CEILING_PODS ?? 1);
const pod = Number(process.env.CEILING_POD ?? 0);

const http = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404).end();
});

function adapter() {
  if (pods < 2) return undefined;
  const pub = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  return createAdapter(pub, pub.duplicate(), { key: `${process.env.REDIS_PREFIX ?? 'ceiling'}:ceiling` });
}

// Same engine settings the hub gives Socket.IO, so only the application work differs.
const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, CeilingData>(http, {
  maxHttpBufferSize: 64 * 1024,
  ...(pods > 1 ? { adapter: adapter()! } : {}),
});
const inbox = io.of('/inbox');

// With several pods each counts its own seqs; ids are striped by pod so clients can tell streams apart.
const seqs = new Map<number, number>();
let nextId = 0;

function onConnection(socket: CeilingSocket): void {
  const auth = socket.handshake.auth as { user_id?: unknown; conversation_ids?: unknown };
  const userId = Number(auth.user_id);
  const conversationIds = Array.isArray(auth.conversation_ids) ? auth.conversation_ids.map(Number) : [];
  socket.data.userId = userId;
  socket.join([`user_${userId}`, ...conversationIds.map((id) => `chat_${id}`)]);
  const user = { id: userId, email: `u${userId}@ceiling.test`, name: `User ${userId}`, avatar_url: null };

  socket.on('message', (payload, ack) => {
    if (typeof payload?.conversation_id !== 'number' || typeof payload.message !== 'string') {
      ack({ ok: false, error: { code: 'invalid_payload', message: 'invalid payload' } });
      return;
    }
    const seq = (seqs.get(payload.conversation_id) ?? 0) + 1;
    seqs.set(payload.conversation_id, seq);
    const id = ++nextId * pods + pod;
    const message: MessageDto = {
      id,
      conversation_id: payload.conversation_id,
      seq,
      sender_id: String(userId),
      sender_name: user.name,
      sender_avatar: null,
      message: payload.message,
      type: payload.type,
      created_at: new Date().toISOString(),
      message_id: id,
      client_msg_id: payload.client_msg_id ?? null,
    };
    inbox.to(`chat_${payload.conversation_id}`).emit('message', message);
    ack({ ok: true, message });
  });

  socket.emit('ready', { user, conversation_ids: conversationIds, conversations: [], online_user_ids: [], unread_notices: 0 });
}

inbox.on('connection', onConnection);
http.listen(port, '127.0.0.1');

const stop = () => {
  void io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
