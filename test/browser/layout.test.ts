import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InboxClient } from '@inbox-hub/client';
import type { RunningApp } from '../helpers/app.js';
import { newConversation, newUser, type TestUser } from '../helpers/http.js';
import { clientFor } from '../client/client-helpers.js';
import {
  horizontalOverflow,
  inViewport,
  launchChromium,
  registerIn,
  screenshot,
  seriousA11yViolations,
  SIZES,
  startHubForBrowser,
  type PageUser,
  type Size,
} from './browser-helpers.js';

/**
 * The page at a laptop's and a phone's size: nothing wider than the screen, the message list
 * its own scroll container with the composer always in view, older pages on scroll-up, the
 * phone's list -> conversation -> back navigation and jobs drawer, and axe-core's checks.
 */
let hub: RunningApp;
let browser: Browser;
const contexts: BrowserContext[] = [];
const clients: InboxClient[] = [];

beforeAll(async () => {
  [hub, browser] = await Promise.all([startHubForBrowser(), launchChromium()]);
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const c of contexts.splice(0)) await c.close();
});
afterAll(async () => {
  await browser?.close();
  await hub?.close();
});

/** Profile pictures live on other hosts; here one answers with a picture, any other address with 404. */
const AVATARS = 'https://avatars.example.test/';
const PICTURE = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><rect width="40" height="40" fill="#f4a261"/><circle cx="20" cy="16" r="7" fill="#264653"/><path d="M6 38c2-9 8-13 14-13s12 4 14 13z" fill="#264653"/></svg>';

async function signedIn(size: Size, name = 'Ann'): Promise<{ page: Page; user: PageUser }> {
  const context = await browser.newContext({ viewport: { width: size.width, height: size.height } });
  contexts.push(context);
  await context.route(`${AVATARS}**`, (route) =>
    route.request().url() === `${AVATARS}bob.svg` ? route.fulfill({ contentType: 'image/svg+xml', body: PICTURE }) : route.fulfill({ status: 404 }));
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${name} page error]`, err));
  const user = await registerIn(page, hub.url, name);
  return { page, user };
}

/** Bob (over the API) has written `count` numbered messages to the page's user. */
async function bobWrote(ann: PageUser, count: number): Promise<{ bob: TestUser; send: (text: string) => Promise<unknown>; conversationId: number }> {
  const bob = await newUser(hub.url, { name: 'Bob', avatar_url: `${AVATARS}bob.svg` });
  const conversation = (await newConversation(hub.url, bob, { user: { id: ann.id } } as TestUser)) as { id: number };
  const client = clientFor(hub.url, bob);
  clients.push(client);
  await client.ready();
  const send = (text: string) => client.send(conversation.id, text).sent;
  for (let i = 1; i <= count; i++) await send(`message ${i}`);
  return { bob, send, conversationId: conversation.id };
}

async function openBob(page: Page): Promise<void> {
  await page.locator('#conversation-list .conversation', { hasText: 'Bob' }).locator('button').click();
  await expect.poll(() => page.locator('#chat-title').textContent()).toBe('Bob');
}

const seqs = (page: Page) => page.locator('#message-list .message[data-seq]').evaluateAll((els: any[]) => els.map((e: any) => Number(e.getAttribute('data-seq'))));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const scrollerState = (page: Page) =>
  page.locator('#message-scroller').evaluate((s: any) => ({ top: Math.round(s.scrollTop), fromBottom: Math.round(s.scrollHeight - s.scrollTop - s.clientHeight), scrolls: s.scrollHeight > s.clientHeight }));
const isVisible = (page: Page, selector: string) => page.locator(selector).isVisible();
const bobItemId = (page: Page) => page.locator('#conversation-list .conversation', { hasText: 'Bob' }).getAttribute('data-conversation-id');

describe.each(SIZES)('the inbox page at $width×$height', { timeout: 90_000 }, (size) => {
  it('signed out and in an empty inbox: fits the screen, Log out in view, and axe finds nothing serious', async () => {
    const context = await browser.newContext({ viewport: { width: size.width, height: size.height } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(hub.url);
    await page.locator('#login-form').waitFor();
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, `layout-${size.name}-sign-in`);
    await page.close();

    const { page: inbox } = await signedIn(size);
    await inbox.locator('#conversations-empty').waitFor();
    expect(await horizontalOverflow(inbox)).toBeLessThanOrEqual(0);
    expect(await inViewport(inbox, '#logout')).toBe(true);
    expect(await inViewport(inbox, '#notices-button')).toBe(true);
    expect(await isVisible(inbox, '#jobs-pane')).toBe(size.name === 'wide');
    expect(await isVisible(inbox, '#chat-empty')).toBe(size.name === 'wide');
    expect(await seriousA11yViolations(inbox)).toEqual([]);
    await screenshot(inbox, `layout-${size.name}-empty`);
  });

  it('with 30 messages: the list scrolls inside its pane, the composer stays in view, at the bottom', async () => {
    const { page, user } = await signedIn(size);
    await bobWrote(user, 30);
    await openBob(page);
    await expect.poll(() => seqs(page)).toEqual(range(1, 30));
    expect(await inViewport(page, '#message-input')).toBe(true);
    expect(await inViewport(page, '#message-form button[type=submit]')).toBe(true);
    expect(await page.evaluate('document.documentElement.scrollHeight <= window.innerHeight')).toBe(true);
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await expect.poll(() => scrollerState(page)).toMatchObject({ fromBottom: 0, scrolls: true });
    expect(await inViewport(page, '#message-list .message[data-seq="30"] .bubble')).toBe(true);
    // Grouped: one header for Bob's burst within a minute, a date separator above it.
    expect(await page.locator('#message-list .day').allTextContents()).toEqual(['Today']);
    // 30 sends take well under a minute, so one group, or two when they straddle a minute's turn.
    expect(await page.locator('#message-list .message.group-start').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#message-list .message.group-start').count()).toBeLessThanOrEqual(2);
    // Bob's picture, Ann's initials (she has none).
    await expect.poll(() => page.locator('#chat-avatar img').evaluate((img: any) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    expect(await page.locator('#me-avatar .avatar').textContent()).toBe('A');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, `layout-${size.name}-conversation`);
  });

  it('follows new messages at the bottom; scrolled up, it stays put and offers "New messages ↓"', async () => {
    const { page, user } = await signedIn(size);
    const { send } = await bobWrote(user, 30);
    await openBob(page);
    await expect.poll(() => seqs(page)).toHaveLength(30);
    await send('still at the bottom');
    await expect.poll(() => seqs(page)).toHaveLength(31);
    await expect.poll(() => scrollerState(page)).toMatchObject({ fromBottom: 0 });
    expect(await isVisible(page, '#new-messages')).toBe(false);

    await page.locator('#message-scroller').evaluate((s: any) => s.scrollTo(0, 0));
    await send('while you read back');
    await expect.poll(() => seqs(page)).toHaveLength(32);
    await page.locator('#new-messages').waitFor();
    expect((await scrollerState(page)).top).toBe(0);
    await screenshot(page, `layout-${size.name}-new-messages`);
    await page.locator('#new-messages').click();
    await expect.poll(() => scrollerState(page)).toMatchObject({ fromBottom: 0 });
    expect(await isVisible(page, '#new-messages')).toBe(false);
  });

  it('loads older pages on scroll-up, 50 at a time, keeping the message in view where it was', async () => {
    const { page, user } = await signedIn(size);
    await bobWrote(user, 120);
    await openBob(page);
    await expect.poll(() => seqs(page)).toEqual(range(71, 120));
    for (const [anchorSeq, first] of [[71, 21], [21, 1]] as const) {
      // Scrolled to the top and measured in one go, before the older page can arrive.
      const before = await page.locator('#message-scroller').evaluate((s: any, seq: number) => {
        s.scrollTo(0, 0);
        return s.querySelector(`.message[data-seq="${seq}"]`)!.getBoundingClientRect().top;
      }, anchorSeq);
      await expect.poll(() => seqs(page)).toEqual(range(first, 120));
      const after = await page.locator(`#message-list .message[data-seq="${anchorSeq}"]`).evaluate((e: any) => e.getBoundingClientRect().top);
      expect(Math.abs(after - before)).toBeLessThanOrEqual(2);
    }
    await expect.poll(() => page.locator('#history-status').textContent()).toBe('This is the beginning of your conversation with Bob.');
    await screenshot(page, `layout-${size.name}-history-start`);
  });
});

describe('the phone layout', { timeout: 60_000 }, () => {
  const phone = SIZES[1];

  it('goes list -> conversation -> back, and shows jobs in a drawer', async () => {
    const { page, user } = await signedIn(phone);
    // Carol's picture is gone (404): her initials stand in.
    const carol = await newUser(hub.url, { name: 'Carol Jones', avatar_url: `${AVATARS}carol.png` });
    await newConversation(hub.url, carol, { user: { id: user.id } } as TestUser);
    await bobWrote(user, 3);
    const carolFace = page.locator('#conversation-list .conversation', { hasText: 'Carol' }).locator('.avatar');
    await expect.poll(() => carolFace.textContent()).toBe('CJ');
    expect(await isVisible(page, '#chat-pane')).toBe(false);
    await openBob(page);
    expect(await isVisible(page, '.sidebar')).toBe(false);
    expect(await inViewport(page, '#chat-back')).toBe(true);
    await page.locator('#chat-back').click();
    await page.locator('.sidebar').waitFor();
    expect(await isVisible(page, '#chat-pane')).toBe(false);
    // Focus lands on the conversation just left, not on a hidden button.
    expect(await page.evaluate('document.activeElement.closest(".conversation")?.dataset.conversationId')).toBe(
      await bobItemId(page),
    );
    await openBob(page);
    // The browser's own Back does the same.
    await page.goBack();
    await page.locator('.sidebar').waitFor();
    expect(await isVisible(page, '#chat-pane')).toBe(false);

    expect(await isVisible(page, '#jobs-pane')).toBe(false);
    await page.locator('#jobs-button').click();
    await expect.poll(() => inViewport(page, '#jobs-pane')).toBe(true);
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'layout-narrow-jobs-drawer');
    await page.locator('#jobs-close').click();
    await expect.poll(() => isVisible(page, '#jobs-pane')).toBe(false);
  });
});
