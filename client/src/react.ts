/**
 * React bindings: `<InboxProvider client={...}>` once near the root, then the hooks below
 * anywhere inside. Built on `useSyncExternalStore`; no other state library.
 */
import { createContext, createElement, useCallback, useContext, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import type { ConversationSnapshot } from './conversation-view.js';
import type { InboxClient } from './inbox-client.js';
import type { JobSnapshot } from './job-view.js';
import type { SendHandle, SendOptions } from './options.js';
import { inboxStore, type InboxSnapshot, type InboxStore } from './store.js';

const InboxContext = createContext<InboxStore | null>(null);

export interface InboxProviderProps {
  client: InboxClient;
  children?: ReactNode;
}

/** Makes the client's state available to the hooks below it. */
export function InboxProvider({ client, children }: InboxProviderProps): ReactNode {
  const store = useMemo(() => inboxStore(client), [client]);
  return createElement(InboxContext.Provider, { value: store }, children);
}

function useStore(): InboxStore {
  const store = useContext(InboxContext);
  if (!store) throw new Error('Inbox hooks must be used inside <InboxProvider>');
  return store;
}

export interface UseInbox extends InboxSnapshot {
  client: InboxClient;
  store: InboxStore;
}

/** Connection status, the user, conversations (most recent first), unread totals, online peers, outbox. */
export function useInbox(): UseInbox {
  const store = useStore();
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  return useMemo(() => ({ ...snapshot, client: store.client, store }), [snapshot, store]);
}

export interface UseConversation extends ConversationSnapshot {
  /** Puts a message in the outbox; it shows in `outgoing` until stored, then in `messages`. */
  send: (text: string, options?: SendOptions) => SendHandle;
  /** Tells the peer the user is typing. */
  typing: () => void;
  /** Loads the page of messages before the oldest loaded one. */
  loadOlder: () => Promise<void>;
}

/** One conversation: its messages in `seq` order, outbox entries, typing peers, older pages. */
export function useConversation(conversationId: number): UseConversation {
  const view = useStore().conversation(conversationId);
  const snapshot = useSyncExternalStore(view.subscribe, view.getSnapshot, view.getSnapshot);
  const send = useCallback((text: string, options?: SendOptions) => view.send(text, options), [view]);
  const typing = useCallback(() => void view.notifyTyping().catch(() => undefined), [view]);
  const loadOlder = useCallback(() => view.loadOlder(), [view]);
  return useMemo(() => ({ ...snapshot, send, typing, loadOlder }), [snapshot, send, typing, loadOlder]);
}

/** One job's state, progress and output lines, watched while the component is mounted. */
export function useJob(jobId: string): JobSnapshot {
  const view = useStore().job(jobId);
  return useSyncExternalStore(view.subscribe, view.getSnapshot, view.getSnapshot);
}
