import { expect } from 'vitest';
import { createInboxClient, type InboxClient, type InboxClientEvents, type InboxClientOptions } from '@inbox-hub/client';
import type { MessageDto } from '../../src/realtime/protocol.js';
import type { TestUser } from '../helpers/http.js';

/** A Node client for `user`, with a fast reconnection so tests do not wait on backoff. */
export function clientFor(url: string, user: TestUser, options: InboxClientOptions = {}): InboxClient {
  return createInboxClient(url, {
    extraHeaders: { cookie: user.cookie },
    transports: ['websocket'],
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
    ...options,
  });
}

/** Resolves with the next event whose payload matches; rejects after `timeoutMs`. */
export function nextEvent<E extends keyof InboxClientEvents>(
  client: InboxClient,
  event: E,
  predicate: (...args: Parameters<InboxClientEvents[E]>) => boolean = () => true,
  timeoutMs = 5000,
): Promise<Parameters<InboxClientEvents[E]>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${String(event)}`));
    }, timeoutMs);
    const off = client.on(event, ((...args: Parameters<InboxClientEvents[E]>) => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      off();
      resolve(args);
    }) as InboxClientEvents[E]);
  });
}

/** Every message the app was handed, in order, with a way to wait until `count` arrived. */
export function messageLog(client: InboxClient) {
  const messages: MessageDto[] = [];
  client.on('message', (m) => messages.push(m));
  return {
    messages,
    seqs: (conversationId: number) => messages.filter((m) => m.conversation_id === conversationId).map((m) => m.seq),
    async until(count: number, timeoutMs = 5000): Promise<MessageDto[]> {
      if (messages.length >= count) return messages;
      await nextEvent(client, 'message', () => messages.length >= count, timeoutMs);
      return messages;
    },
  };
}

/** The payloads of one outgoing event, to prove the client asked the hub (e.g. `sync`). */
export function outgoing(client: InboxClient, event: string): unknown[] {
  const payloads: unknown[] = [];
  client.socket.onAnyOutgoing((name: string, payload: unknown) => {
    if (name === event) payloads.push(payload);
  });
  return payloads;
}

export async function statusReached(client: InboxClient, status: InboxClient['status'], timeoutMs = 5000): Promise<void> {
  if (client.status === status) return;
  await nextEvent(client, 'status', (s) => s === status, timeoutMs);
}

/**
 * `expect.poll` with room for a loaded machine: its default gives up after one second, which
 * a busy CI box can spend before a scripted hub's event is even delivered.
 */
export function eventually<T>(read: () => T | Promise<T>): ReturnType<typeof expect.poll<T>> {
  return expect.poll(read, { timeout: 10_000, interval: 20 });
}
