import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDev } from '../helpers/dev-process.js';
import type { ChildService } from '../helpers/processes.js';
import { filePrefix } from '../jobs/support.js';
import { launchChromium, registerIn, screenshot, sendMessage, shownMessages, startConversation } from './browser-helpers.js';

// The README's quick start, as a newcomer without Postgres follows it: `npm run dev`, two windows.
const dataDir = mkdtempSync(join(tmpdir(), 'inbox-newcomer-'));
let dev: ChildService | undefined;
let url: string;
let browser: Browser;

beforeAll(async () => {
  const env = { DATABASE_URL: '', PGLITE_DATA_DIR: join(dataDir, 'pglite'), EXPORT_DIR: join(dataDir, 'exports'), REDIS_PREFIX: filePrefix('newcomer') };
  [{ dev, url }, browser] = await Promise.all([spawnDev(env), launchChromium()]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await dev?.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function openWindow(name: string): Promise<{ page: Page; email: string }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const { email } = await registerIn(page, url, name);
  return { page, email };
}

describe('npm run dev on a machine without Postgres', { timeout: 90_000 }, () => {
  it('two windows register, chat live, and watch a demo job finish', async () => {
    expect(dev!.output()).toContain('database: embedded PGlite in ');
    const ann = await openWindow('Ann');
    const bob = await openWindow('Bob');
    await startConversation(ann.page, bob.email);
    await expect.poll(() => ann.page.locator('#chat-title').textContent()).toBe('Bob');
    await bob.page.locator('#conversation-list .conversation', { hasText: 'Ann' }).locator('button').click();

    await sendMessage(ann.page, 'Hi Bob, no Postgres here');
    await expect.poll(() => shownMessages(bob.page)).toEqual(['Hi Bob, no Postgres here']);
    await sendMessage(bob.page, 'Hi Ann');
    await expect.poll(() => shownMessages(ann.page)).toEqual(['Hi Bob, no Postgres here', 'Hi Ann']);

    await ann.page.locator('#demo-job-form input[name=steps]').fill('3');
    await ann.page.locator('#demo-job-form input[name=step_ms]').fill('100');
    await ann.page.locator('#demo-job-form button[type=submit]').click();
    const row = ann.page.locator('#job-list .job[data-job-id]').first();
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 20_000 }).toBe('completed');
    expect(await row.locator('progress').getAttribute('value')).toBe('100');
    await screenshot(ann.page, 'newcomer-ann');
    await screenshot(bob.page, 'newcomer-bob');
  });
});
