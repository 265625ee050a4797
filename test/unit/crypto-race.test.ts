import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadContentKey } from '../../src/delivery/crypto.ts';

// Lets a test make existsSync answer "absent" once, as it would for a process
// that checked just before a concurrent process (another node or worker on
// the same data dir) created the key file.
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, existsSync: vi.fn(actual.existsSync) };
});

describe('loadContentKey under a concurrent first start', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    vi.mocked(fs.existsSync).mockReset();
  });

  // BUG: the check-then-create is not atomic. When the other process wins the
  // race, writeFileSync(..., { flag: 'wx' }) throws EEXIST and this process
  // fails to start instead of adopting the winner's key.
  it('adopts the key written by a process that created the file first', () => {
    const dataDir = fs.mkdtempSync(path.join(tmpdir(), 'parley-key-race-'));
    dirs.push(dataDir);
    const winner = randomBytes(32);
    fs.mkdirSync(path.join(dataDir, 'keys'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'keys', 'queue-content.key'), winner.toString('base64'), { mode: 0o600 });
    vi.mocked(fs.existsSync).mockReturnValueOnce(false);

    let key: Buffer | undefined;
    let error: unknown;
    try {
      key = loadContentKey(undefined, dataDir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeUndefined();
    expect(key?.equals(winner)).toBe(true);
  });
});
