/**
 * A frontend's view of the packed package: every runtime export and every type, compiled
 * strictly (no skipLibCheck) against the installed tarball by package.test.ts. It is
 * compiled, not run; a missing file, a broken export or a type that reaches server code fails.
 */
import {
  ConversationView,
  createInboxClient,
  defaultStorage,
  HubHttp,
  inboxStore,
  InboxClient,
  InboxClientError,
  InboxStore,
  indexedDbStorage,
  JobView,
  localStorageStorage,
  login,
  memoryStorage,
  type Ack,
  type AckCallback,
  type ClientToServerEvents,
  type ConnectionStatus,
  type Conversation,
  type ConversationSnapshot,
  type Credentials,
  type DeliveryStatus,
  type ErrorBody,
  type ErrorCode,
  type HistoryPage,
  type InboxClientEvents,
  type InboxClientOptions,
  type InboxSnapshot,
  type InboxSocket,
  type Job,
  type JobOutputEvent,
  type JobSnapshot,
  type JobState,
  type JobWatch,
  type JobWatchHandlers,
  type JobWatchPayload,
  type JobWatchResult,
  type MarkerEvent,
  type MarkerPayload,
  type Message,
  type MessageType,
  type Notice,
  type NoticeKind,
  type OutboxStorage,
  type OutgoingMessage,
  type OutputChunk,
  type Peer,
  type PresenceEvent,
  type ReadyInfo,
  type ReadyPayload,
  type SendErrorCode,
  type SendHandle,
  type SendMessagePayload,
  type SendOptions,
  type ServerToClientEvents,
  type SyncPayload,
  type SyncResult,
  type TypingEvent,
  type User,
} from '@inbox-hub/client';
import { InboxProvider, useConversation, useInbox, useJob, type InboxProviderProps, type UseConversation, type UseInbox } from '@inbox-hub/client/react';

export const runtime = [
  ConversationView,
  createInboxClient,
  defaultStorage,
  HubHttp,
  inboxStore,
  InboxClient,
  InboxClientError,
  InboxStore,
  indexedDbStorage,
  JobView,
  localStorageStorage,
  login,
  memoryStorage,
  InboxProvider,
  useConversation,
  useInbox,
  useJob,
] as const;

const peer: Peer = { id: 2, name: 'Bob', avatar_url: null };
const user: User = { id: 1, email: 'ann@example.test', name: 'Ann', avatar_url: null };
const type: MessageType = 'TEXT';
const message: Message = {
  id: 1, conversation_id: 4, seq: 1, sender_id: '1', sender_name: 'Ann', sender_avatar: null,
  message: 'hi', type, created_at: '2025-01-01T00:00:00Z', message_id: 1, client_msg_id: null,
};
const conversation: Conversation = {
  id: 4, client: { id: user.id, name: user.name, avatar_url: null }, worker: peer, created_at: message.created_at,
  last_message: message, unread_count: 0, last_seq: 1, read_seq: 1, peer_read_seq: 0, peer_delivered_seq: 1,
};
const state: JobState = 'active';
const job: Job = {
  job_id: '7', name: 'demo.steps', state, progress: 50, status_text: null, result: null, error: null,
  attempts_made: 0, created_at: message.created_at, updated_at: message.created_at, seq: 3,
};
const chunk: OutputChunk = { offset: 0, data: 'step 1\n' };
const kind: NoticeKind = 'job.completed';
const notice: Notice = { id: 1, kind, job_id: job.job_id, title: 'Export finished', created_at: message.created_at, read_at: null };
const code: ErrorCode = 'too_large';
const error: ErrorBody = { code, message: 'too long' };
const ready: ReadyPayload = { user, conversation_ids: [4], conversations: [conversation], online_user_ids: [2], unread_notices: 0 };
const info: ReadyInfo = ready;
const ack: Ack<{ message: Message }> = { ok: false, error };
const onAck: AckCallback = () => undefined;
const send: SendMessagePayload = { conversation_id: 4, message: 'hi', type, client_msg_id: 'abc' };
const sync: SyncPayload = { cursors: { 4: 1 }, limit: 10 };
const synced: SyncResult = { messages: [message], has_more: false, conversation_ids: [4] };
const marker: MarkerPayload = { conversation_id: 4, seq: 1 };
const markerEvent: MarkerEvent = { ...marker, user_id: 2 };
const typing: TypingEvent = { conversation_id: 4, user_id: 2 };
const presence: PresenceEvent = { user_id: 2, online: false, last_seen_at: message.created_at };
const watchPayload: JobWatchPayload = { job_id: job.job_id, output_from: 1 };
const watched: JobWatchResult = { job, output: [chunk], output_has_more: false };
const output: JobOutputEvent = { job_id: job.job_id, chunks: [chunk] };
const status: ConnectionStatus = 'live';
const delivery: DeliveryStatus = 'delivered';
const sendCode: SendErrorCode = 'timeout';
const credentials: Credentials = { email: user.email, password: 'secret-password' };
const page: HistoryPage = { messages: [message], has_more: false };
const sendOptions: SendOptions = { type: 'TEXT', clientMsgId: 'abc' };
const storage: OutboxStorage = memoryStorage();
const options: InboxClientOptions = { storage, cursors: { 4: 1 }, transports: ['websocket'], maxMessageLength: 4000 };
const handlers: JobWatchHandlers = { onStatus: (j: Job) => void j.seq, onOutput: (c: OutputChunk[]) => void c.length };
const listeners: Partial<InboxClientEvents> = { message: (m: Message) => void m.seq, notice: (n: Notice) => void n.id };
const outgoing: OutgoingMessage = { client_msg_id: 'abc', conversation_id: 4, user_id: 1, message: 'hi', type, created_at: message.created_at, status: 'pending', error: null };

export function shapes(client: InboxClient, store: InboxStore) {
  const socket: InboxSocket = client.socket;
  const inbox: InboxSnapshot = store.getSnapshot();
  const view: ConversationSnapshot = store.conversation(4).getSnapshot();
  const jobView: JobSnapshot = store.job('7').getSnapshot();
  const handle: SendHandle = client.send(4, 'hi', sendOptions);
  const watch: Promise<JobWatch> = client.watchJob('7', handlers);
  const up: (e: ClientToServerEvents['typing']) => void = () => undefined;
  const down: (e: ServerToClientEvents['presence']) => void = () => undefined;
  const props: InboxProviderProps = { client };
  const hooks: [() => UseInbox, (id: number) => UseConversation] = [useInbox, useConversation];
  return [socket, inbox, view, jobView, handle, watch, up, down, props, hooks] as const;
}

export const values = [
  notice, info, ack, onAck, send, sync, synced, markerEvent, typing, presence, watchPayload, watched, output,
  status, delivery, sendCode, credentials, page, options, listeners, outgoing, new InboxClientError('timeout', 'late'),
] as const;
