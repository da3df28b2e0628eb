import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startApp, type RunningApp } from '../helpers/app.js';
import { freePort } from '../helpers/processes.js';

/** Debian's Chromium: Playwright's own browser downloads are not available here. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/**
 * A hub whose own origin is allowed: the page's POSTs and its socket handshake carry that
 * Origin, so the port is chosen before the hub starts.
 */
export async function startHubForBrowser(env: Record<string, string> = {}): Promise<RunningApp> {
  const port = await freePort();
  return startApp({ ALLOWED_ORIGINS: `http://127.0.0.1:${port}`, MESSAGE_RATE_LIMIT: '1000', ...env }, { port });
}

export interface PageUser {
  id: number;
  name: string;
  email: string;
}

/** Registers through the page's form and waits for the inbox to be live. */
export async function registerIn(page: Page, url: string, name: string): Promise<PageUser> {
  const email = `${name.toLowerCase()}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@example.test`;
  await page.goto(url);
  const form = page.locator('#register-form');
  await form.locator('input[name=name]').fill(name);
  await form.locator('input[name=email]').fill(email);
  await form.locator('input[name=password]').fill('correct horse battery');
  await form.locator('button[type=submit]').click();
  await page.locator('#inbox-view').waitFor({ state: 'visible' });
  await page.locator('#banner').waitFor({ state: 'hidden' });
  return { id: Number(await page.locator('#my-id').textContent()), name, email };
}

export async function startConversation(page: Page, otherEmail: string): Promise<void> {
  await page.locator('#new-conversation-form input[name=other_email]').fill(otherEmail);
  await page.locator('#new-conversation-form button[type=submit]').click();
}

export async function sendMessage(page: Page, text: string): Promise<void> {
  await page.locator('#message-form input[name=message]').fill(text);
  await page.locator('#message-form input[name=message]').press('Enter');
}

/** The texts in the chat pane, in the order shown. */
export function shownMessages(page: Page): Promise<string[]> {
  return page.locator('#message-list .message .text').allTextContents();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
