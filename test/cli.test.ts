import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (env: Record<string, string>, args = ['run']) =>
  spawnSync(process.execPath, [path.join(root, 'bin/parley.js'), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });

describe('parley CLI start-up', () => {
  it.each([
    [{ PARLEY_HTTP_PORT: 'abc' }, /PARLEY_HTTP_PORT.*integer/],
    [{ PARLEY_HTTP_PORT: '70000' }, /http\.port/],
    [{ PARLEY_SHARDS: '0' }, /runtime\.shards/],
    [{ REDIS_URL: 'http://localhost' }, /redis\.url.*redis:\/\//],
    [{ PARLEY_LOOPBACK: 'maybe' }, /PARLEY_LOOPBACK.*true or false/],
    [{ PARLEY_CONFIG: '/nonexistent/parley.json' }, /PARLEY_CONFIG.*cannot read/],
    [{ PARLEY_ENCRYPTION_KEY: 'short' }, /delivery\.encryptionKey/],
  ])('refuses a bad setting %o with one clear error naming the field', (env, pattern) => {
    const r = run(env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/CONFIG_INVALID/);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('prints usage for help and fails on an unknown command', () => {
    expect(run({}, ['help']).stdout).toMatch(/usage: parley/);
    const bad = run({}, ['frobnicate']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown command/);
  });
});
