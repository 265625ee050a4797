import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.ts';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM for message content at rest in queues: version byte, IV, tag, ciphertext. */
export class ContentCipher {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new ConfigError('delivery.encryptionKey', 'must be 32 bytes');
    this.key = key;
  }

  /** `plain` may come in parts: they are sealed as their concatenation. */
  seal(plain: Uint8Array | readonly Uint8Array[], aad: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad));
    const parts = plain instanceof Uint8Array ? [plain] : plain;
    const body = Buffer.concat([...parts.map((p) => c.update(p)), c.final()]);
    return Buffer.concat([Buffer.of(VERSION), iv, c.getAuthTag(), body]);
  }

  open(sealed: Buffer, aad: string): Buffer {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new Error('sealed content: unknown format');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const d = createDecipheriv('aes-256-gcm', this.key, iv);
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(tag);
    return Buffer.concat([d.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), d.final()]);
  }
}

/** The configured key, or one generated once under the data dir (mode 0600). */
export function loadContentKey(configured: string | undefined, dataDir: string): Buffer {
  if (configured) return Buffer.from(configured, 'base64');
  const dir = path.join(dataDir, 'keys');
  const file = path.join(dir, 'queue-content.key');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Written whole under a temporary name, then linked into place: a concurrent
    // or interrupted start never sees a partial key, and the first writer wins.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, randomBytes(32).toString('base64'), { mode: 0o600 });
    try {
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      unlinkSync(tmp);
    }
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new ConfigError('delivery.encryptionKey', `${file} does not hold a 32-byte base64 key`);
  return key;
}
