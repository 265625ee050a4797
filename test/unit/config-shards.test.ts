import { describe, expect, it, vi } from 'vitest';

// A large host: the default shard count comes from os.availableParallelism().
vi.mock('node:os', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:os')>();
  const patched = { ...actual, availableParallelism: () => 128 };
  return { ...patched, default: patched };
});

const { loadConfig } = await import('../../src/config/load.ts');

describe('default shard count on a many-core host', () => {
  // BUG: the default is Math.max(1, availableParallelism()) while the schema
  // caps runtime.shards at 64, and zod does not validate defaults: on a
  // 128-core host the config silently holds 128 shards.
  it('stays within the 1..64 range that an explicit value must respect', () => {
    const shards = loadConfig({}).runtime.shards;
    expect(shards).toBeGreaterThanOrEqual(1);
    expect(shards).toBeLessThanOrEqual(64);
  });

  it('still rejects an explicit 128', () => {
    expect(() => loadConfig({ PARLEY_SHARDS: '128' })).toThrow(/runtime\.shards/);
  });
});
