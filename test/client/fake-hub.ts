import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import type { ClientToServerEvents, Conversation, ErrorBody, Message, ReadyPayload, SendMessagePayload, ServerToClientEvents, User } from '@inbox-hub/client';

/**
 * A scripted `/inbox` speaking the contract as the client package types it, for what a
 * real hub cannot be made to do on cue (lose one ack, refuse with a given code) and for the
 * events this hub does not send yet. Messages are stored once per `client_msg_id`, as the hub does.
 */
export type FakeSocket = Socket<ClientToServerEvents, ServerToClientEvents>;
/**
 * What to do with one `message` request: store and ack it; store and broadcast it but lose
 * the ack; store it and lose both (as if the connection died right after the commit); refuse it.
 */
export type SendPlan = 'ack' | 'lose-ack' | 'lose-all' | ErrorBody;

export const USER: User = { id: 1, email: 'ann@example.test', name: 'Ann', avatar_url: null };

export interface FakeHub {
  url: string;
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  /** Every `message` request received, in order (retries included). */
  sends: SendMessagePayload[];
  /** Every message stored, once per `client_msg_id`; also what the history route pages through. */
  stored: Message[];
  /** What `GET /api/conversations` answers. */
  conversations: Conversation[];
  /** Decides each `message` request; `ack` by default. */
  plan: (payload: SendMessagePayload, attempt: number) => SendPlan;
  /** Refuses new connections while true (the socket gets `connect_error`, and retries). */
  offline: boolean;
  ready: (user: User) => ReadyPayload | Pick<ReadyPayload, 'user' | 'conversation_ids'>;
  onConnection: (socket: FakeSocket) => void;
  sockets(): FakeSocket[];
  close(): Promise<void>;
}

export async function startFakeHub(): Promise<FakeHub> {
  const http: HttpServer = createServer((req, res) => answerHttp(hub, req, res));
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http);
  const seqs = new Map<number, number>();
  const hub: FakeHub = {
    url: '',
    io,
    sends: [],
    stored: [],
    conversations: [],
    plan: () => 'ack',
    offline: false,
    ready: (user) => ({ user, conversation_ids: [4] }),
    onConnection: () => undefined,
    sockets: () => [...io.of('/inbox').sockets.values()],
    close: () => new Promise<void>((resolve) => void io.close(() => resolve())),
  };
  const store = (p: SendMessagePayload, broadcast: boolean): Message => {
    const existing = hub.stored.find((m) => m.client_msg_id === p.client_msg_id);
    if (existing) return existing;
    const seq = (seqs.get(p.conversation_id) ?? 0) + 1;
    seqs.set(p.conversation_id, seq);
    const id = hub.stored.length + 1;
    const m: Message = {
      id, conversation_id: p.conversation_id, seq, sender_id: String(USER.id), sender_name: USER.name, sender_avatar: null,
      message: p.message, type: p.type, created_at: new Date().toISOString(), message_id: id, client_msg_id: p.client_msg_id ?? null,
    };
    hub.stored.push(m);
    if (broadcast) io.of('/inbox').emit('message', m);
    return m;
  };
  io.of('/inbox').use((_socket, next) => next(hub.offline ? new Error('unavailable') : undefined));
  io.of('/inbox').on('connection', (socket) => {
    socket.on('sync', ({ cursors }, ack) => {
      const missed = hub.stored.filter((m) => m.seq > (cursors[m.conversation_id] ?? Infinity));
      ack({ ok: true, messages: missed, has_more: false, conversation_ids: [4] });
    });
    socket.on('message', (payload, ack) => {
      hub.sends.push(payload);
      const plan = hub.plan(payload, hub.sends.filter((s) => s.client_msg_id === payload.client_msg_id).length);
      if (typeof plan === 'object') return ack({ ok: false, error: plan });
      const message = store(payload, plan !== 'lose-all');
      if (plan === 'ack') ack({ ok: true, message });
    });
    hub.onConnection(socket);
    socket.emit('ready', hub.ready(USER) as ReadyPayload);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  hub.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return hub;
}

/** The two read routes the client's views use; anything else is 404, so no request hangs. */
function answerHttp(hub: FakeHub, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://fake');
  const history = /^\/api\/conversations\/(\d+)\/messages$/.exec(url.pathname);
  let body: unknown = { error: { code: 'not_found', message: 'Not found' } };
  let status = 404;
  if (url.pathname === '/api/conversations') [status, body] = [200, { conversations: hub.conversations }];
  if (history) {
    const before = Number(url.searchParams.get('before_seq') ?? Infinity);
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const older = hub.stored.filter((m) => m.conversation_id === Number(history[1]) && m.seq < before);
    [status, body] = [200, { messages: older.slice(-limit), has_more: older.length > limit }];
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
