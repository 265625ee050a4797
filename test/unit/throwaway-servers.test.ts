import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const support = (name: string): string => pathToFileURL(fileURLToPath(new URL(`../support/${name}`, import.meta.url))).href;

/** Whether a process of that pid still runs. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('throwaway servers (tests, benchmarks)', () => {
  it('do not outlive a process that dies of an uncaught error', async () => {
    // A process that starts a Redis and a Prosody of its own, says their pids, and dies without stopping them.
    const code = `
      const { startTestRedis } = await import(${JSON.stringify(support('redis.ts'))});
      const { startProsody } = await import(${JSON.stringify(support('prosody.ts'))});
      const redis = await startTestRedis();
      const prosody = await startProsody({ ownSession: true });
      console.log(JSON.stringify({ redis: redis.server.pid, prosody: prosody.pid }));
      setTimeout(() => { throw new Error('dies here'); }, 10);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(err).toContain('dies here');
    expect(exitCode).not.toBe(0);
    const pids = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { redis?: number; prosody?: number };
    expect(pids.redis).toBeGreaterThan(0);
    expect(pids.prosody).toBeGreaterThan(0);
    const deadline = Date.now() + 5_000;
    while ((alive(pids.redis ?? 0) || alive(pids.prosody ?? 0)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pids.redis ?? 0)).toBe(false);
    expect(alive(pids.prosody ?? 0)).toBe(false);
  }, 60_000);
});
