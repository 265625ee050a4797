import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { LoopbackConnector } from '../../src/connectors/loopback/loopback.ts';
import { im, teamsUser, until, xmppUser } from '../support/hub.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';

const MARKER = 'SECRET-MARKER-7f3c9a';

describe('messages through the spine become content-free rows in embedded ClickHouse', () => {
  let redis: TestRedis;
  let app: App;
  let dataDir: string;
  let loopback: LoopbackConnector;
  beforeAll(async () => {
    redis = await startTestRedis();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-analytics-app-'));
    const config = parseConfig({
      dataDir,
      logLevel: 'silent',
      http: { host: '127.0.0.1', port: 0 },
      admin: { port: 0 },
      redis: { url: redis.url, keyPrefix: `an${Date.now()}` },
      runtime: { shards: 2 },
      federation: { tenant: 'acme', localDomains: ['parley.local'], domains: [{ domain: 'blocked.example', action: 'block' }] },
      analytics: { backend: 'chdb', flushIntervalMs: 100 },
    });
    loopback = new LoopbackConnector({ platforms: ['teams', 'xmpp', 'sip'], sink: 'memory', stream: '', http: false });
    app = await startApp(config, { log: pino({ level: 'silent' }), connectors: () => [loopback] });
  });
  afterAll(async () => {
    await app?.stop();
    await redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes one row per processed message with the right fields, and no content anywhere', async () => {
    const db = app.analytics?.store?.db;
    expect(db?.kind).toBe('chdb');
    if (!db) return;
    const before = Date.now();
    const out = im('an-out-1', teamsUser(1), xmppUser(1), `hello ${MARKER}`);
    const inbound = im('an-in-1', xmppUser(2), teamsUser(2), `reply ${MARKER} <b>bold</b>`);
    const sip = { ...im('an-sip-1', teamsUser(3), { platform: 'sip' as const, id: 'sip:bob@voip.example', domain: 'voip.example' }, MARKER) };
    const blocked = im('an-blk-1', teamsUser(4), xmppUser(4, 'blocked.example'), `blocked ${MARKER}`);
    const acks = await Promise.all([out, inbound, sip, blocked].map((e) => app.hub.ingest(e)));
    expect(acks.map((a) => a.outcome)).toEqual(['accepted', 'accepted', 'accepted', 'blocked']);
    await until(() => loopback.delivered.length >= 3, 20_000, 'deliveries');
    await app.analytics?.writer?.flush();
    const rows = await db.query<Record<string, string>>(
      "SELECT *, toUnixTimestamp64Milli(ts) AS ms FROM message_log WHERE message_id LIKE 'an-%' ORDER BY message_id",
    );
    const byId = new Map(rows.map((r) => [r.message_id, r]));
    expect(byId.get('an-out-1')).toMatchObject({
      tenant: 'acme', type: 'im', sender: 'user1@parley.local', receiver: 'ext1@partner.example',
      sender_domain: 'parley.local', receiver_domain: 'partner.example', sender_platform: 'teams', receiver_platform: 'xmpp',
      direction: 'outbound', outcome: 'delivered', reason: '',
    });
    expect(byId.get('an-in-1')).toMatchObject({ sender: 'ext2@partner.example', receiver: 'user2@parley.local', direction: 'inbound', outcome: 'delivered' });
    expect(byId.get('an-sip-1')).toMatchObject({ receiver: 'sip:bob@voip.example', receiver_platform: 'sip', receiver_domain: 'voip.example' });
    expect(byId.get('an-blk-1')).toMatchObject({ outcome: 'blocked', reason: 'POLICY_DOMAIN_BLOCKED', receiver_domain: 'blocked.example' });
    for (const r of rows) {
      expect(Number(r.ms)).toBeGreaterThanOrEqual(before - 1000);
      expect(Number(r.ms)).toBeLessThanOrEqual(Date.now());
      expect(r.chat_id).not.toBe('');
    }
    // The blocked sender was told, through an error envelope that has its own row.
    await until(() => loopback.delivered.length >= 4, 20_000, 'error notice');
    await app.analytics?.writer?.flush();
    const all = await db.query<Record<string, string>>('SELECT type, receiver, outcome FROM message_log');
    expect(all).toHaveLength(5);
    expect(all).toContainEqual({ type: 'error', receiver: 'user4@parley.local', outcome: 'delivered' });
    // Rollups saw the same rows.
    const rolled = await db.query<{ n: string }>("SELECT sum(messages) AS n FROM usage_daily WHERE tenant = 'acme'");
    expect(Number(rolled[0]?.n)).toBe(all.length);

    // The marker is in no analytics table, in any column, and not in the spool.
    const tables = await db.query<{ name: string }>(
      "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine NOT LIKE '%View%'",
    );
    expect(tables.map((t) => t.name).sort()).toEqual(
      ['admin_audit', 'external_domain_monthly', 'message_log', 'parley_migrations', 'platform_monthly', 'side_monthly', 'tenant_daily', 'tenant_monthly', 'usage_daily', 'user_daily'],
    );
    for (const { name } of tables) {
      const dump = await db.query<Record<string, unknown>>(`SELECT * FROM ${name}`);
      // admin_audit (administrative changes) stays empty: nobody administered this run.
      if (name !== 'admin_audit') expect(dump.length).toBeGreaterThan(0);
      expect(JSON.stringify(dump)).not.toContain(MARKER);
      expect(JSON.stringify(dump)).not.toContain('bold');
    }
    const spool = path.join(dataDir, 'analytics-spool');
    for (const f of readdirSync(spool)) expect(readFileSync(path.join(spool, f), 'utf8')).not.toContain(MARKER);
  });

  it('exposes the writer metrics on /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${app.httpPort}/metrics`)).text();
    expect(text).toMatch(/parley_analytics_rows_written_total\{path="direct"\} [1-9]/);
    expect(text).toContain('parley_analytics_spool_bytes 0');
  });
});
