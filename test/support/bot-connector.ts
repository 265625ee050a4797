import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A local stand-in for Microsoft's side of Bot Framework: the channel's
 * OpenID metadata and signing keys (RSA, made per run), the login authority
 * the bot gets its token from, and the Bot Connector's v3 conversations API.
 * Served over https with a certificate made per run by the openssl CLI
 * (`caFile` is what the bot must trust). Real signatures throughout.
 */

export const CHANNEL_ISSUER = 'https://api.botframework.com';
export const BOT_SCOPE = 'https://api.botframework.com';
const TENANT = 'botframework.com';

const b64u = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export interface SignOptions {
  aud?: string;
  iss?: string;
  serviceUrl?: string | null;
  /** Seconds from now (negative: already expired). */
  expiresIn?: number;
  kid?: string;
  alg?: 'RS256' | 'none';
  /** Signs with a key the JWKS does not publish under this kid. */
  foreignKey?: boolean;
  extra?: Record<string, unknown>;
}

export interface ConnectorRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
  status: number;
  at: number;
}

export interface SentActivity {
  op: 'post' | 'reply' | 'update' | 'delete';
  conversationId: string;
  id: string;
  replyToId?: string;
  activity: Record<string, unknown>;
  at: number;
}

export type Fault = { status: number; retryAfter?: string; body?: string } | 'hang';

export interface BotConnectorStandIn {
  url: string;
  caFile: string;
  appId: string;
  appPassword: string;
  /** Kid of the key endorsed for msteams, and of one endorsed only for another channel. */
  kid: string;
  otherChannelKid: string;
  /** Config for the Teams connector pointing everything at this stand-in. */
  teamsConfig(extra?: Record<string, unknown>): Record<string, unknown>;
  sign(claims: SignOptions): string;
  /** Every call to /v3 (accepted or not), and what was accepted. */
  requests: ConnectorRequest[];
  sent: SentActivity[];
  tokenRequests: number;
  metadataRequests: number;
  /** The next /v3 writes answer these, in order. */
  faults: Fault[];
  members: Map<string, Record<string, unknown>>;
  /** Keep `requests` and `sent` (off for benchmarks: counts only). */
  recording: boolean;
  /** Accepted /v3 writes, counted even when not recording. */
  accepted: number;
  stop(): Promise<void>;
}

function makeCertificate(dir: string): { key: string; cert: string; caFile: string } {
  const keyFile = path.join(dir, 'key.pem');
  const caFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', caFile, '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(caFile, 'utf8'), caFile };
}

function jwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject | undefined): string {
  const data = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  if (!key) return `${data}.`;
  return `${data}.${b64u(sign('sha256', Buffer.from(data), key))}`;
}

function verifyJwt(token: string, key: KeyObject): Record<string, unknown> | undefined {
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) return undefined;
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string };
  if (header.alg !== 'RS256') return undefined;
  if (!verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) return undefined;
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (typeof payload.exp !== 'number' || payload.exp * 1000 < Date.now()) return undefined;
  return payload;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

export async function startBotConnector(opts: { appId?: string; appPassword?: string } = {}): Promise<BotConnectorStandIn> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-botconnector-'));
  const tls = makeCertificate(dir);
  const teamsKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `teams-${randomUUID().slice(0, 8)}`;
  const otherChannelKid = `webchat-${randomUUID().slice(0, 8)}`;
  const appId = opts.appId ?? randomUUID();
  const appPassword = opts.appPassword ?? `secret-${randomUUID()}`;
  const hung: ServerResponse[] = [];
  let nextId = 0;
  let base = '';

  const jwk = (k: KeyObject, id: string, endorsements: string[]) => ({ ...k.export({ format: 'jwk' }), kid: id, use: 'sig', endorsements });

  const stand: BotConnectorStandIn = {
    url: '',
    caFile: tls.caFile,
    appId,
    appPassword,
    kid,
    otherChannelKid,
    requests: [],
    sent: [],
    tokenRequests: 0,
    metadataRequests: 0,
    faults: [],
    members: new Map(),
    recording: true,
    accepted: 0,
    teamsConfig: (extra = {}) => ({
      enabled: true,
      appId,
      appPassword,
      openIdMetadataUrl: `${base}/v1/.well-known/openidconfiguration`,
      tokenIssuer: CHANNEL_ISSUER,
      loginUrl: `${base}/${TENANT}`,
      oauthScope: BOT_SCOPE,
      serviceUrlHosts: [new URL(base).host],
      caFile: tls.caFile,
      ...extra,
    }),
    sign(c: SignOptions): string {
      const now = Math.floor(Date.now() / 1000);
      const exp = now + (c.expiresIn ?? 3600);
      const payload: Record<string, unknown> = {
        iss: c.iss ?? CHANNEL_ISSUER,
        aud: c.aud ?? appId,
        nbf: Math.min(now - 60, exp - 120),
        iat: Math.min(now - 60, exp - 120),
        exp,
        ...(c.serviceUrl === null ? {} : { serviceurl: c.serviceUrl ?? `${base}/` }),
        ...c.extra,
      };
      const keyId = c.kid ?? kid;
      if (c.alg === 'none') return jwt({ alg: 'none', typ: 'JWT', kid: keyId }, payload, undefined);
      const key = c.foreignKey ? foreign.privateKey : keyId === otherChannelKid ? otherKey.privateKey : teamsKey.privateKey;
      return jwt({ alg: 'RS256', typ: 'JWT', kid: keyId, x5t: keyId }, payload, key);
    },
    async stop() {
      for (const r of hung.splice(0)) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const conversations = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const text = await readBody(req);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const record: ConnectorRequest = { method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, body, status: 0, at: Date.now() };
    if (stand.recording) stand.requests.push(record);
    const answer = (status: number, b?: unknown, headers?: Record<string, string>): void => {
      record.status = status;
      send(res, status, b, headers);
    };
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const claims = token ? verifyJwt(token, teamsKey.publicKey) : undefined;
    if (!claims || claims.aud !== BOT_SCOPE || claims.appid !== appId) return answer(401, { error: { code: 'Unauthorized', message: 'bad or missing bot token' } });
    const m = /^\/v3\/conversations\/([^/]+)\/(activities|members)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return answer(404, { error: { code: 'NotFound' } });
    const conversationId = decodeURIComponent(m[1] as string);
    const target = m[3] ? decodeURIComponent(m[3]) : undefined;
    if (m[2] === 'members') {
      if (req.method !== 'GET' || !target) return answer(405);
      return answer(200, stand.members.get(target) ?? { id: target, name: `Member ${target}`, email: `${target}@contoso.example`, userPrincipalName: `${target}@contoso.example`, aadObjectId: `aad-${target}`, tenantId: 'tenant-1' });
    }
    const fault = stand.faults.shift();
    if (fault === 'hang') {
      record.status = -1;
      hung.push(res);
      return;
    }
    if (fault) return answer(fault.status, fault.body ?? { error: { code: 'Fault', message: `injected ${fault.status}` } }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    const activity = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const at = Date.now();
    stand.accepted++;
    if (!stand.recording) return answer(req.method === 'POST' ? 201 : 200, req.method === 'DELETE' ? undefined : { id: `act-${++nextId}` });
    if (req.method === 'POST') {
      const id = `act-${++nextId}`;
      stand.sent.push({ op: target ? 'reply' : 'post', conversationId, id, ...(target ? { replyToId: target } : {}), activity, at });
      return answer(201, { id });
    }
    if (req.method === 'PUT' && target) {
      stand.sent.push({ op: 'update', conversationId, id: target, activity, at });
      return answer(200, { id: target });
    }
    if (req.method === 'DELETE' && target) {
      stand.sent.push({ op: 'delete', conversationId, id: target, activity: {}, at });
      return answer(200);
    }
    return answer(405);
  };

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', base);
    const p = url.pathname;
    if (p === '/v1/.well-known/openidconfiguration') {
      stand.metadataRequests++;
      return send(res, 200, { issuer: CHANNEL_ISSUER, jwks_uri: `${base}/v1/keys`, id_token_signing_alg_values_supported: ['RS256'] });
    }
    if (p === '/v1/keys') return send(res, 200, { keys: [jwk(teamsKey.publicKey, kid, ['msteams']), jwk(otherKey.publicKey, otherChannelKid, ['webchat'])] });
    if (p === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
      return send(res, 200, {
        issuer: `${base}/${TENANT}/v2.0`,
        authorization_endpoint: `${base}/${TENANT}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/${TENANT}/oauth2/v2.0/token`,
        end_session_endpoint: `${base}/${TENANT}/oauth2/v2.0/logout`,
        jwks_uri: `${base}/v1/keys`,
        response_types_supported: ['code', 'token'],
      });
    }
    if (p === `/${TENANT}/oauth2/v2.0/token` && req.method === 'POST') {
      stand.tokenRequests++;
      const form = new URLSearchParams(await readBody(req));
      if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== appId || form.get('client_secret') !== appPassword) {
        return send(res, 401, { error: 'invalid_client', error_description: 'bad client credentials' });
      }
      const scope = (form.get('scope') ?? '').replace(/\/\.default$/, '');
      const now = Math.floor(Date.now() / 1000);
      const token = jwt({ alg: 'RS256', typ: 'JWT', kid }, { iss: `${base}/${TENANT}/`, aud: scope, appid: appId, iat: now, nbf: now, exp: now + 3600 }, teamsKey.privateKey);
      return send(res, 200, { token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: token });
    }
    if (p.startsWith('/v3/conversations/')) return conversations(req, res, url);
    send(res, 404, { error: 'not found' });
  };

  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handler(req, res).catch((err: unknown) => send(res, 500, { error: String(err) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stand.url = base;
  return stand;
}

/** A Teams-like message activity from a user to the bot, through this stand-in's serviceUrl. */
export function teamsMessage(stand: Pick<BotConnectorStandIn, 'url' | 'appId'>, text: string, o: { id?: string; user?: string; conversation?: string; tenant?: string } = {}): Record<string, unknown> {
  const user = o.user ?? '29:user-1';
  return {
    type: 'message',
    id: o.id ?? `m-${randomUUID()}`,
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: `${stand.url}/`,
    from: { id: user, name: 'Alice', aadObjectId: `aad-${user}` },
    recipient: { id: `28:${stand.appId}`, name: 'Parley' },
    conversation: { id: o.conversation ?? `a:conv-${user}`, conversationType: 'personal', tenantId: o.tenant ?? 'tenant-1' },
    channelData: { tenant: { id: o.tenant ?? 'tenant-1' } },
    text,
    textFormat: 'plain',
  };
}
