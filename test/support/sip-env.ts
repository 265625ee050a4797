import { afterAll, beforeAll } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { SipConnector } from '../../src/connectors/sip/index.ts';
import { startTestHub, until, type TestHub } from './hub.ts';
import { Kamailio } from './kamailio.ts';
import { startTestRedis, type TestRedis } from './redis.ts';
import { sipConnectorFor } from './sip.ts';

export interface SipEnv {
  edge: Kamailio;
  redis: TestRedis;
  sip: SipConnector;
  t: TestHub;
}

/** Kamailio + Redis + a hub with the loopback connector as the Teams side and the real SIP connector, for a describe block. */
export function useSipEnv(input: ConfigInput = { runtime: { shards: 2 } }): SipEnv {
  const ctx = {} as SipEnv;
  beforeAll(async () => {
    ctx.edge = await Kamailio.start();
    ctx.redis = await startTestRedis();
    ctx.sip = sipConnectorFor(ctx.edge);
    ctx.t = await startTestHub(ctx.redis.url, input, { loopbackPlatforms: ['teams'], connectors: [ctx.sip] });
    await until(() => ctx.sip.status().state === 'up', 15_000, 'sip connector up');
  });
  afterAll(async () => {
    await ctx.t?.stop();
    await ctx.redis?.stop();
    await ctx.edge?.destroy();
  });
  return ctx;
}

export const sipUser = (name: string, domain = 'partner.example') => ({ platform: 'sip' as const, id: `${name}@${domain}`, domain });
