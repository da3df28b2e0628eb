import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../helpers/app.js';
import { api, newUser } from '../helpers/http.js';
import { connectInbox } from '../helpers/sockets.js';
import { launchChromium, registerIn, SIZES, startHubForBrowser } from './browser-helpers.js';

/**
 * The page's presence driven by the real hub (a short grace, 500 ms, via env): Bob's socket
 * connecting shows him online, his last socket gone shows "Last seen just now".
 */
let hub: RunningApp;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [hub, browser] = await Promise.all([startHubForBrowser({ PRESENCE_GRACE_MS: '500' }), launchChromium()]);
});
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});
afterAll(async () => {
  await browser?.close();
  await hub?.close();
});

const eventually = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000 });
const bobItem = (page: Page) => page.locator('#conversation-list .conversation', { hasText: 'Bob' });

describe.each(SIZES)('presence from the hub, at $width×$height', { timeout: 60_000 }, (size) => {
  it('a peer online in ready, then offline after the grace, then online again', async () => {
    const bob = await newUser(hub.url, { name: 'Bob' });
    const context = await browser.newContext({ viewport: { width: size.width, height: size.height } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('[page error]', err));
    const ann = await registerIn(page, hub.url, 'Ann');
    // Bob opens it (Ann the client, he the worker): either member may.
    const opened = await api(hub.url, 'POST', '/api/conversations', { cookie: bob.cookie, body: { client_id: ann.id, worker_id: bob.user.id } });
    expect(opened.status).toBe(201);
    // Bob online before Ann's page loads again: ready.online_user_ids carries him.
    const bobSocket = (await connectInbox(hub.url, bob.cookie)).socket;
    await page.reload();
    await bobItem(page).locator('button').click();
    await eventually(() => page.locator('#chat-title').textContent()).toBe('Bob');
    await eventually(() => page.locator('#chat-subtitle').textContent()).toBe('Worker · Online');
    if (size.name === 'wide') expect(await bobItem(page).locator('.presence-dot').count()).toBe(1);

    bobSocket.close();
    await eventually(() => page.locator('#chat-subtitle').textContent()).toBe('Worker · Last seen just now');
    expect(await page.locator('#chat-head .presence-dot').count()).toBe(0);

    const again = (await connectInbox(hub.url, bob.cookie)).socket;
    await eventually(() => page.locator('#chat-subtitle').textContent()).toBe('Worker · Online');
    again.close();
  });
});
