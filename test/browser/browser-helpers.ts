import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { AxeResults, Result } from 'axe-core';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startApp, type RunningApp } from '../helpers/app.js';
import { freePort } from '../helpers/processes.js';

/** Debian's Chromium: Playwright's own browser downloads are not available here. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');

/** The two sizes the page is checked at: a laptop, and a phone held upright. */
export const SIZES = [
  { name: 'wide', width: 1280, height: 800 },
  { name: 'narrow', width: 390, height: 844 },
] as const;
export type Size = (typeof SIZES)[number];

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    ],
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
  await page.locator('#tab-register').click();
  const form = page.locator('#register-form');
  await form.locator('input[name=name]').fill(name);
  await form.locator('input[name=email]').fill(email);
  await form.locator('input[name=password]').fill('correct horse battery');
  await form.locator('button[type=submit]').click();
  await page.locator('#inbox-view').waitFor({ state: 'visible' });
  await page.locator('#banner').waitFor({ state: 'hidden' });
  return { id: Number(await page.locator('#inbox-view').getAttribute('data-user-id')), name, email };
}

export async function startConversation(page: Page, otherEmail: string): Promise<void> {
  await page.locator('#new-conversation-form input[name=other_email]').fill(otherEmail);
  await page.locator('#new-conversation-form button[type=submit]').click();
}

export async function sendMessage(page: Page, text: string): Promise<void> {
  await page.locator('#message-form [name=message]').fill(text);
  await page.locator('#message-form [name=message]').press('Enter');
}

/** The texts in the chat pane, in the order shown. */
export function shownMessages(page: Page): Promise<string[]> {
  return page.locator('#message-list .message .text').allTextContents();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

let axeSource: Promise<string> | null = null;

/**
 * axe-core's WCAG 2.x A/AA and best-practice rules on the page as it is now; the
 * violations of impact serious or critical, as `rule: target` lines (empty when clean).
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated rather than added as a <script>: the hub's CSP allows only its own scripts.
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(await axeSource);
  const results = (await page.evaluate(`axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    resultTypes: ['violations'],
  })`)) as AxeResults;
  return results.violations
    .filter((v: Result) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v: Result) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(' ')} — ${n.failureSummary?.split('\n')[1]?.trim() ?? v.help}`));
}

/** How far the page reaches past the viewport's right edge (0 when nothing overflows). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate('document.documentElement.scrollWidth - window.innerWidth') as Promise<number>;
}

/** Whether the element's whole box is inside the viewport. */
export async function inViewport(page: Page, selector: string): Promise<boolean> {
  const box = await page.locator(selector).boundingBox();
  const size = page.viewportSize()!;
  return box !== null && box.x >= 0 && box.y >= 0 && box.x + box.width <= size.width + 0.5 && box.y + box.height <= size.height + 0.5;
}
