import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { MetadataEvent } from '../../src/core/metadata.ts';
import { oracle, type Range } from '../analytics/synthetic.ts';
import { pino } from 'pino';
import type { AnalyticsStore } from '../../analytics/store.ts';
import { DEFAULT_DIST, portalRoutes } from '../../src/portal/serve.ts';
import { HttpServer } from '../../src/server/http-server.ts';
import { MessageRateFeed } from '../../src/server/ws-feed.ts';
import { standInAdminApi, type StandIn, type StandInOptions } from './stand-in-api.ts';

export const RESULTS_DIR = path.resolve('test-results/portal');

/** Builds the portal once if src/portal/dist is missing (make test builds it before the tests). */
export function ensurePortalBuilt(): void {
  if (existsSync(path.join(DEFAULT_DIST, 'index.html'))) return;
  const r = spawnSync('npm', ['run', 'build:portal'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build:portal failed');
}

export interface PortalServer {
  url: string;
  api: StandIn;
  /** Adds to the message counter behind the live messages-per-minute figure. */
  countMessages(n: number): void;
  close(): Promise<void>;
}

/** The built portal and an admin API (stand-in, real reports over `store`) on one loopback uWS listener, with the live feed. */
export async function startPortalServer(store: AnalyticsStore, opts: StandInOptions = {}): Promise<PortalServer> {
  const log = pino({ level: 'silent' });
  const server = new HttpServer({ host: '127.0.0.1', port: 0, log });
  for (const r of portalRoutes()) server.addRoute(r);
  const api = standInAdminApi(store, opts);
  for (const r of api.routes) server.addRoute(r);
  let messages = 0;
  const feed = new MessageRateFeed({ path: '/admin/api/v1/live', count: () => messages, authorize: () => true, log, intervalMs: 200 });
  feed.attach(server);
  const port = await server.listen();
  return {
    url: `http://127.0.0.1:${port}`,
    api,
    countMessages: (n) => {
      messages += n;
    },
    async close() {
      feed.stop();
      await server.close();
    },
  };
}

export type Rec = Record<string, string | number>;
export const norm = (rows: readonly Rec[], cols: readonly string[]): string[] => rows.map((r) => cols.map((c) => String(r[c])).join('|')).sort();

export function parseCsv(text: string): Rec[] {
  const lines = text.trim().split(/\r\n/);
  const head = (lines[0] ?? '').split(',');
  // The figures and the generated names contain no commas or quotes except the hostile domain, which has neither.
  return lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [head[i] as string, v])));
}

export async function tableRows(page: Page, chart: string): Promise<Rec[]> {
  const card = page.locator(`[data-chart="${chart}"]`);
  await card.locator('[data-action="toggle-table"]').click();
  const head = await card.locator('thead th').allTextContents();
  const cells = await card.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  await card.locator('[data-action="toggle-table"]').click();
  return cells.map((c) => Object.fromEntries(head.map((h, i) => [h, c[i] ?? ''])));
}

/** Every Overview chart's table view shows exactly the known answers for `events` over `range`. */
export async function expectKnownTables(page: Page, events: readonly MetadataEvent[], range: Range): Promise<void> {
  const monthly = oracle.monthly(events, range);
  expect(monthly).toHaveLength(12);
  const cols = ['month', 'users', 'messages'];
  expect(norm(await tableRows(page, 'users'), cols)).toEqual(norm(monthly, cols));
  expect(norm(await tableRows(page, 'messages'), cols)).toEqual(norm(monthly, cols));
  const side = ['month', 'side', 'users', 'messages'];
  expect(norm(await tableRows(page, 'side'), side)).toEqual(norm(oracle.byGroup(events, range, 'side') as Rec[], side));
  const platform = ['month', 'platform', 'users', 'messages'];
  expect(norm(await tableRows(page, 'platform'), platform)).toEqual(norm(oracle.byGroup(events, range, 'platform') as Rec[], platform));
  const dom = ['domain', 'users', 'messages'];
  expect(norm(await tableRows(page, 'domains'), dom)).toEqual(norm(oracle.topDomains(events, range, 10), dom));
}
