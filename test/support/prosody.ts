import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { dieWithParent, reapOnExit } from '../../src/state/die-with-parent.ts';
import { freePort } from '../../src/state/managed-redis.ts';

/**
 * A real Prosody on loopback ports of its own, with a generated config: partner
 * VirtualHosts with accounts made up front, and Components for Parley's
 * domain and its room service. Installed with apt when missing.
 */
export interface ProsodyOptions {
  /** VirtualHost -> account names (password is always `pw`). */
  hosts?: Record<string, readonly string[]>;
  /** Component domain -> shared secret. */
  components?: Record<string, string>;
  /** A command Prosody runs under (e.g. valgrind, to count its instructions per stanza); slow starts are waited for. */
  wrap?: readonly string[];
  /**
   * Run Prosody in a session of its own, as a daemon runs: with Linux's
   * autogroup scheduling it then shares the CPU with the test process as a
   * peer, not as one thread among the test process's threads (benchmarks).
   */
  ownSession?: boolean;
}

export interface TestProsody {
  /** The running server's process id (undefined while it is down). */
  readonly pid: number | undefined;
  c2sPort: number;
  componentPort: number;
  dir: string;
  components: Record<string, string>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports and data (after kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

export const PROSODY_PASSWORD = 'pw';

export function ensureProsody(): void {
  if (spawnSync('sh', ['-c', 'command -v prosody']).status === 0) return;
  if (process.getuid?.() !== 0) throw new Error('prosody is not installed: sudo apt-get install -y prosody');
  const r = spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prosody'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('apt-get install prosody failed');
}

const lua = (s: string): string => JSON.stringify(s);

/** Prosody's internal storage escapes every non-alphanumeric byte of a host as %xx. */
const storeName = (s: string): string => s.replace(/[^a-zA-Z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

function config(dir: string, c2sPort: number, componentPort: number, opts: Required<ProsodyOptions>): string {
  const lines = [
    'run_as_root = true',
    `pidfile = ${lua(path.join(dir, 'prosody.pid'))}`,
    `data_path = ${lua(path.join(dir, 'data'))}`,
    `log = { { levels = { min = "info" }, to = "file", filename = ${lua(path.join(dir, 'prosody.log'))} } }`,
    'daemonize = false',
    `interfaces = { "127.0.0.1" }`,
    `c2s_ports = { ${c2sPort} }`,
    'c2s_direct_tls_ports = { }',
    `component_ports = { ${componentPort} }`,
    `component_interfaces = { "127.0.0.1" }`,
    's2s_ports = { }',
    'http_ports = { }',
    'https_ports = { }',
    'c2s_require_encryption = false',
    'allow_unencrypted_plain_auth = true',
    'authentication = "internal_plain"',
    'storage = "internal"',
    'modules_enabled = { "roster", "saslauth", "disco", "ping", "presence", "message", "iq", "offline", "posix", "vcard" }',
    'modules_disabled = { "s2s", "tls", "http" }',
    'limits = { c2s = { rate = "100mb/s" } }',
    'c2s_stanza_size_limit = 1048576',
    // As the README advises for a Prosody that Parley joins: with Nagle's algorithm on, Prosody's small
    // writes wait for the peer's delayed ACK (paced hub -> XMPP p99 40 ms instead of 6 ms).
    'network_settings = { nagle = false }',
    '',
  ];
  for (const host of Object.keys(opts.hosts)) lines.push(`VirtualHost ${lua(host)}`, '');
  for (const [domain, secret] of Object.entries(opts.components)) {
    lines.push(`Component ${lua(domain)}`, `  component_secret = ${lua(secret)}`, '');
  }
  return lines.join('\n');
}

function writeAccounts(dir: string, hosts: Record<string, readonly string[]>): void {
  for (const [host, users] of Object.entries(hosts)) {
    const accounts = path.join(dir, 'data', storeName(host), 'accounts');
    mkdirSync(accounts, { recursive: true });
    for (const u of users) writeFileSync(path.join(accounts, `${storeName(u)}.dat`), `return { ["password"] = ${lua(PROSODY_PASSWORD)}; };\n`);
  }
}

async function waitForPort(port: number, child: ChildProcess, logFile: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prosody exited (${child.exitCode}):\n${safeRead(logFile)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`prosody did not listen on ${port}:\n${safeRead(logFile)}`);
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '(no log)';
  }
}

export async function startProsody(options: ProsodyOptions = {}): Promise<TestProsody> {
  ensureProsody();
  const opts: Required<ProsodyOptions> = {
    hosts: options.hosts ?? { 'partner.example': ['ext1', 'ext2', 'ext3'], 'blocked.example': ['mallory'] },
    components: options.components ?? { 'parley.local': 'component-secret', 'rooms.parley.local': 'rooms-secret' },
    wrap: options.wrap ?? [],
    ownSession: options.ownSession ?? false,
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-prosody-'));
  const c2sPort = await freePort();
  const componentPort = await freePort();
  const cfg = path.join(dir, 'prosody.cfg.lua');
  writeFileSync(cfg, config(dir, c2sPort, componentPort, opts));
  writeAccounts(dir, opts.hosts);
  const logFile = path.join(dir, 'prosody.log');
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const [first = 'prosody', ...rest] = [...opts.wrap, 'prosody', '--config', cfg, '-F'];
    // Never outlives the test or benchmark process, however that ends (an uncaught error, a SIGKILL).
    const [cmd, args] = dieWithParent(first, rest);
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, detached: opts.ownSession });
    c.stderr?.on('data', (d: Buffer) => writeFileSync(path.join(dir, 'stderr.log'), d, { flag: 'a' }));
    reapOnExit(c);
    child = c;
    const startMs = opts.wrap.length > 0 ? 120_000 : 15_000;
    await waitForPort(c2sPort, c, logFile, startMs);
    await waitForPort(componentPort, c, logFile, startMs);
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  };
  await launch();
  return {
    get pid() {
      return child?.pid;
    },
    c2sPort,
    componentPort,
    dir,
    components: opts.components,
    kill,
    restart: launch,
    log: () => safeRead(logFile),
    async stop() {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
