import type { Namespace, Server } from 'socket.io';
import type { HubPublisher } from '../domain/ports.js';
import type { ConversationDto, JobDto, MessageDto, NoticeDto, OutputChunkDto } from '../schemas/objects.js';
import type {
  ClientToServerEvents,
  InterServerEvents,
  PresencePayload,
  ServerToClientEvents,
  SocketData,
} from './protocol.js';
import { allNamespaces } from './namespaces.js';
import { chatRoom, INBOX_NAMESPACE, jobIdOfRoom, jobRoom, legacyNamespace, sessionRoom, userRoom } from './rooms.js';

export type InboxServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type InboxNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/**
 * The one door to the rooms, and the hub's side of the services' publisher ports
 * (src/domain/ports.ts): the services decide what to publish, this decides how. Everything
 * here goes through the adapter, so with the Redis adapter it reaches sockets on every pod.
 */
export class Broadcaster implements HubPublisher {
  private readonly inbox: InboxNamespace;
  private readonly legacy: boolean;

  constructor(
    private readonly io: InboxServer,
    private readonly counters?: { messagesBroadcast: { inc(): void } },
    /** Whether `/chat/<id>` sockets exist (LEGACY_CHAT); without them a message is one publish, not two. */
    options: { legacy?: boolean } = {},
  ) {
    this.legacy = options.legacy ?? true;
    this.inbox = io.of(INBOX_NAMESPACE);
    this.inbox.on('legacy:message', (message) => this.deliverLegacyLocally(message));
    this.inbox.on('session:revoked', (sessionId) => this.disconnectLegacyLocally(sessionId));
  }

  message(message: MessageDto): void {
    this.inbox.to(chatRoom(message.conversation_id)).emit('message', message);
    this.counters?.messagesBroadcast.inc();
    if (!this.legacy) return;
    this.deliverLegacyLocally(message);
    this.inbox.serverSideEmit('legacy:message', message);
  }

  /**
   * Joins both members' live sockets, on every pod, then tells them. This pod's own sockets
   * join at once as well: the adapter applies a cluster-wide join to them only when its request
   * comes back through Redis (never, while Redis is down), whereas a message sent into the new
   * conversation from here is broadcast locally at once and would miss them. Joining twice is
   * harmless.
   */
  conversationCreated(conversation: ConversationDto): void {
    const members = [userRoom(conversation.client.id), userRoom(conversation.worker.id)];
    this.inbox.local.in(members).socketsJoin(chatRoom(conversation.id));
    this.inbox.in(members).socketsJoin(chatRoom(conversation.id));
    this.inbox.to(members).emit('conversation:new', { conversation });
  }

  typing(conversationId: number, userId: number): void {
    this.inbox
      .to(chatRoom(conversationId))
      .except(userRoom(userId))
      .emit('typing', { conversation_id: conversationId, user_id: userId });
  }

  read(conversationId: number, userId: number, seq: number): void {
    this.inbox.to(chatRoom(conversationId)).emit('read', { conversation_id: conversationId, user_id: userId, seq });
  }

  delivered(conversationId: number, userId: number, seq: number): void {
    this.inbox.to(chatRoom(conversationId)).emit('delivered', { conversation_id: conversationId, user_id: userId, seq });
  }

  /**
   * A presence change to the `user_<id>` rooms of the user's peers: one publish whatever their
   * number (the adapter carries the room list), so the cost grows with the peers only.
   */
  presence(peerIds: readonly number[], payload: PresencePayload): void {
    if (peerIds.length === 0) return;
    this.inbox.to(peerIds.map(userRoom)).emit('presence', payload);
  }

  /** A job change the hub stored itself (a cancel); workers publish theirs through the Redis emitter. */
  jobStatus(job: JobDto): void {
    this.inbox.to(jobRoom(job.job_id)).emit('job:status', job);
  }

  /** Output stored from a hub (workers publish theirs through the Redis emitter). */
  jobOutput(jobId: string, chunks: OutputChunkDto[]): void {
    this.inbox.to(jobRoom(jobId)).emit('job:output', { job_id: jobId, chunks });
  }

  /** A notice stored with a job's end (a cancel stored by this hub), to the owner's sockets everywhere. */
  noticeNew(userId: number, notice: NoticeDto): void {
    this.inbox.to(userRoom(userId)).emit('notice:new', { notice });
  }

  /** The jobs this pod's own sockets watch: the `job_<id>` rooms its adapter holds. */
  jobsWatchedHere(): string[] {
    const ids: string[] = [];
    for (const room of this.inbox.adapter.rooms.keys()) {
      const id = jobIdOfRoom(room);
      if (id !== null) ids.push(id);
    }
    return ids;
  }

  /** A job's snapshot to this pod's watchers only (see src/realtime/job-resend.ts). */
  jobStatusHere(job: JobDto): void {
    this.inbox.local.to(jobRoom(job.job_id)).emit('job:status', job);
  }

  /** Logout: every socket opened with the session, on every pod, in every namespace. */
  async disconnectSession(sessionId: number): Promise<void> {
    this.inbox.in(sessionRoom(sessionId)).disconnectSockets(true);
    this.inbox.serverSideEmit('session:revoked', sessionId);
    this.disconnectLegacyLocally(sessionId);
  }

  /** Legacy namespaces exist only on pods where such a client connected; each pod serves its own. */
  private deliverLegacyLocally(message: MessageDto): void {
    allNamespaces(this.io).get(legacyNamespace(message.conversation_id))?.local.emit('message', message);
  }

  private disconnectLegacyLocally(sessionId: number): void {
    for (const [name, nsp] of allNamespaces(this.io)) {
      if (name !== INBOX_NAMESPACE) nsp.local.in(sessionRoom(sessionId)).disconnectSockets(true);
    }
  }
}
