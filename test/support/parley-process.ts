import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/state/managed-redis.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Parley as a separate OS process (`bin/parley.js run`), so tests can kill -9 it. */
export class ParleyProcess {
  child: ChildProcess | undefined;
  output = '';

  private constructor(
    readonly env: Record<string, string>,
    readonly port: number,
  ) {}

  static async create(env: Record<string, string>): Promise<ParleyProcess> {
    const port = await freePort();
    return new ParleyProcess({ ...env, PARLEY_HTTP_PORT: String(port), PARLEY_HTTP_HOST: '127.0.0.1', PARLEY_ADMIN_PORT: '0' }, port);
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, [path.join(root, 'bin/parley.js'), 'run'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (b: Buffer) => (this.output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (this.output += b.toString()));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`parley exited with ${child.exitCode}:\n${this.output}`);
      try {
        const res = await fetch(`${this.base}/readyz`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`parley not ready in time:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  kill9(): Promise<void> {
    return this.signal('SIGKILL');
  }

  signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(sig);
    });
  }
}
