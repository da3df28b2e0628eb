import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../helpers/app.js';
import { newUser } from '../helpers/http.js';
import type { ChildService } from '../helpers/processes.js';
import { spawnWorker } from '../helpers/worker-process.js';
import { filePrefix } from '../jobs/support.js';
import { launchChromium, registerIn, screenshot, sendMessage, shownMessages, startConversation, startHubForBrowser } from './browser-helpers.js';

const exportDir = mkdtempSync(join(tmpdir(), 'inbox-page-exports-'));
const env = { REDIS_PREFIX: filePrefix('page-jobs'), EXPORT_DIR: exportDir };

let hub: RunningApp;
let worker: ChildService;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [hub, worker, browser] = await Promise.all([startHubForBrowser(env), spawnWorker(env), launchChromium()]);
});
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});
afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await hub?.close();
  rmSync(exportDir, { recursive: true, force: true });
});

async function signedInPage(name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  await registerIn(page, hub.url, name);
  return page;
}

const progressOf = (row: ReturnType<Page['locator']>) => row.locator('progress').getAttribute('value').then(Number);

describe('the jobs panel', { timeout: 60_000 }, () => {
  it('starts demo.steps and shows its progress bar advancing live to completed', async () => {
    const page = await signedInPage('Ann');
    await page.locator('#demo-job-form input[name=steps]').fill('10');
    await page.locator('#demo-job-form input[name=step_ms]').fill('200');
    await page.locator('#demo-job-form button[type=submit]').click();
    const row = page.locator('#job-list .job[data-job-id]').first();
    await expect.poll(() => progressOf(row)).toBeGreaterThan(0);
    const midway = await progressOf(row);
    expect(midway).toBeLessThan(100);
    await screenshot(page, 'job-progress');
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 20_000 }).toBe('completed');
    expect(await progressOf(row)).toBe(100);
    await screenshot(page, 'job-done');
  });

  it('exports the open conversation and offers the file for download', async () => {
    const page = await signedInPage('Ann');
    const bob = await newUser(hub.url, { name: 'Bob' });
    await startConversation(page, bob.user.email);
    await sendMessage(page, 'one');
    await sendMessage(page, 'two');
    await expect.poll(() => shownMessages(page)).toEqual(['one', 'two']);
    await page.locator('#export-job').click();
    const row = page.locator('#job-list .job', { hasText: 'conversation.export' });
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 20_000 }).toBe('completed');
    const link = row.locator('a.job-download');
    expect(await link.textContent()).toBe('Download (2 messages)');
    expect(await link.getAttribute('href')).toBe(`/api/jobs/${await row.getAttribute('data-job-id')}/download`);
    await screenshot(page, 'job-export');
  });
});
