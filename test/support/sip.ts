/**
 * External SIP users for tests: sipsak sends single requests, sipp runs
 * scenarios (a UAS that answers MESSAGE/SUBSCRIBE and logs what it got, a
 * REGISTER, a load generator). Everything talks UDP to the test's Kamailio.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { SipConnector, type SipConnectorOptions } from '../../src/connectors/sip/index.ts';
import { freeUdpPort, type Kamailio } from './kamailio.ts';

/** The real SIP connector with the configuration defaults, pointed at the test's edge. */
export function sipConnectorFor(
  edge: Kamailio,
  overrides: Record<string, unknown> = {},
  state: Pick<SipConnectorOptions, 'redis' | 'keyPrefix'> = {},
): SipConnector {
  const c = parseConfig({ connectors: { sip: { enabled: true, edgeUrl: edge.wsUrl, reconnectBaseMs: 100, reconnectMaxMs: 1000, requestTimeoutMs: 5000, ...overrides } } });
  const { enabled: _e, domains, ...rest } = c.connectors.sip;
  return new SipConnector({ ...rest, localDomains: domains ?? ['parley.local'], ...state });
}

export interface SipsakResult {
  code: number | null;
  out: string;
}

/** sipsak as an external user (UDP, through the edge); resolves with its exit code and output. */
export function sipsak(edge: Kamailio, args: string[], timeoutMs = 15_000): Promise<SipsakResult> {
  return new Promise((resolve) => {
    const child = spawn('sipsak', ['-p', edge.udpTarget, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

export interface RawMessage {
  from: string;
  to: string;
  body: string | Buffer;
  contentType?: string;
  callId?: string;
  extraHeaders?: string[];
}

/** The bytes of a MESSAGE request (Content-Length in bytes). */
export function messageRequest(m: RawMessage): Buffer {
  const body = typeof m.body === 'string' ? Buffer.from(m.body, 'utf8') : m.body;
  const callId = m.callId ?? `${Math.random().toString(36).slice(2)}@test`;
  const head = [
    `MESSAGE sip:${m.to} SIP/2.0`,
    'Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK' + Math.random().toString(36).slice(2),
    'Max-Forwards: 70',
    `From: <sip:${m.from}>;tag=${Math.random().toString(36).slice(2)}`,
    `To: <sip:${m.to}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 MESSAGE',
    `Content-Type: ${m.contentType ?? 'text/plain;charset=UTF-8'}`,
    ...(m.extraHeaders ?? []),
    `Content-Length: ${body.length}`,
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Sends raw request bytes with sipsak (-f, it fixes the Via) and returns the final status it saw (0: none). */
export async function sendRaw(edge: Kamailio, bytes: Buffer, target: string): Promise<{ status: number; out: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-raw-'));
  const file = path.join(dir, 'req.sip');
  writeFileSync(file, bytes);
  try {
    const r = await sipsak(edge, ['-f', file, '-s', `sip:${target}`, '-vv', '-D', '4']);
    return { status: finalStatus(r.out), out: r.out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Sends one datagram to the edge from a socket of its own and resolves with
 * the first final status that comes back (0 after the timeout). For what
 * sipsak cannot send (bodies beyond its buffer, bytes it would rewrite).
 */
export function sendUdp(edge: Kamailio, bytes: Buffer, timeoutMs = 4_000): Promise<{ status: number; out: string }> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    let out = '';
    const done = (status: number): void => {
      clearTimeout(timer);
      sock.close();
      resolve({ status, out });
    };
    const timer = setTimeout(() => done(0), timeoutMs);
    sock.on('message', (m) => {
      out += m.toString('latin1');
      const code = Number(/^SIP\/2\.0 (\d{3})/.exec(m.toString('latin1'))?.[1] ?? 0);
      if (code >= 200) done(code);
    });
    sock.bind(0, '127.0.0.1', () => {
      const port = sock.address().port;
      // Our own Via, so the answer comes back to this socket.
      const fixed = Buffer.from(bytes.toString('latin1').replace(/^Via: SIP\/2\.0\/UDP 127\.0\.0\.1:5999;/m, `Via: SIP/2.0/UDP 127.0.0.1:${port};rport;`), 'latin1');
      sock.send(fixed, edge.udpPort, '127.0.0.1');
    });
  });
}

/** A MESSAGE from an external user, sent with sipsak; resolves with the final status. */
export function sendMessage(edge: Kamailio, m: RawMessage): Promise<{ status: number; out: string }> {
  return sendRaw(edge, messageRequest(m), m.to);
}

/** The status code of the final reply sipsak printed, or 0. */
export function finalStatus(out: string): number {
  const codes = [...out.matchAll(/SIP\/2\.0 (\d{3})/g)].map((m) => Number(m[1])).filter((c) => c >= 200);
  return codes.at(-1) ?? 0;
}

export const sippAnswer = (status: number, reason: string, extra = ''): string => `
  <send><![CDATA[
SIP/2.0 ${status} ${reason}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
${extra}Content-Length: 0

]]></send>`;

/** A sipp process of the test's own with a scenario, on a UDP port of its own. */
export class Sipp {
  readonly dir: string;
  child: ChildProcess | undefined;
  out = '';

  private constructor(readonly port: number) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'parley-sipp-'));
  }

  static async create(): Promise<Sipp> {
    return new Sipp(await freeUdpPort());
  }

  /** Starts sipp with the scenario body (inside <scenario>); resolves once it runs. */
  start(scenario: string, args: string[], trace = true): void {
    const file = path.join(this.dir, 'scenario.xml');
    writeFileSync(file, `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="parley">${scenario}\n</scenario>\n`);
    const tracing = trace ? ['-trace_msg', '-message_file', this.messageFile] : [];
    this.child = spawn('sipp', ['-sf', file, '-i', '127.0.0.1', '-p', String(this.port), ...tracing, '-nostdin', ...args], {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (b: Buffer) => {
      this.out += b.toString();
      if (this.out.length > 100_000) this.out = this.out.slice(-50_000);
    });
    this.child.stderr?.on('data', (b: Buffer) => (this.out += b.toString()));
  }

  get messageFile(): string {
    return path.join(this.dir, 'messages.log');
  }

  /** Everything sipp sent and received so far. */
  messages(): string {
    try {
      return readFileSync(this.messageFile, 'latin1');
    } catch {
      return '';
    }
  }

  /** Waits for the process to end; resolves with its exit code. */
  wait(timeoutMs = 60_000): Promise<number | null> {
    const child = this.child;
    if (!child) return Promise.resolve(null);
    if (child.exitCode !== null) return Promise.resolve(child.exitCode);
    return new Promise((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await done;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Registers `user@domain` at the edge with a contact on the given sipp port (one-shot sipp UAC). */
export function registerUser(edge: Kamailio, user: string, domain: string, contactPort: number, expires = 3600): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-reg-'));
  const file = path.join(dir, 'register.xml');
  writeFileSync(file, `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send><![CDATA[
REGISTER sip:${domain} SIP/2.0
Via: SIP/2.0/UDP [local_ip]:[local_port];branch=[branch]
From: <sip:${user}@${domain}>;tag=[pid]reg[call_number]
To: <sip:${user}@${domain}>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:${user}@127.0.0.1:${contactPort}>
Expires: ${expires}
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
`);
  const r = spawnSync('sipp', ['-sf', file, '-i', '127.0.0.1', '-m', '1', '-nostdin', '-timeout', '10s', '-timeout_error', edge.udpTarget], { cwd: dir, encoding: 'utf8', timeout: 15_000 });
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`REGISTER of ${user}@${domain} failed (${r.status}): ${r.stdout.slice(-2000)} ${r.stderr}`);
}

/** PIDF for a presence state (basic open/closed, an RPID activity element, a note). */
export const pidf = (entity: string, basic: string, activity: string, note: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${entity}"><tuple id="t1"><status><basic>${basic}</basic></status><note>${note}</note></tuple><dm:person id="p1"><rpid:activities>${activity}</rpid:activities></dm:person></presence>`;

/**
 * A sipp scenario for a SIP user that accepts a presence subscription (202)
 * and notifies its state (NOTIFY, active, PIDF `away` with the given note;
 * sipp keywords such as [call_number] work in it).
 */
export const acceptingWatcherTarget = (user: string, note = 'Back at 3'): string => `
  <recv request="SUBSCRIBE" rrs="true">
    <action><ereg regexp=".*" search_in="hdr" header="From:" assign_to="from"/></action>
  </recv>
  ${sippAnswer(202, 'Accepted', 'Expires: 3600\n')}
  <pause milliseconds="100"/>
  <send><![CDATA[
NOTIFY [next_url] SIP/2.0
Via: SIP/2.0/UDP [local_ip]:[local_port];branch=[branch]
[routes]
From: <sip:${user}@partner.example>;tag=[pid]SIPpTag01[call_number]
To: [$from]
Call-ID: [call_id]
CSeq: 1 NOTIFY
Max-Forwards: 70
Contact: <sip:${user}@[local_ip]:[local_port]>
Event: presence
Subscription-State: active;expires=3600
Content-Type: application/pidf+xml
Content-Length: [len]

${pidf(`sip:${user}@partner.example`, 'open', '<rpid:away/>', note)}
]]></send>
  <recv response="200"/>`;
