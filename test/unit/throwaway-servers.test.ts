import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const support = (name: string): string => pathToFileURL(fileURLToPath(new URL(`../support/${name}`, import.meta.url))).href;

/** Whether a process of that pid still runs (a zombie, dead and not yet reaped, does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Starts a process that starts a Redis and a Prosody of its own and says their
 * pids; then `end` ends it without stopping them. Returns the pids and stderr.
 */
async function serversOfAProcessThat(end: 'throws' | 'is killed'): Promise<{ redis: number; prosody: number; kamailioDir: string; err: string; exit: { code: number | null; signal: string | null } }> {
  const code = `
    const { startTestRedis } = await import(${JSON.stringify(support('redis.ts'))});
    const { startProsody } = await import(${JSON.stringify(support('prosody.ts'))});
    const { Kamailio } = await import(${JSON.stringify(support('kamailio.ts'))});
    const redis = await startTestRedis();
    const prosody = await startProsody({ ownSession: true });
    const kamailio = await Kamailio.start();
    console.log(JSON.stringify({ redis: redis.server.pid, prosody: prosody.pid, kamailioDir: kamailio.dir }));
    ${end === 'throws' ? "setTimeout(() => { throw new Error('dies here'); }, 10);" : 'setInterval(() => undefined, 1000);'}
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (c, s) => resolve({ code: c, signal: s })));
  const spoke = new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('}')) resolve();
    }),
  );
  await Promise.race([spoke, exited]);
  if (end === 'is killed') child.kill('SIGKILL');
  const exit = await exited;
  const said = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { redis?: number; prosody?: number; kamailioDir?: string };
  return { redis: said.redis ?? 0, prosody: said.prosody ?? 0, kamailioDir: said.kamailioDir ?? '', err, exit };
}

/** Kamailio's processes (the main one and the workers it forked): their command lines name its config in `dir`. */
function kamailioPids(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function expectGone(servers: { redis: number; prosody: number; kamailioDir: string }): Promise<void> {
  expect(servers.redis).toBeGreaterThan(0);
  expect(servers.prosody).toBeGreaterThan(0);
  expect(servers.kamailioDir).toMatch(/parley-kamailio-/);
  const running = (): number[] => [...[servers.redis, servers.prosody].filter(alive), ...kamailioPids(servers.kamailioDir)];
  const deadline = Date.now() + 10_000;
  while (running().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const survivors = running();
  // A failure here must not leave them running either.
  for (const pid of survivors) process.kill(pid, 'SIGKILL');
  expect(survivors).toEqual([]);
}

describe('throwaway servers (tests, benchmarks)', () => {
  it('do not outlive a process that dies of an uncaught error', async () => {
    const r = await serversOfAProcessThat('throws');
    expect(r.err).toContain('dies here');
    expect(r.exit.code).not.toBe(0);
    await expectGone(r);
  }, 60_000);

  it('do not outlive a process killed with SIGKILL (no exit handler runs: the kernel kills them)', async () => {
    const r = await serversOfAProcessThat('is killed');
    expect(r.exit.signal).toBe('SIGKILL');
    await expectGone(r);
  }, 60_000);
});
