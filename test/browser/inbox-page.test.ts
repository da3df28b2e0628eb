import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../helpers/app.js';
import { api, newUser } from '../helpers/http.js';
import { clientFor } from '../client/client-helpers.js';
import {
  launchChromium,
  registerIn,
  screenshot,
  sendMessage,
  shownMessages,
  startConversation,
  startHubForBrowser,
  type PageUser,
} from './browser-helpers.js';

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

/** One browser context per user: separate cookie jars, as two people on two machines. */
async function person(name: string): Promise<{ page: Page; context: BrowserContext; user: PageUser }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${name} page error]`, err));
  const user = await registerIn(page, hub.url, name);
  return { page, context, user };
}

/** Ann starts a conversation with Bob; both end up with it open. */
async function chatting() {
  const ann = await person('Ann');
  const bob = await person('Bob');
  await startConversation(ann.page, bob.user.email);
  await expect.poll(() => ann.page.locator('#chat-title').textContent()).toBe('Bob');
  const item = bob.page.locator('#conversation-list .conversation', { hasText: 'Ann' });
  await item.waitFor();
  await item.locator('button').click();
  await expect.poll(() => bob.page.locator('#chat-title').textContent()).toBe('Ann');
  return { ann, bob };
}

describe('the demo inbox page', { timeout: 60_000 }, () => {
  it('is served at / by the hub', async () => {
    const res = await fetch(`${hub.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<script type="module" src="/app.js">');
    expect((await fetch(`${hub.url}/app.js`)).status).toBe(200);
    const icon = await fetch(`${hub.url}/favicon.svg`);
    expect([icon.status, icon.headers.get('content-type')]).toEqual([200, 'image/svg+xml']);
    expect(await icon.text()).toMatch(/^<svg /);
  });

  it('two users chat live: messages both ways, typing, read receipt', async () => {
    const { ann, bob } = await chatting();
    await sendMessage(ann.page, 'Hello Bob');
    await sendMessage(ann.page, 'Are you there?');
    await expect.poll(() => shownMessages(bob.page)).toEqual(['Hello Bob', 'Are you there?']);

    await bob.page.locator('#message-form [name=message]').pressSequentially('Hi');
    await expect.poll(() => ann.page.locator('#typing-indicator').textContent()).toBe('Bob is typing…');
    await bob.page.locator('#message-form [name=message]').fill('Hi Ann!');
    await bob.page.locator('#message-form [name=message]').press('Enter');
    await expect.poll(() => shownMessages(ann.page)).toEqual(['Hello Bob', 'Are you there?', 'Hi Ann!']);
    // "Seen" once, under the last of Ann's messages Bob has read; both read, so both ticks say so.
    await expect.poll(() => ann.page.locator('.message.mine .seen').allTextContents()).toEqual(['Seen']);
    expect(await ann.page.locator('.message.mine:has(.seen) .text').textContent()).toBe('Are you there?');
    expect(await ann.page.locator('.message.mine .delivery').evaluateAll((els: any[]) => els.map((e: any) => e.getAttribute('data-status')))).toEqual(['read', 'read']);
    await expect.poll(() => shownMessages(bob.page)).toEqual(['Hello Bob', 'Are you there?', 'Hi Ann!']);
    await screenshot(ann.page, 'chat-ann');
    await screenshot(bob.page, 'chat-bob');

    // After a reload the marker is still there, once (Bob's messages never carry it).
    await ann.page.reload();
    await expect.poll(() => shownMessages(ann.page)).toEqual(['Hello Bob', 'Are you there?', 'Hi Ann!']);
    await expect.poll(() => ann.page.locator('.message .seen').allTextContents()).toEqual(['Seen']);
    expect(await ann.page.locator('.message.mine:has(.seen) .text').textContent()).toBe('Are you there?');
  });

  it('says in plain words why a conversation cannot be started or a login fails', async () => {
    const ann = await person('Ann');
    const error = ann.page.locator('#new-conversation-error');
    await startConversation(ann.page, ann.user.email);
    await expect.poll(() => error.textContent()).toBe('That’s your own email. Enter the email of the person you want to talk to.');
    await startConversation(ann.page, `nobody-${Date.now()}@example.test`);
    await expect.poll(() => error.textContent()).toBe('Nobody has an account with that email yet. Check the address, or ask them to sign up first.');
    expect(await ann.page.locator('#conversation-list .conversation').count()).toBe(0);

    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(hub.url);
    await page.locator('#login-form input[name=email]').fill(ann.user.email);
    await page.locator('#login-form input[name=password]').fill('not the password');
    await page.locator('#login-form button[type=submit]').click();
    await expect.poll(() => page.locator('#auth-error').textContent()).toBe('That email and password don’t match an account. Check them and try again.');
    await page.locator('#tab-register').click();
    await page.locator('#register-form input[name=name]').fill('Ann again');
    await page.locator('#register-form input[name=email]').fill(ann.user.email);
    await page.locator('#register-form input[name=password]').fill('correct horse battery');
    await page.locator('#register-form button[type=submit]').click();
    await expect.poll(() => page.locator('#auth-error').textContent()).toBe('An account with this email already exists. Log in instead.');
  });

  it('counts unread messages and shows the last one for a conversation that is not open', async () => {
    const { bob } = await chatting();
    const carol = await newUser(hub.url, { name: 'Carol' });
    const opened = await api(hub.url, 'POST', '/api/conversations', {
      cookie: carol.cookie,
      body: { client_id: carol.user.id, worker_id: bob.user.id },
    });
    const conv = opened.body.conversation as { id: number };
    const carolClient = clientFor(hub.url, carol);
    try {
      await carolClient.ready();
      await carolClient.send(conv.id, 'first from Carol').sent;
      await carolClient.send(conv.id, 'second from Carol').sent;
    } finally {
      carolClient.close();
    }
    const item = bob.page.locator('#conversation-list .conversation', { hasText: 'Carol' });
    await expect.poll(() => item.locator('.unread').textContent()).toBe('2');
    await expect.poll(() => item.locator('.preview').textContent()).toBe('second from Carol');
    await screenshot(bob.page, 'unread-bob');
    await item.locator('button').click();
    await expect.poll(() => shownMessages(bob.page)).toEqual(['first from Carol', 'second from Carol']);
    await expect.poll(() => item.locator('.unread').count()).toBe(0);
  });

  it('shows "reconnecting" while offline and catches up with what was missed once back', async () => {
    const { ann, bob } = await chatting();
    await sendMessage(ann.page, 'before the drop');
    await expect.poll(() => shownMessages(bob.page)).toEqual(['before the drop']);

    await bob.context.setOffline(true);
    await expect.poll(() => bob.page.locator('#banner').textContent()).toContain('Reconnecting');
    await sendMessage(ann.page, 'while you were away 1');
    await sendMessage(ann.page, 'while you were away 2');
    await expect.poll(() => shownMessages(ann.page)).toHaveLength(3);
    expect(await shownMessages(bob.page)).toEqual(['before the drop']);
    await screenshot(bob.page, 'offline-bob');

    await bob.context.setOffline(false);
    await expect.poll(() => shownMessages(bob.page)).toEqual(['before the drop', 'while you were away 1', 'while you were away 2']);
    await bob.page.locator('#banner').waitFor({ state: 'hidden' });
    await screenshot(bob.page, 'back-online-bob');
  });
});
