import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { ContentCipher, loadContentKey } from '../../src/delivery/crypto.ts';

const key = randomBytes(32);
const cipher = new ContentCipher(key);
const plain = Buffer.from('{"type":"im","body":"hello, wörld 👋"}');
const AAD = 'delivery:teams:msg-1';

describe('ContentCipher', () => {
  it('round-trips content', () => {
    const sealed = cipher.seal(plain, AAD);
    expect(cipher.open(sealed, AAD).equals(plain)).toBe(true);
  });

  it('round-trips empty and large content', () => {
    for (const p of [Buffer.alloc(0), randomBytes(1 << 20)]) {
      expect(cipher.open(cipher.seal(p, AAD), AAD).equals(p)).toBe(true);
    }
  });

  it('accepts a Uint8Array that is not a Buffer', () => {
    const u8 = new Uint8Array([1, 2, 3, 250]);
    expect([...cipher.open(cipher.seal(u8, AAD), AAD)]).toEqual([1, 2, 3, 250]);
  });

  it('lays out version byte, 12-byte IV, 16-byte tag, then ciphertext of the same length', () => {
    const sealed = cipher.seal(plain, AAD);
    expect(sealed[0]).toBe(1);
    expect(sealed.length).toBe(1 + 12 + 16 + plain.length);
  });

  it('does not contain the plaintext and uses a fresh IV each time', () => {
    const a = cipher.seal(plain, AAD);
    const b = cipher.seal(plain, AAD);
    expect(a.includes(Buffer.from('hello'))).toBe(false);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it('rejects tampering with any single byte', () => {
    const sealed = cipher.seal(Buffer.from('short secret'), AAD);
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      expect(() => cipher.open(bad, AAD), `byte ${i}`).toThrow();
    }
  });

  it('rejects truncated and extended content', () => {
    const sealed = cipher.seal(plain, AAD);
    expect(() => cipher.open(sealed.subarray(0, sealed.length - 1), AAD)).toThrow();
    expect(() => cipher.open(sealed.subarray(0, 20), AAD)).toThrow(/unknown format/);
    expect(() => cipher.open(Buffer.alloc(0), AAD)).toThrow(/unknown format/);
    expect(() => cipher.open(Buffer.concat([sealed, Buffer.of(0)]), AAD)).toThrow();
  });

  it('rejects a wrong AAD', () => {
    const sealed = cipher.seal(plain, AAD);
    expect(() => cipher.open(sealed, 'delivery:teams:msg-2')).toThrow();
    expect(() => cipher.open(sealed, '')).toThrow();
  });

  it('rejects a different key', () => {
    const sealed = cipher.seal(plain, AAD);
    expect(() => new ContentCipher(randomBytes(32)).open(sealed, AAD)).toThrow();
  });

  it.each([0, 16, 24, 31, 33, 64])('refuses a %i-byte key with a ConfigError on delivery.encryptionKey', (len) => {
    let err: unknown;
    try {
      new ContentCipher(randomBytes(len));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('delivery.encryptionKey');
    expect((err as ConfigError).message).toContain('delivery.encryptionKey');
  });
});

describe('loadContentKey', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'parley-key-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const keyFile = () => path.join(dataDir, 'keys', 'queue-content.key');

  it('returns the configured base64 key without touching the data dir', () => {
    const configured = randomBytes(32);
    expect(loadContentKey(configured.toString('base64'), dataDir).equals(configured)).toBe(true);
    expect(() => statSync(path.join(dataDir, 'keys'))).toThrow();
  });

  it('generates a 32-byte key once, in a 0600 file, and reuses it', () => {
    const first = loadContentKey(undefined, dataDir);
    expect(first.length).toBe(32);
    const st = statSync(keyFile());
    expect(st.mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dataDir, 'keys')).mode & 0o077).toBe(0);
    expect(Buffer.from(readFileSync(keyFile(), 'utf8'), 'base64').equals(first)).toBe(true);

    const contents = readFileSync(keyFile());
    const second = loadContentKey(undefined, dataDir);
    expect(second.equals(first)).toBe(true);
    expect(readFileSync(keyFile()).equals(contents)).toBe(true);
    // and content sealed with the first load opens with the second
    expect(new ContentCipher(second).open(new ContentCipher(first).seal(plain, AAD), AAD).equals(plain)).toBe(true);
  });

  it('generates different keys for different data dirs', () => {
    const other = mkdtempSync(path.join(tmpdir(), 'parley-key-'));
    try {
      expect(loadContentKey(undefined, dataDir).equals(loadContentKey(undefined, other))).toBe(false);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('creates the data dir when missing', () => {
    const nested = path.join(dataDir, 'not', 'yet');
    expect(loadContentKey(undefined, nested).length).toBe(32);
    expect(statSync(path.join(nested, 'keys', 'queue-content.key')).isFile()).toBe(true);
  });

  it('reads an existing key file with surrounding whitespace', () => {
    const existing = randomBytes(32);
    mkdirSync(path.join(dataDir, 'keys'));
    writeFileSync(keyFile(), `\n${existing.toString('base64')}\n`);
    expect(loadContentKey(undefined, dataDir).equals(existing)).toBe(true);
  });

  it.each([
    ['a 16-byte key', randomBytes(16).toString('base64')],
    ['an empty file', ''],
  ])('refuses a key file holding %s with a ConfigError', (_label, text) => {
    mkdirSync(path.join(dataDir, 'keys'));
    writeFileSync(keyFile(), text);
    expect(() => loadContentKey(undefined, dataDir)).toThrow(ConfigError);
    expect(() => loadContentKey(undefined, dataDir)).toThrow(/queue-content\.key/);
  });
});
