/**
 * The inbox hub's client: one `/inbox` connection with messages in order and once, an
 * outbox that survives reloads, live jobs, and a store any view layer can subscribe to.
 * React bindings are in `@inbox-hub/client/react`.
 */
export { createInboxClient, InboxClient } from './inbox-client.js';
export {
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
export { defaultStorage, indexedDbStorage, localStorageStorage, memoryStorage, type OutboxStorage, type OutgoingMessage, type SendErrorCode } from './storage.js';
export { HubHttp, login, type Credentials, type HistoryPage } from './http.js';
export { InboxStore, inboxStore, type DeliveryStatus, type InboxSnapshot } from './store.js';
export { ConversationView, type ConversationSnapshot } from './conversation-view.js';
export { JobView, type JobSnapshot } from './job-view.js';
export type * from './types.js';
export type * from './protocol.js';
