import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { ConfigError } from '../../src/core/errors.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'parley-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let fileNo = 0;
function configFile(text: string): string {
  const file = path.join(tmp, `config-${++fileNo}.json`);
  writeFileSync(file, text);
  return file;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  const c = loadConfig({});

  it('fills every section with its defaults', () => {
    expect(c.dataDir).toBe('.parley');
    expect(c.logLevel).toBe('info');
    expect(c.developmentMode).toBe(false);
    expect(c.http).toEqual({ host: '0.0.0.0', port: 3978 });
    expect(c.redis.url).toBeUndefined();
    expect(c.redis).toMatchObject({ port: 0, binary: 'redis-server', keyPrefix: 'parley' });
    expect(c.federation).toEqual({ tenant: 'default', localDomains: ['parley.local'], defaultAction: 'allow', domains: [], disabledUsers: [] });
    expect(c.connectors.loopback).toEqual({ enabled: false, platforms: ['loopback'], sink: 'redis-stream', stream: 'parley:loopback:out', http: true });
    expect(c.delivery.encryptionKey).toBeUndefined();
    expect(c.delivery.attempts).toBe(8);
  });

  it('picks a shard count within the allowed range', () => {
    expect(Number.isInteger(c.runtime.shards)).toBe(true);
    expect(c.runtime.shards).toBeGreaterThanOrEqual(1);
    expect(c.runtime.shards).toBeLessThanOrEqual(64);
  });

  it('does not read process.env when given an explicit env', () => {
    const before = process.env.PARLEY_HTTP_PORT;
    process.env.PARLEY_HTTP_PORT = '1111';
    try {
      expect(loadConfig({}).http.port).toBe(3978);
    } finally {
      if (before === undefined) delete process.env.PARLEY_HTTP_PORT;
      else process.env.PARLEY_HTTP_PORT = before;
    }
  });
});

describe('loadConfig environment variables', () => {
  it('maps scalar variables onto their fields', () => {
    const c = loadConfig({
      PARLEY_DATA_DIR: '/var/lib/parley',
      PARLEY_LOG_LEVEL: 'debug',
      PARLEY_HTTP_HOST: '127.0.0.1',
      PARLEY_HTTP_PORT: '8080',
      REDIS_URL: 'redis://cache:6379/2',
      PARLEY_REDIS_PREFIX: 'px',
      PARLEY_SHARDS: '4',
      PARLEY_MAILBOX_LIMIT: '50',
      PARLEY_DELIVERY_ATTEMPTS: '3',
      PARLEY_TENANT: 'acme',
      PARLEY_DEFAULT_ACTION: 'block',
      PARLEY_LOOPBACK_SINK: 'memory',
    });
    expect(c.dataDir).toBe('/var/lib/parley');
    expect(c.logLevel).toBe('debug');
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.redis.url).toBe('redis://cache:6379/2');
    expect(c.redis.keyPrefix).toBe('px');
    expect(c.runtime.shards).toBe(4);
    expect(c.runtime.mailboxLimit).toBe(50);
    expect(c.delivery.attempts).toBe(3);
    expect(c.federation.tenant).toBe('acme');
    expect(c.federation.defaultAction).toBe('block');
    expect(c.connectors.loopback.sink).toBe('memory');
  });

  it('accepts an integer with surrounding spaces', () => {
    expect(loadConfig({ PARLEY_HTTP_PORT: ' 8081 ' }).http.port).toBe(8081);
  });

  it('accepts rediss:// and lets PARLEY_REDIS_URL win over REDIS_URL', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://secure:6380' }).redis.url).toBe('rediss://secure:6380');
    expect(loadConfig({ REDIS_URL: 'redis://a:1', PARLEY_REDIS_URL: 'redis://b:2' }).redis.url).toBe('redis://b:2');
  });

  it('splits, trims, drops empties and lowercases PARLEY_LOCAL_DOMAINS', () => {
    expect(loadConfig({ PARLEY_LOCAL_DOMAINS: ' Corp.Example , parley.local,, ' }).federation.localDomains).toEqual([
      'corp.example',
      'parley.local',
    ]);
  });

  it('maps PARLEY_LOOPBACK_PLATFORMS as a list', () => {
    expect(loadConfig({ PARLEY_LOOPBACK_PLATFORMS: 'xmpp,sip' }).connectors.loopback.platforms).toEqual(['xmpp', 'sip']);
  });

  it.each([
    ['1', true], ['true', true], ['TRUE', true], ['yes', true], ['on', true], [' On ', true],
    ['0', false], ['false', false], ['no', false], ['off', false], ['', false],
  ])('reads PARLEY_LOOPBACK=%j as %s', (raw, want) => {
    expect(loadConfig({ PARLEY_LOOPBACK: raw }).connectors.loopback.enabled).toBe(want);
  });

  it('reads PARLEY_DEVELOPMENT_MODE as a boolean', () => {
    expect(loadConfig({ PARLEY_DEVELOPMENT_MODE: 'true' }).developmentMode).toBe(true);
  });

  it('ignores unknown variables', () => {
    expect(loadConfig({ PARLEY_NOPE: 'x', HOME: '/root' }).http.port).toBe(3978);
  });
});

describe('loadConfig rejects bad values with a ConfigError naming the field', () => {
  it.each([
    [{ PARLEY_HTTP_PORT: 'abc' }, 'PARLEY_HTTP_PORT'],
    [{ PARLEY_HTTP_PORT: '80.5' }, 'PARLEY_HTTP_PORT'],
    [{ PARLEY_HTTP_PORT: '1e3' }, 'PARLEY_HTTP_PORT'],
    [{ PARLEY_HTTP_PORT: '' }, 'PARLEY_HTTP_PORT'],
    [{ PARLEY_SHARDS: 'four' }, 'PARLEY_SHARDS'],
    [{ PARLEY_LOOPBACK: 'maybe' }, 'PARLEY_LOOPBACK'],
    [{ PARLEY_HTTP_PORT: '70000' }, 'http.port'],
    [{ PARLEY_HTTP_PORT: '-1' }, 'http.port'],
    [{ PARLEY_REDIS_PORT: '65536' }, 'redis.port'],
    [{ PARLEY_SHARDS: '0' }, 'runtime.shards'],
    [{ PARLEY_SHARDS: '65' }, 'runtime.shards'],
    [{ REDIS_URL: 'http://x' }, 'redis.url'],
    [{ REDIS_URL: 'localhost:6379' }, 'redis.url'],
    [{ PARLEY_REDIS_PREFIX: 'has space' }, 'redis.keyPrefix'],
    [{ PARLEY_LOG_LEVEL: 'verbose' }, 'logLevel'],
    [{ PARLEY_DEFAULT_ACTION: 'deny' }, 'federation.defaultAction'],
    [{ PARLEY_LOCAL_DOMAINS: 'ok.example,bad_domain' }, 'federation.localDomains.1'],
    [{ PARLEY_LOOPBACK_PLATFORMS: 'slack' }, 'connectors.loopback.platforms.0'],
    [{ PARLEY_LOOPBACK_PLATFORMS: ',' }, 'connectors.loopback.platforms'],
    [{ PARLEY_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') }, 'delivery.encryptionKey'],
    [{ PARLEY_DELIVERY_ATTEMPTS: '0' }, 'delivery.attempts'],
    [{ PARLEY_PASSIVATE_AFTER_MS: '0' }, 'runtime.passivateAfterMs'],
    [{ PARLEY_DATA_DIR: '' }, 'dataDir'],
  ])('%j -> %s', (env, field) => {
    const e = configError(() => loadConfig(env));
    expect(e.field).toBe(field);
    expect(e.message).toContain(`${field}:`);
    expect(e.code).toBe('CONFIG_INVALID');
  });

  it('quotes the bad raw value for conversion errors', () => {
    expect(configError(() => loadConfig({ PARLEY_HTTP_PORT: 'abc' })).message).toContain('"abc"');
  });
});

describe('loadConfig with PARLEY_CONFIG', () => {
  it('reads the JSON file, with env variables taking precedence', () => {
    const file = configFile(JSON.stringify({ http: { host: '10.0.0.1', port: 9000 }, federation: { tenant: 'from-file' } }));
    const c = loadConfig({ PARLEY_CONFIG: file, PARLEY_HTTP_PORT: '9001' });
    expect(c.http).toEqual({ host: '10.0.0.1', port: 9001 });
    expect(c.federation.tenant).toBe('from-file');
  });

  it('takes domain rules and disabled users from the file', () => {
    const file = configFile(
      JSON.stringify({ federation: { domains: [{ domain: 'Partner.Example', action: 'block' }], disabledUsers: ['teams:x'] } }),
    );
    const c = loadConfig({ PARLEY_CONFIG: file });
    expect(c.federation.domains).toEqual([{ domain: 'partner.example', action: 'block', kind: 'partner' }]);
    expect(c.federation.disabledUsers).toEqual(['teams:x']);
  });

  it('validates file values, naming the nested field', () => {
    const file = configFile(JSON.stringify({ federation: { domains: [{ domain: 'ok.example', action: 'maybe' }] } }));
    const e = configError(() => loadConfig({ PARLEY_CONFIG: file }));
    expect(e.field).toBe('federation.domains.0.action');
  });

  it('ignores an empty PARLEY_CONFIG', () => {
    expect(loadConfig({ PARLEY_CONFIG: '' }).http.port).toBe(3978);
  });

  it.each([
    ['truncated JSON', '{"http": {'],
    ['trailing comma', '{"a": 1,}'],
    ['empty file', ''],
  ])('rejects %s, naming PARLEY_CONFIG and the file', (_label, text) => {
    const file = configFile(text);
    const e = configError(() => loadConfig({ PARLEY_CONFIG: file }));
    expect(e.field).toBe('PARLEY_CONFIG');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/not valid JSON/);
  });

  it.each([
    ['an array', '[1, 2]'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"config"'],
    ['a boolean', 'true'],
  ])('rejects a file holding %s', (_label, text) => {
    const file = configFile(text);
    const e = configError(() => loadConfig({ PARLEY_CONFIG: file }));
    expect(e.field).toBe('PARLEY_CONFIG');
    expect(e.message).toMatch(/must hold a JSON object/);
  });

  it.each([
    ['a missing file', () => path.join(tmp, 'does-not-exist.json')],
    ['a directory', () => tmp],
  ])('rejects %s as unreadable', (_label, target) => {
    const file = target();
    const e = configError(() => loadConfig({ PARLEY_CONFIG: file }));
    expect(e.field).toBe('PARLEY_CONFIG');
    expect(e.message).toContain(`cannot read ${file}`);
  });
});

describe('loadConfig overrides', () => {
  it('applies overrides over defaults, and env over overrides', () => {
    expect(loadConfig({}, { http: { port: 0 } }).http.port).toBe(0);
    expect(loadConfig({ PARLEY_HTTP_PORT: '5' }, { http: { port: 0 } }).http.port).toBe(5);
  });

  it('validates overrides too', () => {
    expect(configError(() => loadConfig({}, { runtime: { shards: 0 } })).field).toBe('runtime.shards');
  });

  it('neither mutates nor freezes the overrides object', () => {
    const overrides: ConfigInput = { http: { port: 1 }, federation: { localDomains: ['a.example'] } };
    const copy = structuredClone(overrides);
    loadConfig({ PARLEY_HTTP_PORT: '2', PARLEY_TENANT: 't' }, overrides);
    expect(overrides).toEqual(copy);
    expect(Object.isFrozen(overrides.http)).toBe(false);
    expect(Object.isFrozen(overrides.federation?.localDomains)).toBe(false);
  });

  // BUG: file and overrides are merged shallowly ({ ...base, ...overrides }),
  // so overriding one field of a section drops the file's other fields there.
  it('merges overrides into the file per field, not per section', () => {
    const file = configFile(JSON.stringify({ http: { host: '127.0.0.1' }, federation: { tenant: 'file-tenant' } }));
    const c = loadConfig({ PARLEY_CONFIG: file }, { http: { port: 0 }, federation: { defaultAction: 'block' } });
    expect(c.http).toEqual({ host: '127.0.0.1', port: 0 });
    expect(c.federation.tenant).toBe('file-tenant');
    expect(c.federation.defaultAction).toBe('block');
  });
});

describe('parseConfig', () => {
  it('accepts an empty object and fills defaults', () => {
    expect(parseConfig({}).http.port).toBe(3978);
  });

  it.each([null, [], 'x', 3])('rejects %j at the root', (input) => {
    expect(configError(() => parseConfig(input)).field).toBe('(root)');
  });

  it('names the first bad nested field', () => {
    const e = configError(() => parseConfig({ http: { port: 'eighty' } }));
    expect(e.field).toBe('http.port');
    expect(e.message).toMatch(/^Configuration is invalid: http\.port: /);
  });

  it('returns a deeply frozen config', () => {
    const c = loadConfig({ PARLEY_LOCAL_DOMAINS: 'a.example' }, { federation: { domains: [{ domain: 'p.example', action: 'allow' }] } });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.http)).toBe(true);
    expect(Object.isFrozen(c.connectors)).toBe(true);
    expect(Object.isFrozen(c.connectors.loopback)).toBe(true);
    expect(Object.isFrozen(c.connectors.loopback.platforms)).toBe(true);
    expect(Object.isFrozen(c.federation.localDomains)).toBe(true);
    expect(Object.isFrozen(c.federation.domains[0])).toBe(true);
    const mutable = c as unknown as { http: { port: number }; federation: { localDomains: string[] } };
    expect(() => {
      mutable.http.port = 1;
    }).toThrow(TypeError);
    expect(() => mutable.federation.localDomains.push('evil.example')).toThrow(TypeError);
    expect(c.http.port).toBe(3978);
    expect(c.federation.localDomains).toEqual(['a.example']);
  });
});
