import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ParleyError } from '../core/errors.ts';
import { dieWithParent, reapOnExit } from './die-with-parent.ts';

export interface ManagedRedisOptions {
  binary: string;
  /** Directory for the AOF, pid and port files. */
  dir: string;
  /** 0 picks a free port (or the one a previous run used). */
  port: number;
  log?: Logger;
  /** Restart the server if it dies while Parley runs. */
  supervise?: boolean;
  /**
   * Kill the server when this process exits, however it exits (a test's or
   * a benchmark's throwaway server). Parley's own server is left running
   * instead and adopted by the next start.
   */
  dieWithProcess?: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

async function ping(port: number, timeoutMs: number): Promise<boolean> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * A redis-server child owned by Parley: AOF on (fsync every second),
 * noeviction, loopback only. A server left behind by a Parley that was killed
 * is adopted rather than duplicated.
 */
export class ManagedRedis {
  private child: ChildProcess | undefined;
  private stopping = false;
  private removeDirOnStop = false;
  private constructor(
    private readonly opts: ManagedRedisOptions,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  static async start(opts: ManagedRedisOptions): Promise<ManagedRedis> {
    const probe = spawnSync(opts.binary, ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      throw new ParleyError(
        'CONFIG_INVALID',
        `redis.binary: cannot run "${opts.binary}" (${probe.error.message}); install it (apt-get install redis-server) or set REDIS_URL`,
      );
    }
    mkdirSync(opts.dir, { recursive: true });
    const pidFile = path.join(opts.dir, 'redis.pid');
    const portFile = path.join(opts.dir, 'redis.port');
    if (existsSync(pidFile) && existsSync(portFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      const port = Number(readFileSync(portFile, 'utf8').trim());
      if (pid > 0 && alive(pid) && (opts.port === 0 || opts.port === port) && (await ping(port, 1000))) {
        opts.log?.warn({ pid, port }, 'adopting the redis-server a previous Parley left running');
        const adopted = new ManagedRedis(opts, port);
        return adopted;
      }
    }
    const port = opts.port || (await freePort());
    const m = new ManagedRedis(opts, port);
    await m.spawnServer();
    writeFileSync(portFile, String(port));
    return m;
  }

  private async spawnServer(): Promise<void> {
    const dir = path.resolve(this.opts.dir);
    const args = [
      '--port', String(this.port), '--bind', '127.0.0.1', '--protected-mode', 'yes',
      '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
      '--maxmemory-policy', 'noeviction', '--pidfile', path.join(dir, 'redis.pid'),
      '--logfile', path.join(dir, 'redis.log'), '--daemonize', 'no',
    ];
    const [cmd, argv] = this.opts.dieWithProcess ? dieWithParent(this.opts.binary, args) : [this.opts.binary, args];
    const child = spawn(cmd, argv, { stdio: 'ignore' });
    this.child = child;
    if (this.opts.dieWithProcess) reapOnExit(child);
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopping) return;
      this.opts.log?.error({ code, signal }, 'managed redis-server exited');
      if (this.opts.supervise) setTimeout(() => void this.spawnServer().catch((e: unknown) => this.opts.log?.error({ err: e }, 'redis-server restart failed')), 500);
    });
    const deadline = Date.now() + 15_000;
    while (!(await ping(this.port, 500))) {
      if (!this.child) throw new ParleyError('INTERNAL', `redis-server exited at start; see ${path.join(dir, 'redis.log')}`);
      if (Date.now() > deadline) throw new ParleyError('INTERNAL', `redis-server did not answer on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A server in a fresh temp dir on a free port (tests, benchmarks); `stop` removes the dir. */
  static async temporary(binary = 'redis-server'): Promise<ManagedRedis> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-redis-'));
    const m = await ManagedRedis.start({ binary, dir, port: 0, dieWithProcess: true });
    m.removeDirOnStop = true;
    return m;
  }

  /** For fault tests: kill the server with a signal and leave it down. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return Promise.resolve();
    this.stopping = true;
    return new Promise((resolve) => {
      child.once('exit', () => {
        this.stopping = false;
        resolve();
      });
      child.kill(signal);
    });
  }

  /** Starts the server again on the same port and data (AOF replay). */
  async restart(): Promise<void> {
    if (!this.child) await this.spawnServer();
  }

  async stop(): Promise<void> {
    await this.stopServer();
    if (this.removeDirOnStop) rmSync(this.opts.dir, { recursive: true, force: true });
  }

  private async stopServer(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      });
      return;
    }
    const pidFile = path.join(this.opts.dir, 'redis.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid > 0 && alive(pid)) process.kill(pid, 'SIGTERM');
    }
  }
}
