import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.ts';
import type { Connector } from '../core/connector.ts';
import { ConfigError } from '../core/errors.ts';
import { connectRedis } from '../state/redis.ts';
import { LoopbackConnector } from './loopback/loopback.ts';
import { SipConnector } from './sip/index.ts';
import type { TeamsExperience } from './teams/contract.ts';
import { TeamsConnector } from './teams/connector.ts';
import { XmppConnector } from './xmpp/connector.ts';

export { LoopbackConnector } from './loopback/loopback.ts';
export { SipConnector } from './sip/index.ts';
export { XmppConnector } from './xmpp/connector.ts';
export { TeamsConnector } from './teams/connector.ts';

/** Makes the Teams experience (commands, cards) on the connector's Redis connection and key prefix. */
export type TeamsExperienceFactory = (redis: Redis, keyPrefix: string) => TeamsExperience;

/** The connectors the configuration enables. Each registers through the Connector interface only. */
export function buildConnectors(config: Readonly<Config>, redisUrl: string, teamsExperience?: TeamsExperienceFactory): Connector[] {
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
  const xmpp = config.connectors.xmpp;
  if (xmpp.enabled) {
    if (!config.federation.localDomains.includes(xmpp.domain)) {
      throw new ConfigError('connectors.xmpp.domain', `${xmpp.domain} must also be one of federation.localDomains`);
    }
    if (xmpp.roomsDomain && !config.federation.localDomains.includes(xmpp.roomsDomain)) {
      throw new ConfigError('connectors.xmpp.roomsDomain', `${xmpp.roomsDomain} must also be one of federation.localDomains`);
    }
    list.push(new XmppConnector({ config: xmpp, redis: connectRedis(redisUrl, 'parley-xmpp'), keyPrefix: config.redis.keyPrefix }));
  }
  const sip = config.connectors.sip;
  if (sip.enabled) {
    const { enabled: _enabled, domains, ...rest } = sip;
    list.push(
      new SipConnector({
        ...rest,
        localDomains: domains ?? config.federation.localDomains,
        redis: connectRedis(redisUrl, 'parley-sip'),
        keyPrefix: config.redis.keyPrefix,
      }),
    );
  }
  const teams = config.connectors.teams;
  if (teams.enabled) {
    TeamsConnector.checkConfig(teams, config.developmentMode);
    if (!teamsExperience) throw new ConfigError('connectors.teams.enabled', 'this build has no Teams experience to run the connector with');
    // Concurrent turns' small writes (claim, reference, done) go out in shared writes.
    const redis = connectRedis(redisUrl, 'parley-teams', { enableAutoPipelining: true });
    const experience = teamsExperience(redis, config.redis.keyPrefix);
    list.push(new TeamsConnector({ config: teams, developmentMode: config.developmentMode, redis, keyPrefix: config.redis.keyPrefix, experience }));
  }
  return list;
}
