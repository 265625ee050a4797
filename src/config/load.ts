import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.ts';
import { configSchema, type Config, type ConfigInput } from './schema.ts';

type Env = Readonly<Record<string, string | undefined>>;
type Kind = 'string' | 'int' | 'bool' | 'list';

/** Environment variables and the config field each one sets. */
const ENV_MAP: ReadonlyArray<readonly [string, string, Kind]> = [
  ['PARLEY_DATA_DIR', 'dataDir', 'string'],
  ['PARLEY_LOG_LEVEL', 'logLevel', 'string'],
  ['PARLEY_DEVELOPMENT_MODE', 'developmentMode', 'bool'],
  ['PARLEY_HTTP_HOST', 'http.host', 'string'],
  ['PARLEY_HTTP_PORT', 'http.port', 'int'],
  ['PARLEY_ADMIN', 'admin.enabled', 'bool'],
  ['PARLEY_ADMIN_HOST', 'admin.host', 'string'],
  ['PARLEY_ADMIN_PORT', 'admin.port', 'int'],
  ['PARLEY_ADMIN_ORIGINS', 'admin.origins', 'list'],
  ['PARLEY_ADMIN_TRUSTED_PROXIES', 'admin.trustedProxies', 'list'],
  ['PARLEY_ADMIN_OIDC_ISSUER', 'admin.oidc.issuer', 'string'],
  ['PARLEY_ADMIN_OIDC_CLIENT_ID', 'admin.oidc.clientId', 'string'],
  ['PARLEY_ADMIN_OIDC_CLIENT_SECRET', 'admin.oidc.clientSecret', 'string'],
  ['PARLEY_ADMIN_OIDC_REDIRECT_URI', 'admin.oidc.redirectUri', 'string'],
  ['PARLEY_ADMIN_OIDC_ADMIN_GROUP', 'admin.oidc.adminGroup', 'string'],
  ['PARLEY_ADMIN_OIDC_ANALYST_GROUP', 'admin.oidc.analystGroup', 'string'],
  ['PARLEY_ADMIN_OIDC_GROUPS_CLAIM', 'admin.oidc.groupsClaim', 'string'],
  ['PARLEY_ADMIN_URL', 'admin.client.url', 'string'],
  ['PARLEY_ADMIN_TOKEN', 'admin.client.token', 'string'],
  ['REDIS_URL', 'redis.url', 'string'],
  ['PARLEY_REDIS_URL', 'redis.url', 'string'],
  ['PARLEY_REDIS_PORT', 'redis.port', 'int'],
  ['PARLEY_REDIS_PREFIX', 'redis.keyPrefix', 'string'],
  ['PARLEY_SHARDS', 'runtime.shards', 'int'],
  ['PARLEY_MAILBOX_LIMIT', 'runtime.mailboxLimit', 'int'],
  ['PARLEY_MAX_INFLIGHT_PER_SHARD', 'runtime.maxInflightPerShard', 'int'],
  ['PARLEY_PASSIVATE_AFTER_MS', 'runtime.passivateAfterMs', 'int'],
  ['PARLEY_SEND_WINDOW_MS', 'runtime.sendWindowMs', 'int'],
  ['PARLEY_COMMIT_WINDOW_MS', 'runtime.commitWindowMs', 'int'],
  ['PARLEY_ENCRYPTION_KEY', 'delivery.encryptionKey', 'string'],
  ['PARLEY_DELIVERY_ATTEMPTS', 'delivery.attempts', 'int'],
  ['PARLEY_DELIVERY_BACKOFF_BASE_MS', 'delivery.backoffBaseMs', 'int'],
  ['PARLEY_DELIVERY_BACKOFF_MAX_MS', 'delivery.backoffMaxMs', 'int'],
  ['PARLEY_DELIVERY_STALLED_INTERVAL_MS', 'delivery.stalledIntervalMs', 'int'],
  ['PARLEY_DELIVERY_FAST_PATH_DELAY_MS', 'delivery.fastPathDelayMs', 'int'],
  ['PARLEY_TENANT', 'federation.tenant', 'string'],
  ['PARLEY_LOCAL_DOMAINS', 'federation.localDomains', 'list'],
  ['PARLEY_DEFAULT_ACTION', 'federation.defaultAction', 'string'],
  ['CLICKHOUSE_URL', 'analytics.url', 'string'],
  ['PARLEY_ANALYTICS_BACKEND', 'analytics.backend', 'string'],
  ['PARLEY_ANALYTICS_RETENTION_MONTHS', 'analytics.retentionMonths', 'int'],
  ['PARLEY_ANALYTICS_BATCH_ROWS', 'analytics.batchRows', 'int'],
  ['PARLEY_ANALYTICS_FLUSH_INTERVAL_MS', 'analytics.flushIntervalMs', 'int'],
  ['PARLEY_ANALYTICS_SPOOL_MAX_BYTES', 'analytics.spoolMaxBytes', 'int'],
  ['PARLEY_LOOPBACK', 'connectors.loopback.enabled', 'bool'],
  ['PARLEY_LOOPBACK_PLATFORMS', 'connectors.loopback.platforms', 'list'],
  ['PARLEY_LOOPBACK_SINK', 'connectors.loopback.sink', 'string'],
  ['PARLEY_LOOPBACK_STREAM', 'connectors.loopback.stream', 'string'],
  ['PARLEY_XMPP', 'connectors.xmpp.enabled', 'bool'],
  ['PARLEY_XMPP_SERVICE', 'connectors.xmpp.service', 'string'],
  ['PARLEY_XMPP_DOMAIN', 'connectors.xmpp.domain', 'string'],
  ['PARLEY_XMPP_SECRET', 'connectors.xmpp.secret', 'string'],
  ['PARLEY_XMPP_BARRIER_DOMAIN', 'connectors.xmpp.barrierDomain', 'string'],
  ['PARLEY_XMPP_ROOMS_DOMAIN', 'connectors.xmpp.roomsDomain', 'string'],
  ['PARLEY_XMPP_ROOMS_SECRET', 'connectors.xmpp.roomsSecret', 'string'],
  ['PARLEY_TEAMS', 'connectors.teams.enabled', 'bool'],
  ['MICROSOFT_APP_ID', 'connectors.teams.appId', 'string'],
  ['MICROSOFT_APP_PASSWORD', 'connectors.teams.appPassword', 'string'],
  ['MICROSOFT_APP_TENANT_ID', 'connectors.teams.appTenantId', 'string'],
  ['PARLEY_TEAMS_APP_ID', 'connectors.teams.appId', 'string'],
  ['PARLEY_TEAMS_APP_PASSWORD', 'connectors.teams.appPassword', 'string'],
  ['PARLEY_TEAMS_APP_TENANT_ID', 'connectors.teams.appTenantId', 'string'],
  ['PARLEY_TEAMS_OPENID_METADATA_URL', 'connectors.teams.openIdMetadataUrl', 'string'],
  ['PARLEY_TEAMS_TOKEN_ISSUER', 'connectors.teams.tokenIssuer', 'string'],
  ['PARLEY_TEAMS_LOGIN_URL', 'connectors.teams.loginUrl', 'string'],
  ['PARLEY_TEAMS_OAUTH_SCOPE', 'connectors.teams.oauthScope', 'string'],
  ['PARLEY_TEAMS_KNOWN_AUTHORITIES', 'connectors.teams.knownAuthorities', 'list'],
  ['PARLEY_TEAMS_CHANNEL_SERVICE', 'connectors.teams.channelService', 'string'],
  ['PARLEY_TEAMS_SERVICE_URL_HOSTS', 'connectors.teams.serviceUrlHosts', 'list'],
  ['PARLEY_TEAMS_CA_FILE', 'connectors.teams.caFile', 'string'],
  ['PARLEY_TEAMS_DOMAIN', 'connectors.teams.domain', 'string'],
  ['PARLEY_PUBLIC_URL', 'connectors.teams.publicUrl', 'string'],
  ['PARLEY_SIP', 'connectors.sip.enabled', 'bool'],
  ['PARLEY_SIP_EDGE_URL', 'connectors.sip.edgeUrl', 'string'],
  ['PARLEY_SIP_DOMAINS', 'connectors.sip.domains', 'list'],
  ['PARLEY_SIP_GATEWAY_USER', 'connectors.sip.gatewayUser', 'string'],
];

function convert(name: string, raw: string, kind: Kind): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `expected an integer, got "${raw}"`);
      return Number(raw);
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      throw new ConfigError(name, `expected true or false, got "${raw}"`);
    }
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const child = node[part];
    if (typeof child !== 'object' || child === null || Array.isArray(child)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Objects merge field by field; arrays and scalars replace. */
function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(source)) {
    const cur = target[k];
    target[k] = isPlainObject(cur) && isPlainObject(v) ? deepMerge(cur, v) : v;
  }
  return target;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Validates a config object; throws ConfigError naming the first bad field. */
export function parseConfig(input: unknown): Readonly<Config> {
  const r = configSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
    throw new ConfigError(field, issue?.message ?? 'invalid');
  }
  return deepFreeze(r.data);
}

/** The one place that reads the environment: file from PARLEY_CONFIG, then PARLEY_* overrides. */
export function loadConfig(env: Env = process.env, overrides: ConfigInput = {}): Readonly<Config> {
  let base: Record<string, unknown> = {};
  const file = env.PARLEY_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError('PARLEY_CONFIG', `cannot read ${file}: ${(e as Error).message}`);
    }
    try {
      base = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError('PARLEY_CONFIG', `${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) {
      throw new ConfigError('PARLEY_CONFIG', `${file} must hold a JSON object`);
    }
  }
  const merged = deepMerge(structuredClone(base), structuredClone(overrides) as Record<string, unknown>);
  const fromEnv = new Map<string, string>();
  for (const [name, path, kind] of ENV_MAP) {
    const raw = env[name];
    if (raw === undefined) continue;
    setPath(merged, path, convert(name, raw, kind));
    fromEnv.set(path, name);
  }
  try {
    return parseConfig(merged);
  } catch (e) {
    const source = e instanceof ConfigError ? [...fromEnv].find(([path]) => e.field === path || e.field.startsWith(`${path}.`)) : undefined;
    if (!source || !(e instanceof ConfigError)) throw e;
    throw new ConfigError(e.field, `${e.message.replace(/^[^:]*: [^:]*: /, '')} (set by ${source[1]})`);
  }
}
