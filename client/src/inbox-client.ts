import { io, type Socket } from 'socket.io-client';
import { DeliveredBatcher } from './delivered.js';
import { TypedEmitter } from './emitter.js';
import { HubHttp } from './http.js';
import { JobWatches, type JobListener } from './job-watches.js';
import {
  InboxClientError,
  type ConnectionStatus,
  type InboxClientEvents,
  type InboxClientOptions,
  type InboxSocket,
  type JobWatch,
  type JobWatchHandlers,
  type ReadyInfo,
  type SendHandle,
  type SendOptions,
} from './options.js';
import { isFinal, Outbox } from './outbox.js';
import type { ClientToServerEvents, ReadyPayload } from './protocol.js';
import { MessageSequencer } from './sequencer.js';
import { defaultStorage, type OutgoingMessage, type SendErrorCode } from './storage.js';
import type { Job, Message } from './types.js';

type RequestEvent = keyof ClientToServerEvents;
type PayloadOf<E extends RequestEvent> = Parameters<ClientToServerEvents[E]>[0];
type AckOf<E extends RequestEvent> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0];
type SuccessOf<E extends RequestEvent> = Extract<AckOf<E>, { ok: true }>;
type SyncScope = Set<number> | 'all';

/** The hub refuses more cursors than this in one `sync`; larger inboxes go in chunks. */
const CURSORS_PER_SYNC = 500;
const MAX_SEND_RETRY_MS = 30_000;

/**
 * One `/inbox` connection that hides the transport's gaps from the app: every message is
 * handed on once, in `seq` order per conversation, catching up with `sync` after each
 * (re)connection and whenever a `seq` is skipped; sent messages wait in an outbox until the
 * hub has them. Create it with `createInboxClient`.
 */
export class InboxClient extends TypedEmitter<InboxClientEvents> {
  /** The underlying socket, for diagnostics; sending through it bypasses the ordering. */
  readonly socket: InboxSocket;
  /** The hub's HTTP API with the same credentials, for what the socket does not carry. */
  readonly http: HubHttp;
  private readonly sequencer = new MessageSequencer();
  private readonly jobs = new JobWatches();
  private readonly outbox: Outbox;
  private readonly delivered: DeliveredBatcher;
  private readonly options: InboxClientOptions;
  private current: ConnectionStatus = 'connecting';
  private info: ReadyInfo | null = null;
  private me: number | null = null;
  private syncQueue: SyncScope | null = null;
  private syncing = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly sendTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly sendAttempts = new Map<string, number>();
  private readonly inFlight = new Set<string>();
  private restarting = false;
  /** Messages handed on before the first `ready` said who the user is: marked delivered once it has. */
  private unattributed: Message[] = [];

  constructor(url: string, options: InboxClientOptions = {}) {
    super();
    this.options = options;
    const base = url.replace(/\/+$/, '');
    for (const [id, seq] of Object.entries(options.cursors ?? {})) this.sequencer.track(Number(id), seq);
    this.http = new HubHttp(base, options.extraHeaders);
    this.outbox = new Outbox(
      options.storage ?? defaultStorage(),
      () => this.emit('outbox', this.outbox.list()),
      (err) => this.emit('error', new InboxClientError('unavailable', `outbox storage: ${String((err as Error)?.message ?? err)}`)),
    );
    this.delivered = new DeliveredBatcher(options.deliveredDelayMs ?? 500, (id, seq) => this.request('delivered', { conversation_id: id, seq }).then(() => undefined));
    this.socket = io(`${base}/inbox`, {
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

  /** What the last `ready` carried, while connected; null before it and after a disconnect. */
  get readyInfo(): ReadyInfo | null {
    return this.info;
  }

  /** The last `seq` handed to the app in a conversation (0 before any). */
  lastSeq(conversationId: number): number {
    return this.sequencer.lastSeq(conversationId);
  }

  /** Messages sent and not yet stored by the hub (pending or failed), oldest first. */
  pending(): OutgoingMessage[] {
    return this.outbox.list();
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

  /**
   * Puts a message in the outbox and returns at once. It is sent now if connected, else
   * after the next (re)connection or page load, and retried until the hub stores it or
   * refuses it for good; it reaches the app as a `message` event once, like any other.
   */
  send(conversationId: number, text: string, options: SendOptions = {}): SendHandle {
    const outgoing: OutgoingMessage = {
      client_msg_id: options.clientMsgId ?? newClientMsgId(),
      conversation_id: conversationId,
      user_id: this.me,
      message: text,
      type: options.type ?? 'TEXT',
      created_at: new Date().toISOString(),
      status: 'pending',
      error: null,
    };
    const max = this.options.maxMessageLength ?? 4000;
    if (characterCount(text) > max) {
      const error = { code: 'too_large' as const, message: `message is longer than ${max} characters` };
      return { outgoing: { ...outgoing, status: 'failed', error }, sent: rejected(error) };
    }
    const sent = new Promise<Message>((resolve, reject) => {
      this.outbox.add(outgoing, { resolve, reject: (e) => reject(new InboxClientError(e.code, e.message)) });
    });
    sent.catch(() => undefined); // the app may never await it; its failure is also in the outbox
    this.transmit(outgoing.client_msg_id);
    return { outgoing, sent };
  }

  /** Sends a failed message again, with the same `client_msg_id`. */
  retry(clientMsgId: string): void {
    this.outbox.update(clientMsgId, { status: 'pending', error: null });
    this.transmit(clientMsgId);
  }

  /** Drops a message from the outbox; if it was already stored it still arrives as a `message`. */
  discard(clientMsgId: string): void {
    this.cancelRetry(clientMsgId);
    this.outbox.discard(clientMsgId);
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
   * once, and `onOutput` with its output from the first chunk; across reconnections the job
   * is watched again and its output resumes where it stopped.
   */
  async watchJob(jobId: string, handlers: JobWatchHandlers | ((job: Job) => void)): Promise<JobWatch> {
    const { onStatus, onOutput } = typeof handlers === 'function' ? { onStatus: handlers, onOutput: undefined } : handlers;
    let given = false;
    const listener: JobListener = {
      status: (job) => {
        given = true;
        onStatus(job);
      },
      output: onOutput,
    };
    this.jobs.add(jobId, listener);
    try {
      await this.ready();
      const job = await this.watchRemote(jobId);
      const latest = this.jobs.latest(jobId);
      if (!given && latest) listener.status(latest);
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
    for (const id of [...this.sendTimers.keys()]) this.cancelRetry(id);
    this.delivered.cancel();
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
    s.on('delivered', (event) => this.emit('delivered', event));
    s.on('presence', (event) => this.emit('presence', event));
    s.on('notice:new', ({ notice }) => this.emit('notice', notice));
    s.on('resync', ({ conversation_ids }) => this.requestSync(new Set(conversation_ids)));
    s.on('job:status', (job) => void this.jobs.offer(job));
    s.on('job:output', ({ job_id, chunks }) => {
      if (!this.jobs.offerOutput(job_id, chunks)) this.rewatch(job_id);
    });
    s.on('disconnect', () => {
      this.info = null;
      this.delivered.cancel();
      this.setStatus(s.active || this.restarting ? 'reconnecting' : 'closed');
    });
    s.on('connect_error', (err) => {
      this.emit('error', new InboxClientError('connect', err.message));
      if (!s.active) this.setStatus('closed');
    });
  }

  private onReady(payload: ReadyPayload): void {
    // A hub that predates the snapshot sends only `user` and `conversation_ids`.
    const sent: Partial<ReadyPayload> = payload;
    const info: ReadyInfo = {
      ...payload,
      conversations: sent.conversations ?? [],
      online_user_ids: sent.online_user_ids ?? [],
      unread_notices: sent.unread_notices ?? 0,
    };
    this.info = info;
    this.me = info.user.id;
    for (const m of this.unattributed.splice(0)) this.markDelivered(m);
    for (const id of info.conversation_ids) this.sequencer.track(id);
    this.setStatus('syncing');
    this.emit('ready', info);
    for (const jobId of this.jobs.establishedIds()) this.rewatch(jobId);
    this.requestSync('all');
    void this.outbox.loaded.then(() => this.flushOutbox());
  }

  private flushOutbox(): void {
    if (!this.info || this.me === null) return;
    for (const m of this.outbox.pendingFor(this.me)) {
      if (m.user_id === null) this.outbox.update(m.client_msg_id, { user_id: this.me });
      this.cancelRetry(m.client_msg_id);
      this.transmit(m.client_msg_id);
    }
  }

  /** Sends one outbox entry unless it is already on its way or the client is not connected. */
  private transmit(clientMsgId: string): void {
    const m = this.outbox.get(clientMsgId);
    if (!m || m.status !== 'pending' || !this.info || this.inFlight.has(clientMsgId)) return;
    this.inFlight.add(clientMsgId);
    const payload = { conversation_id: m.conversation_id, message: m.message, type: m.type, client_msg_id: m.client_msg_id };
    this.request('message', payload).then(
      ({ message }) => {
        this.inFlight.delete(clientMsgId);
        this.sendAttempts.delete(clientMsgId);
        this.accept(message);
        this.outbox.settle(message);
      },
      (err: unknown) => {
        this.inFlight.delete(clientMsgId);
        this.sendFailed(clientMsgId, asClientError(err));
      },
    );
  }

  private sendFailed(clientMsgId: string, err: InboxClientError): void {
    const code: SendErrorCode = err.code === 'connect' ? 'unavailable' : err.code;
    if (isFinal(code)) return this.outbox.update(clientMsgId, { status: 'failed', error: { code, message: err.message } });
    const attempt = (this.sendAttempts.get(clientMsgId) ?? 0) + 1;
    this.sendAttempts.set(clientMsgId, attempt);
    const delay = Math.min(MAX_SEND_RETRY_MS, (this.options.sendRetryMs ?? 1000) * 2 ** (attempt - 1));
    this.cancelRetry(clientMsgId);
    this.sendTimers.set(
      clientMsgId,
      setTimeout(() => {
        this.sendTimers.delete(clientMsgId);
        this.transmit(clientMsgId);
      }, delay * (0.75 + Math.random() / 2)),
    );
  }

  private cancelRetry(clientMsgId: string): void {
    const timer = this.sendTimers.get(clientMsgId);
    if (timer) clearTimeout(timer);
    this.sendTimers.delete(clientMsgId);
  }

  private rewatch(jobId: string): void {
    this.watchRemote(jobId).catch((err: unknown) => this.emit('error', asClientError(err)));
  }

  /** Watches on the hub and takes the output since the last chunk handed on, page by page. */
  private async watchRemote(jobId: string): Promise<Job> {
    let ack;
    do {
      ack = await this.request('job:watch', { job_id: jobId, output_from: this.jobs.nextOffset(jobId) });
      this.jobs.markEstablished(jobId);
      this.jobs.offer(ack.job);
      // A hub without job output answers with the job alone.
      if (ack.output?.length) this.jobs.offerOutput(jobId, ack.output);
    } while (ack.output_has_more && ack.output?.length && this.jobs.has(jobId));
    return ack.job;
  }

  private async unwatchJob(jobId: string, listener: JobListener): Promise<void> {
    if (!this.jobs.remove(jobId, listener) || !this.info) return;
    // The watch is already gone on this side; a failed unwatch only costs stray events.
    await this.request('job:unwatch', { job_id: jobId }).catch(() => undefined);
  }

  private accept(message: Message): void {
    const { deliver, gap } = this.sequencer.accept(message);
    for (const m of deliver) {
      // The outbox lets go of its copy first, so the app never shows the message twice.
      this.outbox.settle(m);
      this.emit('message', m);
      this.markDelivered(m);
    }
    if (gap) this.requestSync(new Set([message.conversation_id]));
  }

  /**
   * The hub joins the socket's rooms before it reads the `ready` snapshot, so messages can come
   * first; on the first connection the user is not known yet, and their own messages must not
   * be marked (sending moves none of the sender's markers).
   */
  private markDelivered(m: Message): void {
    if (this.me === null) this.unattributed.push(m);
    else if (m.sender_id !== String(this.me)) this.delivered.mark(m.conversation_id, m.seq);
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
        page = await this.request('sync', { cursors: this.sequencer.cursors(chunk), limit: this.options.syncLimit ?? 100 });
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
    }, this.options.syncRetryMs ?? 2000);
  }

  private async request<E extends RequestEvent>(event: E, payload: PayloadOf<E>): Promise<SuccessOf<E>> {
    const timeoutMs = this.options.ackTimeoutMs ?? 10_000;
    let ack: AckOf<E>;
    try {
      ack = await (this.socket as unknown as Socket).timeout(timeoutMs).emitWithAck(event, payload);
    } catch {
      throw new InboxClientError('timeout', `${event}: no acknowledgement within ${timeoutMs} ms`);
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

function rejected(error: { code: SendErrorCode; message: string }): Promise<never> {
  const promise = Promise.reject(new InboxClientError(error.code, error.message));
  promise.catch(() => undefined);
  return promise;
}

/** Characters as the hub counts them: code points, not UTF-16 units. */
function characterCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** `crypto.getRandomValues` works on plain-http origins too, where `randomUUID` does not exist. */
function newClientMsgId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
}
