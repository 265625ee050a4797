/** Shape of the synthetic traffic generated inside ClickHouse for the analytics and portal benchmarks. */
export interface SyntheticShape {
  internalUsers: number;
  externalUsers: number;
  externalDomains: number;
  /** Domains skewed toward low numbers (so a top-domains chart has a shape) instead of uniform. */
  skewedDomains?: boolean;
}

/**
 * `rows` message_log rows from `numbers()`, starting at `offset`: 12 months up
 * to now, tenants acme and globex, 1/3 inbound, partner domains `d<n>.example`
 * alternating XMPP and SIP. Deterministic (cityHash64 of the row number).
 */
export function generateMessageLogSql(rows: number, offset: number, s: SyntheticShape): string {
  const domain = s.skewedDomains
    ? `toUInt32(floor(pow(cityHash64(number, 5) % 10000 / 10000, 2) * ${s.externalDomains}))`
    : `cityHash64(number, 5) % ${s.externalDomains}`;
  return `INSERT INTO message_log
  SELECT
    toDateTime64(toUnixTimestamp(toDateTime(toStartOfMonth(now()) - toIntervalMonth(11))) + (cityHash64(number, 1) % span), 3, 'UTC') AS ts,
    if(number % 2 = 0, 'acme', 'globex') AS tenant,
    concat('m', toString(number)) AS message_id,
    concat('c', toString(cityHash64(number, 2) % 1000000)) AS chat_id,
    ['im','im','im','im','presence','typing','reaction','file'][1 + number % 8] AS type,
    if(outbound, local_user, ext_user) AS sender,
    if(outbound, ext_user, local_user) AS receiver,
    if(outbound, 'parley.local', ext_domain) AS sender_domain,
    if(outbound, ext_domain, 'parley.local') AS receiver_domain,
    if(outbound, 'teams', ext_platform) AS sender_platform,
    if(outbound, ext_platform, 'teams') AS receiver_platform,
    if(outbound, 'outbound', 'inbound') AS direction,
    'delivered' AS outcome,
    '' AS reason
  FROM (
    SELECT number + ${offset} AS number,
      toUInt64(toUnixTimestamp(now()) - toUnixTimestamp(toDateTime(toStartOfMonth(now()) - toIntervalMonth(11)))) AS span,
      cityHash64(number, 3) % 3 != 0 AS outbound,
      concat('u', toString(cityHash64(number, 4) % ${s.internalUsers}), '@parley.local') AS local_user,
      ${domain} AS d,
      concat('e', toString(cityHash64(number, 6) % ${s.externalUsers}), '@d', toString(d), '.example') AS ext_user,
      concat('d', toString(d), '.example') AS ext_domain,
      if(d % 2 = 0, 'xmpp', 'sip') AS ext_platform
    FROM numbers(${rows})
  )
  SETTINGS insert_deduplicate = 0`;
}
