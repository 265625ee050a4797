/**
 * A Kamailio SIP edge of the test's own: installs the Debian packages when
 * they are missing (root + apt), writes a generated config (UDP listener for
 * the external SIP users, WebSocket listener for Parley, registrar, presence
 * in memory, nathelper fixes for WebSocket contacts) into a temp dir and runs
 * `kamailio -DD -E -m 256` on free loopback ports. `restart()` keeps the ports.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/state/managed-redis.ts';
import { dieWithParent, reapOnExit } from '../../src/state/die-with-parent.ts';

export const SIP_PACKAGES = ['kamailio', 'kamailio-websocket-modules', 'kamailio-presence-modules', 'sip-tester', 'sipsak'] as const;
const MODULES_DIR = '/usr/lib/x86_64-linux-gnu/kamailio/modules';
const DBTEXT_SCHEMA = '/usr/share/kamailio/dbtext/kamailio';

function installed(): boolean {
  const bins = ['kamailio', 'sipp', 'sipsak'].every((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0);
  return bins && existsSync(path.join(MODULES_DIR, 'websocket.so')) && existsSync(path.join(MODULES_DIR, 'presence.so'));
}

/** Installs kamailio, its WebSocket and presence modules, sipp and sipsak with apt when missing. */
export function ensureSipPackages(): void {
  if (installed()) return;
  if (process.getuid?.() !== 0) throw new Error(`SIP tests need: ${SIP_PACKAGES.join(' ')} (sudo apt-get install -y ${SIP_PACKAGES.join(' ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', ...SIP_PACKAGES], { encoding: 'utf8', env });
  if (r.status !== 0 || !installed()) throw new Error(`apt-get install ${SIP_PACKAGES.join(' ')} failed:\n${r.stderr}`);
}

/** A free UDP port on the loopback interface (checked by binding it). */
export async function freeUdpPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const candidate = await freePort();
    const ok = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(candidate, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return candidate;
  }
  throw new Error('no free UDP port');
}

export interface KamailioOptions {
  /** Domains served by Parley: the edge routes all of them to Parley's gateway AOR. */
  localDomains?: readonly string[];
  /** The AOR Parley registers (user part); default `parley`. */
  gatewayUser?: string;
  /** Shared memory in MB (64 MB runs out near 1,300 msg/s). */
  sharedMemoryMb?: number;
  children?: number;
}

export class Kamailio {
  readonly dir: string;
  readonly localDomains: readonly string[];
  readonly gatewayUser: string;
  private child: ChildProcess | undefined;
  output = '';

  private constructor(
    readonly udpPort: number,
    readonly wsPort: number,
    private readonly opts: KamailioOptions,
  ) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'parley-kamailio-'));
    this.localDomains = opts.localDomains ?? ['parley.local'];
    this.gatewayUser = opts.gatewayUser ?? 'parley';
  }

  static async start(opts: KamailioOptions = {}): Promise<Kamailio> {
    ensureSipPackages();
    const k = new Kamailio(await freeUdpPort(), await freePort(), opts);
    k.writeConfig();
    await k.run();
    return k;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.wsPort}`;
  }

  /** host:port of the UDP listener, for sipp and sipsak. */
  get udpTarget(): string {
    return `127.0.0.1:${this.udpPort}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private writeConfig(): void {
    const db = path.join(this.dir, 'db');
    mkdirSync(db, { recursive: true });
    for (const t of ['version', 'presentity', 'active_watchers', 'watchers', 'xcap']) copyFileSync(path.join(DBTEXT_SCHEMA, t), path.join(db, t));
    writeFileSync(path.join(this.dir, 'kamailio.cfg'), kamailioConfig({
      udpPort: this.udpPort,
      wsPort: this.wsPort,
      dbDir: db,
      localDomains: this.localDomains,
      gatewayUser: this.gatewayUser,
      children: this.opts.children ?? 4,
    }));
  }

  private async run(timeoutMs = 20_000): Promise<void> {
    const cfg = path.join(this.dir, 'kamailio.cfg');
    const check = spawnSync('kamailio', ['-c', '-f', cfg], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`kamailio config check failed:\n${check.stderr}`);
    // Never outlives the test or benchmark process: SIGTERM, so that Kamailio stops its worker processes too.
    const [cmd, args] = dieWithParent('kamailio', ['-DD', '-E', '-f', cfg, '-m', String(this.opts.sharedMemoryMb ?? 256), '-M', '16', '-P', path.join(this.dir, 'kamailio.pid'), '-Y', this.dir], 'SIGTERM');
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    reapOnExit(child, 'SIGTERM');
    this.child = child;
    const keep = (b: Buffer) => {
      this.output += b.toString();
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    while (!(await canConnect(this.wsPort))) {
      if (child.exitCode !== null) throw new Error(`kamailio exited with ${child.exitCode}:\n${this.output.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`kamailio not listening in time:\n${this.output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
    // Its children may linger a moment on the ports.
    for (let i = 0; i < 100 && (await canConnect(this.wsPort)); i++) await new Promise((r) => setTimeout(r, 50));
  }

  /** Stops and starts again on the same ports (registrations and presence in memory are lost, as in a real restart). */
  async restart(): Promise<void> {
    await this.stop();
    await this.run();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface EdgeConfigInput {
  udpPort: number;
  wsPort: number;
  dbDir: string;
  localDomains: readonly string[];
  gatewayUser: string;
  children: number;
}

/** The edge config; README.md ("Parley behind your own Kamailio") explains each part. */
export function kamailioConfig(c: EdgeConfigInput): string {
  const local = c.localDomains.map((d) => `$rd == "${d}"`).join(' || ');
  const localFrom = c.localDomains.map((d) => `$fd == "${d}"`).join(' || ');
  const gw = c.localDomains[0] ?? 'parley.local';
  return `#!KAMAILIO
debug=1
log_stderror=yes
memdbg=5
memlog=5
children=${c.children}
tcp_children=2
auto_aliases=no
listen=udp:127.0.0.1:${c.udpPort}
listen=tcp:127.0.0.1:${c.wsPort}
${c.localDomains.map((d) => `alias="${d}"`).join('\n')}
tcp_accept_no_cl=yes
tcp_connection_lifetime=3605
tcp_max_connections=2048
udp_mtu=0
mpath="${MODULES_DIR}/"

loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "htable.so"
loadmodule "xhttp.so"
loadmodule "websocket.so"
loadmodule "nathelper.so"
loadmodule "db_text.so"
loadmodule "presence.so"
loadmodule "presence_xml.so"

modparam("tm", "fr_timer", 5000)
modparam("tm", "fr_inv_timer", 30000)
modparam("rr", "enable_double_rr", 1)
modparam("rr", "append_fromtag", 1)
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "gruu_enabled", 0)
modparam("nathelper|registrar", "received_avp", "$avp(RECEIVED)")
modparam("htable", "htable", "pauth=>size=10;autoexpire=0;")
modparam("presence", "db_url", "text://${c.dbDir}")
modparam("presence", "subs_db_mode", 0)
modparam("presence", "publ_cache", 2)
modparam("presence", "server_address", "sip:presence@127.0.0.1:${c.udpPort}")
modparam("presence_xml", "db_url", "text://${c.dbDir}")
modparam("presence_xml", "force_active", 1)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (!sanity_check("17895", "7")) { xlog("L_WARN", "malformed request from $si:$sp\\n"); exit; }
  # WebSocket clients (Parley) have unreachable .invalid contacts: remember where they really are.
  if (proto == WS || proto == WSS) {
    force_rport();
    if (is_method("REGISTER")) { fix_nated_register(); }
    else if (!is_method("ACK|CANCEL") && is_present_hf("Contact")) { add_contact_alias(); }
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  if (has_totag()) { route(WITHINDLG); exit; }
  t_check_trans();
  remove_hf("Route");
  if (is_method("REGISTER")) { if (!save("location")) { sl_reply_error(); } exit; }
  if (is_method("PUBLISH|SUBSCRIBE")) { route(PRESENCE); }
  route(LOCATION);
}

route[WITHINDLG] {
  if (loose_route()) {
    handle_ruri_alias();
    if (!t_relay()) { sl_reply_error(); }
    exit;
  }
  if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
  if (is_method("NOTIFY|SUBSCRIBE") && (${local})) {
    # In-dialog requests of subscriptions the presence server holds.
    if (is_method("SUBSCRIBE")) { handle_subscribe(); exit; }
  }
  sl_send_reply("404", "Not here");
}

# Presence of Parley's users lives here (Parley PUBLISHes it). An external
# watcher Parley's user has subscribed to (the contact accepted) is served by
# the presence server; any other SUBSCRIBE for a local user goes to Parley,
# which turns it into a contact request.
route[PRESENCE] {
  if (is_method("PUBLISH")) {
    if (!t_newtran()) { sl_reply_error(); exit; }
    handle_publish();
    t_release();
    exit;
  }
  if ((${local}) && $hdr(Event) =~ "^presence" && $sht(pauth=>$fU@$fd>$rU@$rd) == 1) {
    if (!t_newtran()) { sl_reply_error(); exit; }
    handle_subscribe();
    t_release();
    exit;
  }
  if ((${localFrom}) && !(${local})) {
    # Parley subscribes on behalf of a local user: that user authorises the contact to watch it.
    $sht(pauth=>$rU@$rd>$fU@$fd) = 1;
  }
}

route[LOCATION] {
  if (is_method("SUBSCRIBE")) { record_route(); }
  if (${local}) {
    # One AOR for every user of Parley's domains: lookup() rewrites the Request-URI to Parley's contact.
    if (!lookup("location", "sip:${c.gatewayUser}@${gw}")) { sl_send_reply("480", "Parley unavailable"); exit; }
  } else {
    if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
  }
  handle_ruri_alias();
  if (!t_relay()) { sl_reply_error(); }
  exit;
}

onreply_route {
  if ((proto == WS || proto == WSS) && status =~ "[12][0-9][0-9]" && is_present_hf("Contact")) { add_contact_alias(); }
}

event_route[xhttp:request] {
  if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
    if (ws_handle_handshake()) { exit; }
  }
  xhttp_reply("404", "Not Found", "", "");
}
`;
}
