import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../helpers/app.js';
import { api, newUser, type TestUser } from '../helpers/http.js';
import { launchChromium, registerIn, screenshot, sendMessage, shownMessages, startConversation, startHubForBrowser } from './browser-helpers.js';

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
async function annChattingWithBob(): Promise<{ page: Page; context: BrowserContext; bob: TestUser }> {
  const bob = await newUser(hub.url, { name: 'Bob' });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('[page error]', err));
  await registerIn(page, hub.url, 'Ann');
  await startConversation(page, bob.email);
  await eventually(() => page.locator('#chat-title').textContent()).toBe('Bob');
  return { page, context, bob };
}

async function openChatWithBob(page: Page): Promise<void> {
  await page.locator('#conversation-list .conversation', { hasText: 'Bob' }).locator('button').click();
  await eventually(() => page.locator('#chat-title').textContent()).toBe('Bob');
}

/** Polls with room for a loaded machine (a reload of the page under CI load takes seconds). */
function eventually<T>(read: () => T | Promise<T>, timeout = 10_000): ReturnType<typeof expect.poll<T>> {
  return expect.poll(read, { timeout });
}

const pendingTexts = (page: Page) => page.locator('#message-list .message.pending .text').allTextContents();

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
