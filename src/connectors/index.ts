import type { Config } from '../config/schema.ts';
import type { Connector } from '../core/connector.ts';
import { connectRedis } from '../state/redis.ts';
import { LoopbackConnector } from './loopback/loopback.ts';
import { SipConnector } from './sip/index.ts';

export { LoopbackConnector } from './loopback/loopback.ts';
export { SipConnector } from './sip/index.ts';

/** The connectors the configuration enables. Each registers through the Connector interface only. */
export function buildConnectors(config: Readonly<Config>, redisUrl: string): Connector[] {
  const list: Connector[] = [];
  const lb = config.connectors.loopback;
  if (lb.enabled) {
    list.push(
      new LoopbackConnector({
        platforms: lb.platforms,
        sink: lb.sink,
        stream: lb.stream,
        http: lb.http,
        ...(lb.sink === 'redis-stream' ? { redis: connectRedis(redisUrl, 'parley-loopback') } : {}),
      }),
    );
  }
  const sip = config.connectors.sip;
  if (sip.enabled) {
    const { enabled: _enabled, domains, ...rest } = sip;
    list.push(new SipConnector({ ...rest, localDomains: domains ?? config.federation.localDomains }));
  }
  return list;
}
