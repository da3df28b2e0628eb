import type { ErrorCode, MessageType } from './types.js';

/** Why a send failed: a contract error code, or `timeout` when no acknowledgement came. */
export type SendErrorCode = ErrorCode | 'timeout';

/** A message the user sent that the hub has not acknowledged yet, as the outbox keeps it. */
export interface OutgoingMessage {
  client_msg_id: string;
  conversation_id: number;
  /** The sender; null when sent before the first connection told the client who it is. */
  user_id: number | null;
  message: string;
  type: MessageType;
  /** When the user sent it, on this device's clock. */
  created_at: string;
  /** `pending` until acknowledged (retried meanwhile); `failed` after a final refusal. */
  status: 'pending' | 'failed';
  error: { code: SendErrorCode; message: string } | null;
}

/**
 * Where the outbox keeps unacknowledged messages so they outlive a page reload. Calls
 * are made one at a time, in order; a failing call is reported and the outbox carries on
 * in memory.
 */
export interface OutboxStorage {
  load(): Promise<OutgoingMessage[]>;
  save(message: OutgoingMessage): Promise<void>;
  remove(clientMsgId: string): Promise<void>;
}

/** Keeps nothing across restarts: the default where no browser storage exists (Node). */
export function memoryStorage(): OutboxStorage {
  const entries = new Map<string, OutgoingMessage>();
  return {
    load: async () => [...entries.values()],
    save: async (m) => void entries.set(m.client_msg_id, m),
    remove: async (id) => void entries.delete(id),
  };
}

/** The part of the Web Storage API used here, so the package's types need no DOM library. */
interface WebStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** One JSON array under `key` in `localStorage` (or any Web Storage object). */
export function localStorageStorage(key = 'inbox-hub:outbox', store?: WebStorage): OutboxStorage {
  const web = store ?? (globalThis as { localStorage?: WebStorage }).localStorage;
  if (!web) throw new Error('localStorage is not available here');
  const read = (): OutgoingMessage[] => {
    try {
      const parsed: unknown = JSON.parse(web.getItem(key) ?? '[]');
      return Array.isArray(parsed) ? (parsed as OutgoingMessage[]) : [];
    } catch {
      return [];
    }
  };
  const write = (entries: OutgoingMessage[]) => web.setItem(key, JSON.stringify(entries));
  return {
    load: async () => read(),
    save: async (m) => write([...read().filter((e) => e.client_msg_id !== m.client_msg_id), m]),
    remove: async (id) => write(read().filter((e) => e.client_msg_id !== id)),
  };
}

/** The parts of IndexedDB used here (typed locally for the same reason as WebStorage). */
interface IdbRequest<T = unknown> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface IdbDatabase {
  createObjectStore(name: string, options: { keyPath: string }): unknown;
  transaction(store: string, mode: 'readonly' | 'readwrite'): { objectStore(name: string): IdbStore };
  objectStoreNames: { contains(name: string): boolean };
}
interface IdbStore {
  getAll(): IdbRequest<OutgoingMessage[]>;
  put(value: OutgoingMessage): IdbRequest;
  delete(key: string): IdbRequest;
}
interface IdbFactory {
  open(name: string, version: number): IdbOpenRequest;
}

const STORE = 'outbox';

function settle<T>(request: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** One IndexedDB database named `name`, one record per message. */
export function indexedDbStorage(name = 'inbox-hub-outbox'): OutboxStorage {
  const factory = (globalThis as { indexedDB?: IdbFactory }).indexedDB;
  if (!factory) throw new Error('IndexedDB is not available here');
  let db: Promise<IdbDatabase> | null = null;
  const open = () => {
    const request = factory.open(name, 1);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE, { keyPath: 'client_msg_id' });
    };
    return settle(request);
  };
  const store = async (mode: 'readonly' | 'readwrite') => (await (db ??= open())).transaction(STORE, mode).objectStore(STORE);
  return {
    load: async () => settle((await store('readonly')).getAll()),
    save: async (m) => void (await settle((await store('readwrite')).put(m))),
    remove: async (id) => void (await settle((await store('readwrite')).delete(id))),
  };
}

/** IndexedDB where the runtime has it, else localStorage, else memory. */
export function defaultStorage(): OutboxStorage {
  const g = globalThis as { indexedDB?: unknown; localStorage?: unknown };
  if (g.indexedDB) return indexedDbStorage();
  if (g.localStorage) return localStorageStorage();
  return memoryStorage();
}
