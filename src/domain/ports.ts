import type { QueuedJob } from '../queue/catalog.js';
import type { ConversationDto, JobDto, MessageDto, NoticeDto, OutputChunkDto } from '../schemas/objects.js';

/**
 * Where the services send what happened, once it is stored: ports the transports implement,
 * so a service decides what to publish and never knows how it travels. The hub's Broadcaster
 * (src/realtime/broadcaster.ts) implements every publisher here; a worker's Redis room emitter
 * (src/realtime/room-emitter.ts) implements JobStatusPublisher.
 */
export interface MessagePublisher {
  /** A stored message, to everyone in its conversation (the sender's own sockets included). */
  message(message: MessageDto): void;
}

export interface ConversationPublisher extends MessagePublisher {
  /** A new conversation: both members' live sockets join it, then are told. */
  conversationCreated(conversation: ConversationDto): void;
  /** Ephemeral: to the other member's sockets, never back to the typist's. */
  typing(conversationId: number, userId: number): void;
}

/** Markers that moved, as now stored, to the conversation's room. */
export interface MarkerPublisher {
  read(conversationId: number, userId: number, seq: number): void;
  /** The user's delivered marker (the highest over their sessions). */
  delivered(conversationId: number, userId: number, seq: number): void;
}

export interface SessionPublisher {
  /** A revoked session: every socket opened with it, everywhere, is disconnected. */
  disconnectSession(sessionId: number): Promise<void>;
}

export interface JobStatusPublisher {
  /** A job's stored snapshot, to whoever watches that job. */
  jobStatus(job: JobDto): void;
  /** A stored notice, to its user's live sockets (`user_<id>`). */
  noticeNew(userId: number, notice: NoticeDto): void;
  /** Stored output chunks of a job, in offset order, to whoever watches it. */
  jobOutput(jobId: string, chunks: OutputChunkDto[]): void;
}

/** Everything a hub publishes. */
export type HubPublisher = ConversationPublisher & MarkerPublisher & SessionPublisher & JobStatusPublisher;

/**
 * The job queue as the services use it; `bullJobQueue` (src/queue/queue.ts) fits BullMQ and
 * the cancel channel to it, with the catalog's retry and retention policy for each name.
 */
export interface JobQueue {
  enqueue(job: QueuedJob): Promise<void>;
  /** The queue's state of a job; `unknown` when the queue has no trace of it. */
  stateOf(jobId: string): Promise<string>;
  /** Removes a job that is not running; false when a worker holds it (active). */
  remove(jobId: string): Promise<boolean>;
  /** Asks the worker running the job to abort it; an attempt that starts later sees it too. */
  requestAbort(jobId: string): Promise<void>;
}

/**
 * Whether a user is reachable live: a socket on any pod, and when their last one went. Read
 * from the socket cap's leases today (src/realtime/user-presence.ts); presence may answer it later.
 */
export interface UserPresence {
  isOnline(userId: number): Promise<boolean>;
  /** ms since the epoch, or null when no pod saw the user's last socket go. */
  lastGoneAt(userId: number): Promise<number | null>;
}

/** Schedules the offline notification of one (user, conversation) in `delayMs`; a pair already scheduled stays as it is. */
export interface NotifyScheduler {
  schedule(userId: number, conversationId: number, delayMs: number): Promise<void>;
}
