import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../helpers/app.js';
import { api, newUser, type TestUser } from '../helpers/http.js';
import {
  launchChromium,
  registerIn,
  screenshot,
  sendMessage,
  seriousA11yViolations,
  shownMessages,
  SIZES,
  startConversation,
  startHubForBrowser,
  type Size,
} from './browser-helpers.js';

/**
 * The client's outbox in real Chromium, through the demo page (which uses the package):
 * IndexedDB keeps what was sent while the hub was out of reach, across a reload, and the
 * hub's deduplication by `client_msg_id` keeps a re-send from showing or storing twice.
 */
let hub: RunningApp;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  hub = await startHubForBrowser();
  browser = await launchChromium();
});
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});
afterAll(async () => {
  await browser?.close();
  await hub?.close();
});

/** Ann, signed in on the demo page in a context of her own, chatting with a Bob made over HTTP. */
async function annChattingWithBob(size: Size = SIZES[0]): Promise<{ page: Page; context: BrowserContext; bob: TestUser }> {
  const bob = await newUser(hub.url, { name: 'Bob' });
  const context = await browser.newContext({ viewport: { width: size.width, height: size.height } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('[page error]', err));
  await registerIn(page, hub.url, 'Ann');
  await startConversation(page, bob.email);
  await eventually(() => page.locator('#chat-title').textContent()).toBe('Bob');
  return { page, context, bob };
}

/** After a reload the page reopens the conversation in its address by itself; else it is clicked. */
async function openChatWithBob(page: Page): Promise<void> {
  const item = page.locator('#conversation-list .conversation', { hasText: 'Bob' }).locator('button');
  const open = async () => (await page.locator('#chat-head').isVisible()) && (await page.locator('#chat-title').textContent()) === 'Bob';
  await eventually(async () => (await open()) || (await item.isVisible())).toBe(true);
  if (!(await open())) await item.click();
  await eventually(() => page.locator('#chat-title').textContent()).toBe('Bob');
}

/** Polls with room for a loaded machine (a reload of the page under CI load takes seconds). */
function eventually<T>(read: () => T | Promise<T>, timeout = 10_000): ReturnType<typeof expect.poll<T>> {
  return expect.poll(read, { timeout });
}

const pendingTexts = (page: Page) => page.locator('#message-list .message.pending .text').allTextContents();
const failedTexts = (page: Page) => page.locator('#message-list .message.failed .text').allTextContents();
/** Each stored own message's tick state, in order. */
const deliveries = (page: Page) =>
  page.locator('#message-list .message.mine[data-seq] .delivery').evaluateAll((els: any[]) => els.map((e: any) => e.getAttribute('data-status')));

/** What the hub stored in Bob's only conversation, as texts. */
async function storedTexts(bob: TestUser): Promise<string[]> {
  const { body } = await api(hub.url, 'GET', '/api/conversations', { cookie: bob.cookie });
  const history = await api(hub.url, 'GET', `/api/conversations/${body.conversations[0].id}/messages`, { cookie: bob.cookie });
  return history.body.messages.map((m: { message: string }) => m.message);
}

describe('the outbox in Chromium', { timeout: 90_000 }, () => {
  it('a message sent offline survives a reload and, back online, is stored once and shown once', async () => {
    const { page, context, bob } = await annChattingWithBob();
    // Offline for the socket only: the page itself still loads, so it can be reloaded.
    let online = false;
    await context.route('**/socket.io/**', (route) => (online ? route.continue() : route.abort()));
    await context.routeWebSocket(/\/socket\.io\//, (ws) => (online ? ws.connectToServer() : ws.close()));
    await context.setOffline(true); // the page drops its live connection on the browser's `offline` event
    await eventually(() => page.locator('#banner').getAttribute('data-status')).toBe('reconnecting');

    await sendMessage(page, 'written offline');
    await eventually(() => pendingTexts(page)).toEqual(['written offline']);
    await context.setOffline(false);

    await page.reload();
    await openChatWithBob(page);
    await eventually(() => pendingTexts(page)).toEqual(['written offline']);
    expect(await shownMessages(page)).toEqual(['written offline']);
    expect(await storedTexts(bob)).toEqual([]);
    await screenshot(page, 'outbox-pending-after-reload');

    online = true;
    await eventually(() => pendingTexts(page), 20_000).toEqual([]);
    expect(await shownMessages(page)).toEqual(['written offline']);
    expect(await storedTexts(bob)).toEqual(['written offline']);

    // Nothing is left in the outbox to be sent or shown again.
    await page.reload();
    await openChatWithBob(page);
    await eventually(() => shownMessages(page)).toEqual(['written offline']);
    expect(await pendingTexts(page)).toEqual([]);
    expect(await storedTexts(bob)).toEqual(['written offline']);
  });

  it('a send whose ack never comes is sent again after the timeout: stored once, shown once', async () => {
    const { page, context, bob } = await annChattingWithBob();
    // The first `message` request reaches the hub, but its ack and broadcast are lost on the way back.
    let upgraded = false;
    const sends: string[] = [];
    let lost: string | null = null;
    await context.routeWebSocket(/\/socket\.io\//, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((frame) => {
        if (frame === '5') upgraded = true;
        const send = typeof frame === 'string' ? /^42\/inbox,(\d+)\["message",.*"once please"/.exec(frame) : null;
        if (send) {
          sends.push(frame as string);
          lost ??= send[1]!;
        }
        server.send(frame);
      });
      server.onMessage((frame) => {
        const text = typeof frame === 'string' ? frame : '';
        const isLostAck = lost !== null && text.startsWith(`43/inbox,${lost}[`);
        const isBroadcast = text.startsWith('42/inbox,["message",') && text.includes('"once please"');
        if (isLostAck || (isBroadcast && sends.length === 1)) return;
        ws.send(frame);
      });
    });
    await page.reload();
    await openChatWithBob(page);
    await eventually(() => upgraded).toBe(true);

    await sendMessage(page, 'once please');
    await eventually(() => pendingTexts(page)).toEqual(['once please']);
    await eventually(() => storedTexts(bob)).toEqual(['once please']);
    // The page's client waits 10 s for an ack, then sends the same client_msg_id again.
    await eventually(() => pendingTexts(page), 30_000).toEqual([]);
    expect(sends).toHaveLength(2);
    const ids = sends.map((f) => /"client_msg_id":"([^"]+)"/.exec(f)?.[1]);
    expect(ids[0]).toEqual(ids[1]);
    expect(await shownMessages(page)).toEqual(['once please']);
    expect(await storedTexts(bob)).toEqual(['once please']);
  });
});

describe.each(SIZES)('pending and failed messages at $width×$height', { timeout: 90_000 }, (size) => {
  it('a message sent offline shows as pending, then as sent (✓) once back, stored once', async () => {
    const { page, context, bob } = await annChattingWithBob(size);
    let online = false;
    await context.route('**/socket.io/**', (route) => (online ? route.continue() : route.abort()));
    await context.routeWebSocket(/\/socket\.io\//, (ws) => (online ? ws.connectToServer() : ws.close()));
    await context.setOffline(true);
    await eventually(() => page.locator('#banner').getAttribute('data-status')).toBe('reconnecting');

    await sendMessage(page, 'on the train');
    await eventually(() => pendingTexts(page)).toEqual(['on the train']);
    expect(await page.locator('#message-list .message.pending .delivery').textContent()).toContain('Sending…');
    expect(await deliveries(page)).toEqual([]);
    expect(await storedTexts(bob)).toEqual([]);
    await screenshot(page, `outbox-${size.name}-pending`);

    online = true;
    await context.setOffline(false);
    await eventually(() => pendingTexts(page), 20_000).toEqual([]);
    expect(await shownMessages(page)).toEqual(['on the train']);
    await eventually(() => deliveries(page)).toEqual(['sent']);
    expect(await storedTexts(bob)).toEqual(['on the train']);
  });

  it('a refused message shows as failed with Retry; Retry sends it, stored once and shown once', async () => {
    const { page, context, bob } = await annChattingWithBob(size);
    // The hub's first answer to this message is a refusal the outbox does not retry by itself.
    let upgraded = false;
    let refused = false;
    const sends: string[] = [];
    await context.routeWebSocket(/\/socket\.io\//, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((frame) => {
        if (frame === '5') upgraded = true;
        const send = typeof frame === 'string' ? /^42\/inbox,(\d+)\["message",.*"needs a retry"/.exec(frame) : null;
        if (send) sends.push(frame as string);
        if (send && !refused) {
          refused = true;
          return ws.send(`43/inbox,${send[1]}[{"ok":false,"error":{"code":"forbidden","message":"Not a member of that conversation"}}]`);
        }
        server.send(frame);
      });
      server.onMessage((frame) => ws.send(frame));
    });
    await page.reload();
    await openChatWithBob(page);
    await eventually(() => upgraded).toBe(true);

    await sendMessage(page, 'needs a retry');
    await eventually(() => failedTexts(page)).toEqual(['needs a retry']);
    const failed = page.locator('#message-list .message.failed');
    expect(await failed.locator('.failed-reason').textContent()).toBe('Not sent. You can’t send messages in this conversation any more.');
    expect(await storedTexts(bob)).toEqual([]);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, `outbox-${size.name}-failed`);

    await failed.locator('button.retry').click();
    await eventually(() => shownMessages(page)).toEqual(['needs a retry']);
    await eventually(() => deliveries(page)).toEqual(['sent']);
    expect(await failedTexts(page)).toEqual([]);
    expect(await pendingTexts(page)).toEqual([]);
    expect(sends).toHaveLength(2);
    expect(new Set(sends.map((f) => /"client_msg_id":"([^"]+)"/.exec(f)?.[1])).size).toBe(1);
    expect(await storedTexts(bob)).toEqual(['needs a retry']);
  });
});
