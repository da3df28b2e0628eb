import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../helpers/app.js';
import { newUser } from '../helpers/http.js';
import {
  launchChromium,
  registerIn,
  screenshot,
  sendMessage,
  seriousA11yViolations,
  SIZES,
  startConversation,
  startHubForBrowser,
} from './browser-helpers.js';

/**
 * What the page does with the parts of the contract this hub does not send yet (presence and
 * `ready.online_user_ids`, `delivered`) or that need a running job (`job:output`): the frames
 * a hub with them would send are put into the page's real socket. Notices come from the hub
 * itself: `ready.unread_notices`, a real `notice:new` (a job the page does not watch,
 * cancelled by the hub), `GET /api/notices` and `POST /api/notices/read`.
 */
let hub: RunningApp;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [hub, browser] = await Promise.all([startHubForBrowser(), launchChromium()]);
});
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});
afterAll(async () => {
  await browser?.close();
  await hub?.close();
});

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();

interface Injector {
  /** Emits `event` to the page as the hub would, on the `/inbox` namespace. */
  emit(event: string, payload: unknown): void;
  upgraded: () => boolean;
}

/** Passes the page's socket through, adding `fields` to the hub's `ready` (over long-polling or WebSocket, whichever carries it). */
async function inject(context: BrowserContext, fields: Record<string, unknown>): Promise<Injector> {
  // The hub's own fields of the same names are overridden (it sends `online_user_ids` itself now).
  const readyPacket = /^(\d+\/inbox,)(\["ready",.*\])$/s;
  const withPacket = (packet: string) => {
    const m = readyPacket.exec(packet);
    if (!m) return packet;
    const [name, payload] = JSON.parse(m[2]!) as [string, Record<string, unknown>];
    return `${m[1]}${JSON.stringify([name, { ...payload, ...fields }])}`;
  };
  // Long-polling joins packets with the record separator.
  const withFields = (text: string) => text.split('\x1e').map(withPacket).join('\x1e');
  let socket: WebSocketRoute | null = null;
  let upgraded = false;
  await context.route('**/socket.io/**', async (route) => {
    if (route.request().method() !== 'GET') return route.continue();
    const response = await route.fetch();
    await route.fulfill({ response, body: withFields(await response.text()) });
  });
  await context.routeWebSocket(/\/socket\.io\//, (ws) => {
    const server = ws.connectToServer();
    socket = ws;
    ws.onMessage((frame) => {
      if (frame === '5') upgraded = true;
      server.send(frame);
    });
    server.onMessage((frame) => ws.send(typeof frame === 'string' ? withFields(frame) : frame));
  });
  return {
    emit: (event, payload) => socket!.send(`42/inbox,${JSON.stringify([event, payload])}`),
    upgraded: () => upgraded,
  };
}

const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 10_000 });
const bobItem = (page: Page) => page.locator('#conversation-list .conversation', { hasText: 'Bob' });

describe.each(SIZES)('hub features to come, at $width×$height', { timeout: 90_000 }, (size) => {
  it('shows presence, the notices bell, ✓✓ delivered and a job’s streamed output as soon as the hub sends them', async () => {
    const bob = await newUser(hub.url, { name: 'Bob' });
    const context = await browser.newContext({ viewport: { width: size.width, height: size.height } });
    contexts.push(context);
    const hubWith = await inject(context, { online_user_ids: [bob.user.id] });
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('[page error]', err));
    const ann = await registerIn(page, hub.url, 'Ann');
    await eventually(() => hubWith.upgraded()).toBe(true);

    // Two notices stored while Ann was away: the hub's ready.unread_notices counts them.
    const sql = hub.app.dbHandle.sql;
    for (const [title, age] of [['Demo job finished', 3], ['Export finished', 2]] as const) {
      await sql`insert into notices (user_id, kind, job_id, title, created_at) values (${ann.id}, 'job.completed', ${crypto.randomUUID()}, ${title}, ${minutesAgo(age)})`;
    }
    await page.reload();
    await page.locator('#inbox-view').waitFor({ state: 'visible' });
    await eventually(() => page.locator('#notices-count').textContent()).toBe('2');
    // A job the page does not watch ends (the hub cancels it): a real notice:new.
    const away = await hub.app.services.jobs.enqueue({ name: 'demo.steps', data: { steps: 1, step_ms: 0 }, ownerId: ann.id, delay: 3_600_000 });
    await hub.app.services.jobs.cancel({ id: ann.id }, away.job_id);
    await eventually(() => page.locator('#notices-count').textContent()).toBe('3');
    expect(await page.locator('#notices-button').getAttribute('aria-label')).toBe('Notifications, 3 unread');

    // ready.online_user_ids, then presence going offline with a last-seen time.
    await startConversation(page, bob.email);
    await eventually(() => page.locator('#chat-title').textContent()).toBe('Bob');
    await eventually(() => page.locator('#chat-subtitle').textContent()).toBe('Worker · Online');
    if (size.name === 'wide') expect(await bobItem(page).locator('.presence-dot').count()).toBe(1);
    hubWith.emit('presence', { user_id: bob.user.id, online: false, last_seen_at: minutesAgo(2) });
    await eventually(() => page.locator('#chat-subtitle').textContent()).toBe('Worker · Last seen 2 min ago');
    expect(await page.locator('#chat-head .presence-dot').count()).toBe(0);

    // delivered: ✓ sent becomes ✓✓ delivered.
    await sendMessage(page, 'did you get this?');
    const ticks = page.locator('#message-list .message.mine[data-seq="1"] .delivery');
    await eventually(() => ticks.getAttribute('data-status')).toBe('sent');
    const conversationId = Number(/#\/c\/(\d+)/.exec(page.url())![1]);
    hubWith.emit('delivered', { conversation_id: conversationId, user_id: bob.user.id, seq: 1 });
    await eventually(() => ticks.getAttribute('data-status')).toBe('delivered');
    expect(await ticks.textContent()).toBe('✓✓Delivered');
    expect(await page.locator('#message-list .seen').count()).toBe(0);

    // The bell lists the notices and marks them read up to the newest.
    await page.locator('#notices-button').click();
    await eventually(() => page.locator('#notice-list .notice-title').allTextContents()).toEqual(['Demo steps was cancelled', 'Export finished', 'Demo job finished']);
    await eventually(async () => (await sql`select count(*)::int as n from notices where user_id = ${ann.id} and read_at is null`)[0]!.n).toBe(0);
    await eventually(() => page.locator('#notices-count').isVisible()).toBe(false);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, `coming-${size.name}-notices`);
    await page.keyboard.press('Escape');
    await eventually(() => page.locator('#notices-panel').isVisible()).toBe(false);

    // job:output under the progress bar (no worker runs here: the job waits, its output is injected).
    if (size.name === 'narrow') await page.locator('#jobs-button').click();
    await page.locator('#demo-job-form button[type=submit]').click();
    const row = page.locator('#job-list .job[data-job-id]').first();
    const jobId = (await row.getAttribute('data-job-id'))!;
    await eventually(() => row.getAttribute('data-state')).toBe('waiting');
    // The watch is acknowledged once the Cancel button's job is followed; output before that is re-fetched by the client.
    await eventually(async () => {
      hubWith.emit('job:output', { job_id: jobId, chunks: [{ offset: 0, data: 'step 1 of 10\n' }, { offset: 1, data: 'step 2 of 10\n' }] });
      return page.locator('#job-list .job-output').first().textContent();
    }).toBe('step 1 of 10\nstep 2 of 10');
    hubWith.emit('job:output', { job_id: jobId, chunks: [{ offset: 1, data: 'step 2 of 10\n' }, { offset: 2, data: 'step 3 of 10\n' }] });
    await eventually(() => row.locator('.job-output').textContent()).toBe('step 1 of 10\nstep 2 of 10\nstep 3 of 10');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, `coming-${size.name}-job-output`);
  });
});
