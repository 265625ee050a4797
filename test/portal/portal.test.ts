import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trailingYear } from '../../analytics/reports.ts';
import { encodeBatch } from '../../analytics/rows.ts';
import type { MetadataEvent } from '../../src/core/metadata.ts';
import { openChdb, type TestDb } from '../analytics/support.ts';
import { generate, oracle } from '../analytics/synthetic.ts';
import { launchChromium } from '../support/chromium.ts';
import { RESULTS_DIR, ensurePortalBuilt, expectKnownTables, norm, parseCsv, startPortalServer, type PortalServer } from './harness.ts';
import { ACCOUNT } from './stand-in-api.ts';

const XSS = '<img src=x onerror=alert(1)>';
const range = trailingYear();

/** Generated traffic with known answers, plus a few messages with a hostile domain name. */
function seed(): MetadataEvent[] {
  const events = generate(6_000, new Date(), 7);
  const base = events[0] as MetadataEvent;
  for (let i = 0; i < 40; i++) {
    events.push({ ...base, messageId: `xss-${i}`, ts: Date.now() - 3_600_000, receiver: `x${i % 3}@${XSS}`, receiverDomain: XSS, receiverPlatform: 'xmpp', direction: 'outbound', sender: 'u1@parley.local', senderDomain: 'parley.local', senderPlatform: 'teams' });
  }
  return events;
}

describe('management portal in Chromium', () => {
  let db: TestDb;
  let events: MetadataEvent[];
  let portal: PortalServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  /** A fresh load of a page (a hash change alone would keep the previous page's state). */
  const open = async (hash: string): Promise<void> => {
    await page.goto('about:blank');
    await page.goto(`${portal.url}/portal/#/${hash}`);
  };

  beforeAll(async () => {
    ensurePortalBuilt();
    mkdirSync(RESULTS_DIR, { recursive: true });
    db = await openChdb();
    events = seed();
    for (let i = 0; i < events.length; i += 2_000) await db.store.insertBatch(`seed-${i}`, encodeBatch(events.slice(i, i + 2_000)));
    portal = await startPortalServer(db.store);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    // 401s are expected (signed out, wrong password); anything else logged as an error is a defect.
    page.on('console', (m) => m.type() === 'error' && !/status of 401/.test(m.text()) && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      if (d.type() === 'alert') problems.push(`alert: ${d.message()}`);
      void d.accept();
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await portal?.close();
    await db?.close();
  });

  it('draws every Overview chart and marks the page ready', async () => {
    await open('overview');
    await page.waitForSelector('body[data-ready="overview"]', { timeout: 30_000 });
    expect(await page.locator('.plot canvas').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('.bars .bar-row').count()).toBe(oracle.topDomains(events, range, 10).length);
    await page.screenshot({ path: path.join(RESULTS_DIR, 'overview-1280.png'), fullPage: true });
  });

  it('shows exactly the known numbers in every chart’s table view', async () => {
    expect(oracle.topDomains(events, range, 10).some((d) => d.domain === XSS)).toBe(true);
    await expectKnownTables(page, events, range);
  });

  it('exports CSV equal to the API’s figures', async () => {
    const charts: Array<[string, string, string[]]> = [
      ['users', 'monthly', ['month', 'users', 'messages']],
      ['messages', 'monthly', ['month', 'users', 'messages']],
      ['side', 'monthly-by-side', ['month', 'side', 'users', 'messages']],
      ['platform', 'monthly-by-platform', ['month', 'platform', 'users', 'messages']],
      ['domains', 'top-domains', ['domain', 'users', 'messages']],
    ];
    for (const [chart, report, cols] of charts) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`[data-chart="${chart}"] [data-action="csv"]`).click()]);
      const file = await download.path();
      const exported = parseCsv(readFileSync(file, 'utf8'));
      const q = new URLSearchParams({ ...range, format: 'csv', ...(report === 'top-domains' ? { limit: '10' } : {}) });
      const fromApi = parseCsv(await (await fetch(`${portal.url}/admin/api/v1/reports/${report}?${q}`)).text());
      expect(exported.length, chart).toBeGreaterThan(0);
      expect(norm(exported, cols), chart).toEqual(norm(fromApi, cols));
    }
  });

  it('receives the live messages-per-minute figure over WebSocket', async () => {
    portal.countMessages(120);
    await page.waitForSelector('[data-live="live"]', { timeout: 10_000 });
    await expect.poll(async () => Number((await page.locator('[data-live="live"]').textContent())?.replace(/,/g, '')), { timeout: 10_000 }).toBeGreaterThan(0);
  });

  it('renders a hostile domain label as text, never as HTML', async () => {
    await open('federations');
    const cell = page.locator('tr[data-domain="evil.example"] .label-cell');
    await expect.poll(() => cell.textContent()).toBe(XSS);
    expect(await page.locator('main img').count()).toBe(0);
    await open('overview');
    await page.waitForSelector('body[data-ready="overview"]');
    expect(await page.locator('[data-chart="domains"] .bar-label', { hasText: XSS }).count()).toBe(1);
    expect(await page.locator('main img').count()).toBe(0);
  });

  it('changes a federation with the CSRF token and shows it in the audit', async () => {
    await open('federations');
    await page.getByRole('button', { name: 'Block partner.example' }).click();
    await expect.poll(() => page.locator('tr[data-domain="partner.example"] .badge').textContent()).toBe('blocked');
    expect(portal.api.calls).toContain('PUT /admin/api/v1/federations?domain=partner.example');
    await open('audit');
    await expect.poll(() => page.locator('tbody tr').first().textContent()).toContain('federation.update');
    await page.screenshot({ path: path.join(RESULTS_DIR, 'audit-1280.png'), fullPage: true });
  });

  it('can be used from the keyboard alone', async () => {
    await open('overview');
    await page.waitForSelector('body[data-ready="overview"]');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | null>('document.activeElement?.textContent ?? null')).toBe('Skip to content');
    // Tab to the Users link and follow it with Enter.
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate<string | null>('document.activeElement?.textContent ?? null')) === 'Users') break;
    }
    await page.keyboard.press('Enter');
    await page.waitForSelector('main[data-page="users"]');
    expect(await page.evaluate<string>('document.activeElement?.tagName')).toBe('H1');
    // From the heading, Tab reaches the search box; type and submit with Enter.
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement?.type')).toBe('search');
    await page.keyboard.type('User 05');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    // A visible focus indicator on the focused control.
    await page.keyboard.press('Tab');
    const outline = await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).not.toBe('none');
  });

  it('shows users, their contacts and revokes one', async () => {
    await open('users');
    await page.getByRole('button', { name: 'Contacts of User 00' }).click();
    await page.waitForSelector('text=alice@partner.example');
    expect(await page.locator('td', { hasText: '<b>Bold</b> Name' }).count()).toBe(1);
    await page.screenshot({ path: path.join(RESULTS_DIR, 'users-1280.png'), fullPage: true });
    await page.getByRole('button', { name: 'Revoke alice@partner.example' }).click();
    await expect.poll(() => page.locator('text=alice@partner.example').count()).toBe(0);
    expect(portal.api.calls).toContain('POST /admin/api/v1/users/contacts/revoke');
  });

  it('shows connectors and dead letters', async () => {
    await open('connectors');
    await page.waitForSelector('text=job-17');
    expect(await page.locator('.card .badge', { hasText: 'reconnecting' }).count()).toBe(1);
    await page.screenshot({ path: path.join(RESULTS_DIR, 'connectors-1280.png'), fullPage: true });
    await open('federations');
    await page.screenshot({ path: path.join(RESULTS_DIR, 'federations-1280.png'), fullPage: true });
  });

  it('fits a phone screen (390 px) on every page', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    for (const p of ['overview', 'federations', 'users', 'connectors', 'audit']) {
      await phone.goto(`${portal.url}/portal/#/${p}`);
      await phone.waitForSelector(`main[data-page="${p}"] h1`);
      if (p === 'overview') await phone.waitForSelector('body[data-ready="overview"]');
      else await phone.waitForSelector('main table, main .empty');
      const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow, p).toBeLessThanOrEqual(0);
      await phone.screenshot({ path: path.join(RESULTS_DIR, `${p}-390.png`), fullPage: true });
    }
    await phone.close();
  });

  it('signs out, then in again with password and second factor', async () => {
    await open('overview');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('h1:text("Sign in to Parley")');
    expect(await page.getByRole('link', { name: /Sign in with your organisation/ }).getAttribute('href')).toBe('/admin/api/v1/auth/oidc/start');
    await page.screenshot({ path: path.join(RESULTS_DIR, 'signin-1280.png'), fullPage: true });
    await page.getByLabel('Username').fill(ACCOUNT.username);
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong username or password');
    await page.getByLabel('Password').fill(ACCOUNT.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel(/Six-digit code/).fill(ACCOUNT.totp);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForSelector('body[data-ready="overview"]');
    expect(portal.api.stage).toBe('active');
  });

  it('offers an analyst the Overview only', async () => {
    const analyst = await startPortalServer(db.store, { role: 'analyst' });
    try {
      const p = await context.newPage();
      await p.goto(`${analyst.url}/portal/#/federations`);
      await p.waitForSelector('body[data-ready="overview"]');
      expect(await p.locator('nav[aria-label="Portal"] a').allTextContents()).toEqual(['Overview']);
      expect(await p.locator('main').getAttribute('data-page')).toBe('overview');
      await p.close();
    } finally {
      await analyst.close();
    }
  });

  it('produced no script errors, CSP violations or alerts', () => {
    expect(problems).toEqual([]);
  });
});
