import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, JobDto, MessageDto } from '../realtime/protocol.js';
import { TypedEmitter } from './emitter.js';
import { JobWatches, type JobListener } from './job-watches.js';
import { MessageSequencer } from './sequencer.js';
import {
  InboxClientError,
  type ConnectionStatus,
  type InboxClientEvents,
  type InboxClientOptions,
  type InboxSocket,
  type JobWatch,
  type ReadyInfo,
  type SendOptions,
} from './types.js';

export * from './types.js';

type RequestEvent = keyof ClientToServerEvents;
type PayloadOf<E extends RequestEvent> = Parameters<ClientToServerEvents[E]>[0];
type AckOf<E extends RequestEvent> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0];
type SuccessOf<E extends RequestEvent> = Extract<AckOf<E>, { ok: true }>;
type SyncScope = Set<number> | 'all';

/** The hub refuses more cursors than this in one `sync`; larger inboxes go in chunks. */
const CURSORS_PER_SYNC = 500;

/**
 * One `/inbox` connection that hides the transport's gaps from the app: every message is
 * handed on once, in `seq` order per conversation, catching up with `sync` after each
 * (re)connection and whenever a `seq` is skipped. Create it with `createInboxClient`.
 */
export class InboxClient extends TypedEmitter<InboxClientEvents> {
  /** The underlying socket, for diagnostics; sending through it bypasses the ordering. */
  readonly socket: InboxSocket;
  private readonly sequencer = new MessageSequencer();
  private readonly jobs = new JobWatches();
  private readonly ackTimeoutMs: number;
  private readonly syncLimit: number;
  private readonly syncRetryMs: number;
  private current: ConnectionStatus = 'connecting';
  private info: ReadyInfo | null = null;
  private syncQueue: SyncScope | null = null;
  private syncing = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private restarting = false;

  constructor(url: string, options: InboxClientOptions = {}) {
    super();
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.syncLimit = options.syncLimit ?? 100;
    this.syncRetryMs = options.syncRetryMs ?? 2000;
    for (const [id, seq] of Object.entries(options.cursors ?? {})) this.sequencer.track(Number(id), seq);
    this.socket = io(`${url.replace(/\/+$/, '')}/inbox`, {
      forceNew: true,
      withCredentials: true,
      ...(options.extraHeaders && { extraHeaders: options.extraHeaders }),
      ...(options.transports && { transports: options.transports }),
      reconnectionDelay: options.reconnectionDelay ?? 500,
      reconnectionDelayMax: options.reconnectionDelayMax ?? 5000,
    });
    this.listen();
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  /** The signed-in user, once the hub has accepted the connection. */
  get user(): ReadyInfo['user'] | null {
    return this.info?.user ?? null;
  }

  /** The last `seq` handed to the app in a conversation (0 before any). */
  lastSeq(conversationId: number): number {
    return this.sequencer.lastSeq(conversationId);
  }

  /** Resolves once connected and accepted; rejects if the client closes first. */
  ready(): Promise<ReadyInfo> {
    if (this.info) return Promise.resolve(this.info);
    if (this.current === 'closed') return Promise.reject(new InboxClientError('connect', 'the client is closed'));
    return new Promise((resolve, reject) => {
      const offReady = this.on('ready', (info) => {
        offStatus();
        offReady();
        resolve(info);
      });
      const offStatus = this.on('status', (status) => {
        if (status !== 'closed') return;
        offStatus();
        offReady();
        reject(new InboxClientError('connect', 'the client closed before the hub accepted it'));
      });
    });
  }

  /** Resolves with the stored message; it is also delivered as a `message` event, once. */
  async send(conversationId: number, text: string, options: SendOptions = {}): Promise<MessageDto> {
    const { message } = await this.request('message', {
      conversation_id: conversationId,
      message: text,
      type: options.type ?? 'TEXT',
      client_msg_id: options.clientMsgId ?? newClientMsgId(),
    });
    this.accept(message);
    return message;
  }

  async typing(conversationId: number): Promise<void> {
    await this.request('typing', { conversation_id: conversationId });
  }

  async markRead(conversationId: number, seq: number): Promise<void> {
    await this.request('read', { conversation_id: conversationId, seq });
  }

  /** Asks the hub for everything missed in every tracked conversation. */
  sync(): void {
    this.requestSync('all');
  }

  /**
   * Calls `onStatus` with the job's current state, then after every change, each `seq`
   * once, across reconnections (the job is watched again on every new connection).
   */
  async watchJob(jobId: string, onStatus: (job: JobDto) => void): Promise<JobWatch> {
    let delivered = false;
    const listener: JobListener = (job) => {
      delivered = true;
      onStatus(job);
    };
    this.jobs.add(jobId, listener);
    try {
      await this.ready();
      const job = await this.watchRemote(jobId);
      const latest = this.jobs.latest(jobId);
      if (!delivered && latest) listener(latest);
      return { job, unwatch: () => this.unwatchJob(jobId, listener) };
    } catch (err) {
      this.jobs.remove(jobId, listener);
      throw err;
    }
  }

  /**
   * Drops the transport and connects again now, skipping the backoff. For when the app
   * knows the network changed (a browser's `online`/`offline` events): a dead connection
   * would otherwise be noticed only by the heartbeat, tens of seconds later.
   */
  reconnect(): void {
    if (this.current === 'closed') return;
    this.restarting = true;
    this.socket.disconnect();
    this.restarting = false;
    this.socket.connect();
  }

  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.socket.close();
    this.setStatus('closed');
    this.removeAllListeners();
  }

  private listen(): void {
    const s = this.socket;
    s.on('ready', (info) => this.onReady(info));
    s.on('message', (message) => this.accept(message));
    s.on('conversation:new', ({ conversation }) => {
      this.sequencer.track(conversation.id);
      this.emit('conversation', conversation);
    });
    s.on('typing', (event) => this.emit('typing', event));
    s.on('read', (event) => this.emit('read', event));
    s.on('job:status', (job) => void this.jobs.offer(job));
    s.on('disconnect', () => {
      this.info = null;
      this.setStatus(s.active || this.restarting ? 'reconnecting' : 'closed');
    });
    s.on('connect_error', (err) => {
      this.emit('error', new InboxClientError('connect', err.message));
      if (!s.active) this.setStatus('closed');
    });
  }

  private onReady(info: ReadyInfo): void {
    this.info = info;
    for (const id of info.conversation_ids) this.sequencer.track(id);
    this.setStatus('syncing');
    this.emit('ready', info);
    for (const jobId of this.jobs.establishedIds()) {
      this.watchRemote(jobId).catch((err: unknown) => this.emit('error', asClientError(err)));
    }
    this.requestSync('all');
  }

  private async watchRemote(jobId: string): Promise<JobDto> {
    const { job } = await this.request('job:watch', { job_id: jobId });
    this.jobs.markEstablished(jobId);
    this.jobs.offer(job);
    return job;
  }

  private async unwatchJob(jobId: string, listener: JobListener): Promise<void> {
    if (!this.jobs.remove(jobId, listener) || !this.info) return;
    // The watch is already gone on this side; a failed unwatch only costs stray events.
    await this.request('job:unwatch', { job_id: jobId }).catch(() => undefined);
  }

  private accept(message: MessageDto): void {
    const { deliver, gap } = this.sequencer.accept(message);
    for (const m of deliver) this.emit('message', m);
    if (gap) this.requestSync(new Set([message.conversation_id]));
  }

  private requestSync(scope: SyncScope): void {
    const queued = this.syncQueue;
    if (scope === 'all' || queued === 'all') this.syncQueue = 'all';
    else this.syncQueue = new Set([...(queued ?? []), ...scope]);
    if (!this.syncing && this.info) void this.drainSyncs();
  }

  /** One catch-up at a time; requests made meanwhile are merged and run after it. */
  private async drainSyncs(): Promise<void> {
    this.syncing = true;
    while (this.syncQueue && this.info) {
      const scope = this.syncQueue;
      this.syncQueue = null;
      try {
        await this.syncConversations(scope === 'all' ? this.sequencer.conversationIds() : [...scope]);
      } catch (err) {
        this.requestSyncLater(scope);
        this.emit('error', asClientError(err));
        break;
      }
    }
    this.syncing = false;
    if (this.current === 'syncing' && this.info && !this.syncQueue) this.setStatus('live');
  }

  private async syncConversations(ids: number[]): Promise<void> {
    for (let i = 0; i < Math.max(ids.length, 1); i += CURSORS_PER_SYNC) {
      const chunk = ids.slice(i, i + CURSORS_PER_SYNC);
      let page;
      do {
        page = await this.request('sync', { cursors: this.sequencer.cursors(chunk), limit: this.syncLimit });
        for (const m of page.messages) this.accept(m);
        this.discover(page.conversation_ids);
      } while (page.has_more && page.messages.length > 0);
    }
  }

  /** Conversations joined while this client was away are followed from their first message. */
  private discover(conversationIds: number[]): void {
    const unknown = conversationIds.filter((id) => !this.sequencer.isTracked(id));
    for (const id of unknown) this.sequencer.track(id);
    if (unknown.length > 0) this.requestSync(new Set(unknown));
  }

  private requestSyncLater(scope: SyncScope): void {
    const queued = this.syncQueue;
    this.syncQueue = scope === 'all' || queued === 'all' ? 'all' : new Set([...(queued ?? []), ...scope]);
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.syncQueue && !this.syncing && this.info) void this.drainSyncs();
    }, this.syncRetryMs);
  }

  private async request<E extends RequestEvent>(event: E, payload: PayloadOf<E>): Promise<SuccessOf<E>> {
    let ack: AckOf<E>;
    try {
      ack = await (this.socket as unknown as Socket).timeout(this.ackTimeoutMs).emitWithAck(event, payload);
    } catch {
      throw new InboxClientError('timeout', `${event}: no acknowledgement within ${this.ackTimeoutMs} ms`);
    }
    if (!ack.ok) throw new InboxClientError(ack.error.code, ack.error.message);
    return ack as SuccessOf<E>;
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.emit('status', status);
  }
}

/** Connects to the hub's `/inbox` namespace; `url` is the hub's base URL (`''` for the page's own origin). */
export function createInboxClient(url: string, options: InboxClientOptions = {}): InboxClient {
  return new InboxClient(url, options);
}

function asClientError(err: unknown): InboxClientError {
  return err instanceof InboxClientError ? err : new InboxClientError('timeout', String((err as Error)?.message ?? err));
}

/** `crypto.getRandomValues` works on plain-http origins too, where `randomUUID` does not exist. */
function newClientMsgId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
}
