import { client, type Client } from '@xmpp/client';
import xml, { type Element } from '@xmpp/xml';
import { afterAll, beforeAll } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.ts';
import { XmppConnector } from '../../src/connectors/xmpp/connector.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { connectRedis } from '../../src/state/redis.ts';
import { startTestHub, until, type TestHub } from './hub.ts';
import { PROSODY_PASSWORD, startProsody, type ProsodyOptions, type TestProsody } from './prosody.ts';
import { startTestRedis, type TestRedis } from './redis.ts';

export interface XmppStack {
  redis: TestRedis;
  prosody: TestProsody;
  t: TestHub;
  xmpp: XmppConnector;
}

export interface XmppStackOptions {
  config?: ConfigInput;
  xmpp?: Record<string, unknown>;
  prosody?: ProsodyOptions;
  /** Route the component through this instead of straight to Prosody (a fault proxy). */
  componentPort?: (prosody: TestProsody) => Promise<number>;
}

export async function startXmppStack(o: XmppStackOptions = {}): Promise<XmppStack> {
  const redis = await startTestRedis();
  const prosody = await startProsody(o.prosody);
  const port = o.componentPort ? await o.componentPort(prosody) : prosody.componentPort;
  let xmpp: XmppConnector | undefined;
  const t = await startTestHub(
    redis.url,
    { runtime: { shards: 2 }, ...o.config, federation: { localDomains: ['parley.local', 'rooms.parley.local'], ...o.config?.federation } },
    {
      loopbackPlatforms: ['teams'],
      connectors: (config, url) => {
        xmpp = new XmppConnector({
          config: {
            ...config.connectors.xmpp,
            enabled: true,
            service: `xmpp://127.0.0.1:${port}`,
            domain: 'parley.local',
            secret: prosody.components['parley.local'] ?? '',
            barrierDomain: 'partner.example',
            ...(prosody.components['rooms.parley.local'] ? { roomsDomain: 'rooms.parley.local', roomsSecret: prosody.components['rooms.parley.local'] } : {}),
            reconnectMinMs: 100,
            reconnectMaxMs: 1000,
            presenceCoalesceMs: 100,
            ...o.xmpp,
          },
          redis: connectRedis(url, 'parley-xmpp-test'),
          keyPrefix: config.redis.keyPrefix,
        });
        return [xmpp];
      },
    },
  );
  if (!xmpp) throw new Error('xmpp connector not made');
  await xmpp.waitOnline(15_000);
  return { redis, prosody, t, xmpp };
}

export async function stopXmppStack(s: Partial<XmppStack>): Promise<void> {
  await s.t?.stop();
  await s.prosody?.stop();
  await s.redis?.stop();
}

/** The stack for a describe block. */
export function useXmppStack(o: XmppStackOptions = {}): XmppStack {
  const ctx = {} as XmppStack;
  beforeAll(async () => {
    Object.assign(ctx, await startXmppStack(o));
  }, 60_000);
  afterAll(async () => {
    await stopXmppStack(ctx);
  });
  return ctx;
}

/** An @xmpp/client user on the test Prosody, keeping every stanza it receives. */
export interface TestXmppUser {
  client: Client;
  jid: string;
  stanzas: Element[];
  waitFor(pred: (el: Element) => boolean, what?: string, timeoutMs?: number): Promise<Element>;
  stop(): Promise<void>;
}

let sessions = 0;

export async function xmppUser(prosody: TestProsody, username: string, domain = 'partner.example', opts: { presence?: boolean } = {}): Promise<TestXmppUser> {
  const c = client({ service: `xmpp://127.0.0.1:${prosody.c2sPort}`, domain, username, password: PROSODY_PASSWORD, resource: `test-${++sessions}` });
  c.on('error', () => undefined);
  c.reconnect.stop();
  const stanzas: Element[] = [];
  c.on('stanza', (el: Element) => stanzas.push(el));
  await c.start();
  // Like a real client: fetch the roster first (roster pushes go only to resources that did), then go available.
  await c.iqCaller.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  if (opts.presence !== false) await c.send(xml('presence'));
  const user: TestXmppUser = {
    client: c,
    jid: `${username}@${domain}`,
    stanzas,
    async waitFor(pred, what = 'stanza', timeoutMs = 15_000) {
      let found: Element | undefined;
      await until(() => (found = stanzas.find(pred)) !== undefined, timeoutMs, what);
      return found as Element;
    },
    async stop() {
      await c.stop().catch(() => undefined);
    },
  };
  return user;
}

/** Deliveries to the Teams side (the loopback connector) matching a predicate. */
export function teamsReceived(t: TestHub, pred: (env: Envelope) => boolean): Envelope[] {
  return t.loopback.delivered.map((d) => d.env).filter(pred);
}

export async function waitTeams(t: TestHub, pred: (env: Envelope) => boolean, what = 'Teams delivery', timeoutMs = 15_000): Promise<Envelope> {
  let found: Envelope | undefined;
  await until(() => (found = t.loopback.delivered.find((d) => pred(d.env))?.env) !== undefined, timeoutMs, what);
  return found as Envelope;
}

export const alice = { platform: 'teams' as const, id: 'alice@parley.local', domain: 'parley.local', name: 'Alice' };
export const ext = (name: string, domain = 'partner.example') => ({ platform: 'xmpp' as const, id: `${name}@${domain}`, domain });
