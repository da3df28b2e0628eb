import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawnNpmDev } from '../helpers/dev-process.js';
import { freePort, type ChildService } from '../helpers/processes.js';
import { waitForOutput } from '../helpers/worker-process.js';
import { filePrefix } from '../jobs/support.js';
import { launchChromium, registerIn, screenshot, sendMessage, shownMessages, startConversation } from './browser-helpers.js';

// `PORT=<not 8000> npm run dev` with no ALLOWED_ORIGINS, on every address (HOST's default):
// the printed URL, and the machine's network address (a phone on the same network), both work.
const dataDir = mkdtempSync(join(tmpdir(), 'inbox-any-port-'));
const networkAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
let dev: ChildService | undefined;
let port: number;
let browser: Browser;

beforeAll(async () => {
  port = await freePort();
  const env = {
    PORT: String(port),
    // Empty: the default (and a developer's .env cannot set them for this run).
    NODE_ENV: '',
    HOST: '',
    ALLOWED_ORIGINS: '',
    COOKIE_SECRET: '',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: filePrefix('any-port'),
    PGLITE_DATA_DIR: join(dataDir, 'pglite'),
    EXPORT_DIR: join(dataDir, 'exports'),
    LOG_LEVEL: 'warn',
  };
  dev = spawnNpmDev({ cwd: join(import.meta.dirname, '..', '..'), env, port });
  [browser] = await Promise.all([launchChromium(), waitForOutput(dev, `open http://localhost:${port}/`, 90_000)]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await dev?.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function openWindow(url: string, name: string): Promise<{ page: Page; email: string; failed: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const failed: string[] = [];
  page.on('requestfailed', (r) => failed.push(r.url()));
  const { email } = await registerIn(page, url, name);
  return { page, email, failed };
}

describe('npm run dev on another port, without ALLOWED_ORIGINS', { timeout: 90_000 }, () => {
  it('the printed URL and the network address both register and chat', async () => {
    const second = networkAddress ? `http://${networkAddress}:${port}/` : `http://127.0.0.1:${port}/`;
    if (networkAddress) expect(dev!.output()).toContain(`from another device: ${second}`);
    const ann = await openWindow(`http://localhost:${port}/`, 'Ann');
    const bob = await openWindow(second, 'Bob');
    // Over plain http the page's own bundle and styles load (nothing upgraded to https).
    expect([ann.failed, bob.failed]).toEqual([[], []]);
    expect(await bob.page.evaluate('document.styleSheets.length')).toBe(1);

    await startConversation(ann.page, bob.email);
    await expect.poll(() => ann.page.locator('#chat-title').textContent()).toBe('Bob');
    await bob.page.locator('#conversation-list .conversation', { hasText: 'Ann' }).locator('button').click();
    await sendMessage(ann.page, 'Hi from port ' + port);
    await expect.poll(() => shownMessages(bob.page)).toEqual([`Hi from port ${port}`]);
    await sendMessage(bob.page, 'Hi from the network address');
    await expect.poll(() => shownMessages(ann.page)).toEqual([`Hi from port ${port}`, 'Hi from the network address']);
    expect(dev!.output()).not.toContain('is not in ALLOWED_ORIGINS');
    await screenshot(bob.page, 'any-port-network-address');
  });
});
