import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import xml, { type Element } from '@xmpp/xml';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import { currentTotp } from '../../src/admin/totp.ts';
import { parseConfig } from '../../src/config/load.ts';
import { LoopbackConnector, XmppConnector } from '../../src/connectors/index.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { freePort } from '../../src/state/managed-redis.ts';
import { connectRedis } from '../../src/state/redis.ts';
import { RedisUserDirectory } from '../../src/state/user-directory.ts';
import { launchChromium } from '../support/chromium.ts';
import { until } from '../support/hub.ts';
import { startProsody, type TestProsody } from '../support/prosody.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { alice, ext, xmppUser, type TestXmppUser } from '../support/xmpp.ts';
import { startIdp, type TestIdp } from '../support/oidc-provider.ts';
import { trailingYear } from '../../analytics/reports.ts';
import { encodeBatch } from '../../analytics/rows.ts';
import { generate } from '../analytics/synthetic.ts';
import { ensurePortalBuilt, expectKnownTables, norm, parseCsv, RESULTS_DIR } from './harness.ts';

const SHOTS = path.join(RESULTS_DIR, 'e2e');
const ADMIN = { username: 'root', password: 'correct horse battery staple' };
const CLIENT_SECRET = 'parley-secret-parley-secret-parley-secret';
const GROUPS: Record<string, string[]> = { alice: ['staff', 'parley-admins'], bob: ['parley-analysts'] };
const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const bob = { platform: 'teams' as const, id: 'bob@parley.local', domain: 'parley.local', name: 'Bob' };

/** A real Parley (Redis, chDB, XMPP connector on a real Prosody, loopback Teams) driven through its portal in Chromium. */
describe('the portal against a running Parley', () => {
  let redis: TestRedis;
  let prosody: TestProsody;
  let idp: TestIdp;
  let app: App;
  let dataDir: string;
  let portal: string;
  let teams: LoopbackConnector;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let totpSecret = '';
  const users: TestXmppUser[] = [];
  const problems: string[] = [];
  /** Set while the test provokes a refusal on purpose (wrong token, wrong code, the analyst's change). */
  let refusalsExpected = false;

  const watch = (p: Page): Page => {
    // 401 while signed out and the refusals the test provokes are expected; anything else logged as an error is a defect.
    p.on('console', (m) => {
      if (m.type() !== 'error' || /status of 401/.test(m.text()) || (refusalsExpected && /status of 4\d\d/.test(m.text()))) return;
      problems.push(`console: ${m.text()}`);
    });
    p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    p.on('dialog', (d) => void (d.type() === 'confirm' ? d.accept() : (problems.push(`${d.type()}: ${d.message()}`), d.dismiss())));
    return p;
  };
  const shot = (p: Page, name: string) => p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const open = async (p: Page, hash: string): Promise<void> => {
    await p.goto('about:blank');
    await p.goto(`${portal}/portal/#/${hash}`);
    await p.waitForSelector(`main[data-page="${hash}"] h1`);
  };
  /** A JSON call from inside the page: the browser's own cookie, Origin and the session's CSRF token. */
  const inPage = (p: Page, method: string, url: string, body?: unknown): Promise<{ status: number; body: unknown }> =>
    p.evaluate(
      async ([m, u, b]) => {
        const s = await fetch('/admin/api/v1/auth/session');
        const csrf = s.ok ? ((await s.json()) as { csrfToken: string }).csrfToken : '';
        const res = await fetch(u as string, { method: m as string, headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, ...(b === undefined ? {} : { body: JSON.stringify(b) }) });
        const text = await res.text();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        return { status: res.status, body: parsed };
      },
      [method, url, body] as const,
    );
  const delivered = (pred: (e: Envelope) => boolean): Envelope[] => teams.delivered.map((d) => d.env).filter(pred);
  const stanzaError = (u: TestXmppUser, id: string): Promise<Element> => u.waitFor((el) => el.name === 'message' && el.attrs.type === 'error' && el.attrs.id === id, `stanza error for ${id}`);

  beforeAll(async () => {
    ensurePortalBuilt();
    mkdirSync(SHOTS, { recursive: true });
    redis = await startTestRedis();
    prosody = await startProsody({ hosts: { 'partner.example': ['ext1', 'ext2'], 'blocked.example': ['mallory'] }, components: { 'parley.local': 'component-secret' } });
    const adminPort = await freePort();
    const redirectUri = `http://127.0.0.1:${adminPort}/admin/api/v1/auth/oidc/callback`;
    idp = await startIdp(await freePort(), redirectUri, GROUPS, CLIENT_SECRET);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-'));
    const keyPrefix = `e2e${Date.now()}`;
    const config = parseConfig({
      dataDir,
      logLevel: 'silent',
      developmentMode: true,
      http: { host: '127.0.0.1', port: 0 },
      admin: {
        port: adminPort,
        oidc: { issuer: idp.issuer, clientId: 'parley', clientSecret: CLIENT_SECRET, redirectUri, scopes: 'openid profile groups', adminGroup: 'parley-admins', analystGroup: 'parley-analysts', allowInsecure: true, name: 'Test IdP' },
      },
      redis: { url: redis.url, keyPrefix },
      runtime: { shards: 2 },
      analytics: { backend: 'chdb', flushIntervalMs: 200 },
      federation: {
        localDomains: ['parley.local'],
        domains: [
          { domain: 'partner.example', action: 'allow', kind: 'partner', label: 'Partner' },
          { domain: 'blocked.example', action: 'allow', kind: 'partner', label: 'Soon blocked' },
        ],
      },
      connectors: {
        loopback: { enabled: true, platforms: ['teams'], sink: 'memory' },
        xmpp: { enabled: true, service: `xmpp://127.0.0.1:${prosody.componentPort}`, domain: 'parley.local', secret: 'component-secret', barrierDomain: 'partner.example', reconnectMinMs: 100, reconnectMaxMs: 1000, presenceCoalesceMs: 100 },
      },
    });
    app = await startApp(config, { log: pino({ level: 'silent' }) });
    portal = `http://127.0.0.1:${app.admin?.port}`;
    teams = app.connectors.find((c): c is LoopbackConnector => c instanceof LoopbackConnector) as LoopbackConnector;
    await (app.connectors.find((c): c is XmppConnector => c instanceof XmppConnector) as XmppConnector).waitOnline(15_000);
    const dirRedis = connectRedis(redis.url, 'e2e-directory');
    const directory = new RedisUserDirectory(dirRedis, keyPrefix);
    await directory.upsert({ ...alice, name: 'Alice Example', email: 'alice@contoso.example' });
    await directory.upsert({ ...bob, name: 'Bob Example', email: 'bob@contoso.example' });
    dirRedis.disconnect();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = watch(await context.newPage());
  }, 120_000);

  afterAll(async () => {
    for (const u of users) await u.stop();
    await browser?.close();
    await app?.stop();
    await idp?.close();
    await prosody?.stop();
    await redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('first admin with the printed setup token, TOTP enrolment, sign out, sign in again with the second factor', async () => {
    const token = app.admin?.setupToken;
    expect(token).toMatch(/\S{16,}/);
    await page.goto(`${portal}/portal/`);
    await page.waitForSelector('h1:text("Create the first administrator")');
    await shot(page, 'setup');
    refusalsExpected = true;
    await page.getByLabel('Setup token').fill('not-the-token');
    await page.getByLabel('Username').fill(ADMIN.username);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await page.getByRole('alert').waitFor();
    refusalsExpected = false;
    await page.getByLabel('Setup token').fill(token as string);
    await page.getByRole('button', { name: 'Create administrator' }).click();

    await page.waitForSelector('h1:text("Set up your second factor")');
    await page.getByRole('button', { name: 'Create my secret' }).click();
    totpSecret = (await page.getByTestId('totp-secret').textContent()) ?? '';
    expect(totpSecret).toMatch(/^[A-Z2-7]{32}$/);
    expect(await page.getByTestId('totp-uri').getAttribute('href')).toContain(`secret=${totpSecret}`);
    await shot(page, 'totp-enrol');
    await page.getByLabel('Code shown by the app').fill(currentTotp(totpSecret));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForSelector('main[data-page="overview"] h1');
    expect(await page.locator('nav[aria-label="Portal"] a').allTextContents()).toEqual(['Overview', 'Federations', 'Users', 'Connectors', 'Audit']);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('h1:text("Sign in to Parley")');
    expect((await inPage(page, 'GET', '/admin/api/v1/federations')).status).toBe(401);
    await shot(page, 'signin');
    await page.getByLabel('Username').fill(ADMIN.username);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('h1:text("Second factor")');
    // Half signed-in is not signed-in.
    expect((await inPage(page, 'GET', '/admin/api/v1/federations')).status).toBe(401);
    refusalsExpected = true;
    await page.getByLabel(/Six-digit code/).fill('000000' === currentTotp(totpSecret) ? '111111' : '000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    // A wrong code keeps the second-factor form and says so (the session is still waiting for a code).
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('wrong or already used code');
    expect(await page.locator('h1').textContent()).toBe('Second factor');
    refusalsExpected = false;
    // The step after the one used at enrolment: a code is never accepted twice.
    await page.getByLabel(/Six-digit code/).fill(currentTotp(totpSecret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForSelector('main[data-page="overview"] h1');
    expect((await inPage(page, 'GET', '/admin/api/v1/auth/session')).body).toMatchObject({ stage: 'active', user: { username: 'root', role: 'admin' } });
  });

  it('blocks a partner domain in the portal: refused on the wire, nothing to Teams, shown in the audit', async () => {
    const mallory = await xmppUser(prosody, 'mallory', 'blocked.example');
    users.push(mallory);
    // Allowed at first: the message reaches Teams.
    await mallory.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id: 'before-1' }, xml('body', {}, 'hello while allowed')));
    await until(() => delivered((e) => e.type === 'im' && e.from.domain === 'blocked.example').length === 1, 15_000, 'the allowed message at Teams');

    await open(page, 'federations');
    await expect.poll(() => page.locator('tr[data-domain="blocked.example"] .badge').textContent()).toBe('allowed');
    await page.getByRole('button', { name: 'Block blocked.example' }).click();
    await expect.poll(() => page.locator('tr[data-domain="blocked.example"] .badge').textContent()).toBe('blocked');
    await shot(page, 'federations');

    await mallory.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id: 'after-1' }, xml('body', {}, 'let me in')));
    const err = await stanzaError(mallory, 'after-1');
    expect(err.getChild('error')?.getChild('policy-violation', STANZAS)).toBeDefined();
    // A second user's actor (actors are spread over the 2 shards) refuses too.
    await mallory.client.send(xml('message', { to: 'bob@parley.local', type: 'chat', id: 'after-2' }, xml('body', {}, 'or you')));
    await stanzaError(mallory, 'after-2');
    await new Promise((r) => setTimeout(r, 500));
    expect(delivered((e) => e.from.domain === 'blocked.example').map((e) => e.type)).toEqual(['im']);

    await open(page, 'audit');
    const row = page.locator('tbody tr', { hasText: 'blocked.example' }).first();
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('federation.update');
    expect(await row.textContent()).toContain('root');
    expect(await row.textContent()).toMatch(/allow[\s\S]*block/);
    await shot(page, 'audit');
  });

  it('disables one user and revokes an external contact: the XMPP side is unsubscribed, the Teams user is told', async () => {
    const ext1 = await xmppUser(prosody, 'ext1');
    const ext2 = await xmppUser(prosody, 'ext2');
    users.push(ext1, ext2);
    // Alice asks ext2; ext2's client approves: an accepted contact in Alice's actor state.
    await app.hub.ingest({ type: 'contact-request', id: 'e2e-req-1', ts: Date.now(), from: alice, to: ext('ext2'), message: 'Hi' } satisfies Envelope);
    await ext2.waitFor((el) => el.name === 'presence' && el.attrs.type === 'subscribe' && el.attrs.from === 'alice@parley.local', 'subscribe from alice');
    await ext2.client.send(xml('presence', { to: 'alice@parley.local', type: 'subscribed' }));
    await until(() => delivered((e) => e.type === 'contact-response' && e.decision === 'accepted' && e.from.id === 'ext2@partner.example').length > 0, 15_000, 'accept at Teams');
    await expect
      .poll(async () => ((await inPage(page, 'GET', '/admin/api/v1/users/contacts?id=alice@parley.local')).body as { contacts?: Array<{ state: string }> }).contacts?.[0]?.state, { timeout: 15_000 })
      .toBe('accepted');

    await open(page, 'users');
    const bobRow = page.locator('tbody tr', { hasText: 'bob@parley.local' });
    expect(await bobRow.locator('.badge').textContent()).toBe('on');
    await page.getByRole('button', { name: 'Disable federation for Bob Example' }).click();
    await expect.poll(() => bobRow.locator('.badge').textContent()).toBe('off');
    expect(await page.locator('tbody tr', { hasText: 'alice@parley.local' }).locator('.badge').textContent()).toBe('on');
    // On the wire: Bob is refused, Alice still reachable.
    await ext1.client.send(xml('message', { to: 'bob@parley.local', type: 'chat', id: 'to-bob-1' }, xml('body', {}, 'hi bob')));
    // POLICY_USER_DISABLED is <forbidden/> (src/connectors/xmpp/stanza-errors.ts).
    expect((await stanzaError(ext1, 'to-bob-1')).getChild('error')?.getChild('forbidden', STANZAS)).toBeDefined();
    await ext1.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id: 'to-alice-1' }, xml('body', {}, 'hi alice')));
    await until(() => delivered((e) => e.type === 'im' && e.from.id === 'ext1@partner.example' && e.to.id === 'alice@parley.local').length === 1, 15_000, 'ext1 -> alice at Teams');
    expect(delivered((e) => e.to.id === 'bob@parley.local' && e.from.domain === 'partner.example')).toEqual([]);

    await page.getByRole('button', { name: 'Contacts of Alice Example' }).click();
    const contact = page.locator('section[aria-labelledby="contacts-title"] tbody tr', { hasText: 'ext2@partner.example' });
    await expect.poll(() => contact.textContent()).toContain('accepted');
    await shot(page, 'users');
    await page.getByRole('button', { name: 'Revoke ext2@partner.example' }).click();
    await page.getByText('This user has no external contacts.').waitFor();

    const gone = await ext2.waitFor((el) => el.name === 'presence' && ['unsubscribe', 'unsubscribed'].includes(el.attrs.type as string) && el.attrs.from === 'alice@parley.local', 'unsubscription at the XMPP client');
    expect(gone.attrs.to).toMatch(/^ext2@partner\.example/);
    await until(() => delivered((e) => e.type === 'error' && e.code === 'CONTACT_REVOKED' && e.to.id === 'alice@parley.local').length === 1, 15_000, 'the notice to Alice');

    await open(page, 'audit');
    await expect.poll(() => page.locator('tbody tr').first().textContent()).toContain('contact.revoke');
    expect(await page.locator('tbody tr', { hasText: 'user.federation' }).first().textContent()).toContain('bob@parley.local');
    await shot(page, 'audit-after-revoke');
  });

  it('shows the connectors page and the Overview of the real stack', async () => {
    await open(page, 'connectors');
    await expect.poll(() => page.locator('main').textContent()).toMatch(/xmpp/i);
    await shot(page, 'connectors');
    await open(page, 'overview');
    await page.waitForSelector('body[data-ready="overview"]', { timeout: 30_000 });
    await shot(page, 'overview');
  });

  it('the Overview shows exactly the known numbers of a seeded tenant from the real API, and each CSV export equals the API\'s CSV', async () => {
    // 12 months of generated traffic with known answers, in tenants of their own (the live traffic of the other tests is in the default tenant).
    const events = generate(4_000, new Date(), 11).map((e) => ({ ...e, tenant: `seeded-${e.tenant}` }));
    const store = app.analytics?.store;
    if (!store) throw new Error('the e2e Parley runs chDB analytics');
    for (let i = 0; i < events.length; i += 1_000) await store.insertBatch(`e2e-seed-${i}`, encodeBatch(events.slice(i, i + 1_000)));
    const tenant = 'seeded-acme';
    const range = { ...trailingYear(), tenant };
    await open(page, 'overview');
    await page.waitForSelector('body[data-ready="overview"]', { timeout: 30_000 });
    await page.getByLabel('Tenant').fill(tenant);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForSelector('body[data-ready="overview"]', { timeout: 30_000 });
    await expect.poll(() => page.locator('main').textContent()).toContain(`tenant ${tenant}`);

    await expectKnownTables(page, events, range);

    const cols = ['month', 'users', 'messages'];
    const side = ['month', 'side', 'users', 'messages'];
    const platform = ['month', 'platform', 'users', 'messages'];
    const dom = ['domain', 'users', 'messages'];
    const charts: Array<[string, string, string[]]> = [
      ['users', 'monthly', cols], ['side', 'monthly-by-side', side], ['platform', 'monthly-by-platform', platform], ['domains', 'top-domains', dom],
    ];
    for (const [chart, report, c] of charts) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`[data-chart="${chart}"] [data-action="csv"]`).click()]);
      const exported = parseCsv(readFileSync(await download.path(), 'utf8'));
      const q = new URLSearchParams({ ...range, format: 'csv', ...(report === 'top-domains' ? { limit: '10' } : {}) });
      const api = await inPage(page, 'GET', `/admin/api/v1/reports/${report}?${q}`);
      expect(api.status, chart).toBe(200);
      expect(exported.length, chart).toBeGreaterThan(0);
      expect(norm(exported, c), chart).toEqual(norm(parseCsv(String(api.body)), c));
    }
    await shot(page, 'overview-seeded-tenant');
  });

  /** The browser's path through the real provider: the portal's button, the provider, the callback, back to /portal/. */
  async function oidcSignIn(account: string): Promise<Page> {
    idp.choose(account);
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = watch(await ctx.newPage());
    await p.goto(`${portal}/portal/`);
    await p.getByRole('link', { name: 'Sign in with your organisation (Test IdP)' }).click();
    await p.waitForURL(`${portal}/portal/`);
    await p.waitForSelector('main[data-page="overview"] h1');
    return p;
  }

  it('OpenID Connect with the admin group: an administrator', async () => {
    const p = await oidcSignIn('alice');
    expect((await inPage(p, 'GET', '/admin/api/v1/auth/session')).body).toMatchObject({ stage: 'active', user: { username: 'alice', role: 'admin', source: 'oidc' } });
    expect(await p.locator('nav[aria-label="Portal"] a').allTextContents()).toEqual(['Overview', 'Federations', 'Users', 'Connectors', 'Audit']);
    const created = await inPage(p, 'POST', '/admin/api/v1/federations', { domain: 'oidc.example', action: 'allow', kind: 'partner' });
    expect(created.status).toBe(201);
    await p.context().close();
  });

  it('OpenID Connect with the analyst group: reports only, no change in the UI or the API', async () => {
    const p = await oidcSignIn('bob');
    expect((await inPage(p, 'GET', '/admin/api/v1/auth/session')).body).toMatchObject({ stage: 'active', user: { username: 'bob', role: 'analyst', source: 'oidc' } });
    await p.waitForSelector('body[data-ready="overview"]', { timeout: 30_000 });
    expect(await p.locator('nav[aria-label="Portal"] a').allTextContents()).toEqual(['Overview']);
    await shot(p, 'analyst-overview');
    // A hand-typed admin page still shows the Overview, and no control that changes anything.
    await p.goto(`${portal}/portal/#/federations`);
    await p.waitForSelector('main[data-page="overview"] h1');
    for (const name of [/^Block /, /^Allow /, /^Edit /, /^Delete /, /^Disable /, /^Revoke /, /Add a domain/]) {
      expect(await p.getByRole('button', { name }).count(), String(name)).toBe(0);
    }
    expect((await inPage(p, 'GET', '/admin/api/v1/reports/monthly')).status).toBe(200);
    refusalsExpected = true;
    expect((await inPage(p, 'GET', '/admin/api/v1/federations')).status).toBe(403);
    expect((await inPage(p, 'POST', '/admin/api/v1/federations', { domain: 'analyst.example', action: 'block', kind: 'partner' })).status).toBe(403);
    expect((await inPage(p, 'PUT', '/admin/api/v1/federations?domain=partner.example', { action: 'block' })).status).toBe(403);
    expect((await inPage(p, 'PUT', '/admin/api/v1/users/federation?id=alice@parley.local', { enabled: false })).status).toBe(403);
    await p.context().close();
    refusalsExpected = false;
    // Nothing the analyst tried took effect.
    const feds = (await inPage(page, 'GET', '/admin/api/v1/federations')).body as { domains: Array<{ domain: string; action: string }> };
    expect(feds.domains.find((d) => d.domain === 'partner.example')?.action).toBe('allow');
    expect(feds.domains.some((d) => d.domain === 'analyst.example')).toBe(false);
  });

  it('produced no script errors, CSP violations or alerts', () => {
    expect(problems).toEqual([]);
  });
});
