import http from 'node:http';
import https from 'node:https';
import type { Activity } from 'botbuilder';
import type { TeamsMember } from '../contract.ts';
import type { ServiceUrlAllowlist } from './allowlist.ts';

const MAX_RESPONSE_BYTES = 1024 * 1024;
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** A Bot Connector call that failed: `status` 0 for a network error or a timeout. */
export class BotConnectorError extends Error {
  override readonly name = 'BotConnectorError';
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(raw: string | undefined, now = Date.now()): number | undefined {
  if (!raw) return undefined;
  const t = raw.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(t)) ms = Number(t) * 1000;
  else {
    const at = Date.parse(t);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms)));
}

export interface BotConnectorClientOptions {
  allowlist: ServiceUrlAllowlist;
  /** The bot's bearer token for the Bot Connector; undefined in development mode without credentials. */
  token: () => Promise<string | undefined>;
  /** Extra trusted CAs (PEM). */
  ca?: string;
  timeoutMs: number;
}

/**
 * The Bot Connector REST calls Parley makes (v3 conversations API), over a
 * keep-alive agent. botbuilder's ConnectorClient is not used for these: its
 * pipeline retries 429/5xx in place (hiding Retry-After from the delivery
 * queue, and re-posting after a timeout) and offers no supported way to set a
 * CA. The serviceUrl is checked against the allowlist before the token is
 * fetched or attached.
 */
export class BotConnectorClient {
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  calls = 0;

  constructor(private readonly opts: BotConnectorClientOptions) {
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, ...(opts.ca ? { ca: opts.ca } : {}) });
  }

  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }

  async send(serviceUrl: string, conversationId: string, activity: Partial<Activity>): Promise<string> {
    const r = await this.call<{ id?: string }>(serviceUrl, 'POST', `/v3/conversations/${enc(conversationId)}/activities`, activity);
    return r?.id ?? '';
  }

  async reply(serviceUrl: string, conversationId: string, replyToId: string, activity: Partial<Activity>): Promise<string> {
    const r = await this.call<{ id?: string }>(serviceUrl, 'POST', `/v3/conversations/${enc(conversationId)}/activities/${enc(replyToId)}`, activity);
    return r?.id ?? '';
  }

  async update(serviceUrl: string, conversationId: string, activityId: string, activity: Partial<Activity>): Promise<string> {
    const r = await this.call<{ id?: string }>(serviceUrl, 'PUT', `/v3/conversations/${enc(conversationId)}/activities/${enc(activityId)}`, { ...activity, id: activityId });
    return r?.id ?? activityId;
  }

  async delete(serviceUrl: string, conversationId: string, activityId: string): Promise<void> {
    await this.call(serviceUrl, 'DELETE', `/v3/conversations/${enc(conversationId)}/activities/${enc(activityId)}`);
  }

  async member(serviceUrl: string, conversationId: string, memberId: string): Promise<TeamsMember | undefined> {
    const m = await this.call<Record<string, unknown>>(serviceUrl, 'GET', `/v3/conversations/${enc(conversationId)}/members/${enc(memberId)}`);
    if (!m || typeof m.id !== 'string') return undefined;
    const str = (k: string): string | undefined => (typeof m[k] === 'string' ? (m[k] as string) : undefined);
    const member: TeamsMember = { id: m.id };
    const fields = { aadObjectId: str('aadObjectId'), name: str('name'), email: str('email'), userPrincipalName: str('userPrincipalName'), tenantId: str('tenantId') };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (member as unknown as Record<string, string>)[k] = v;
    return member;
  }

  private async call<T>(serviceUrl: string, method: string, path: string, body?: unknown): Promise<T | undefined> {
    const verdict = this.opts.allowlist.check(serviceUrl);
    if (!verdict.ok) throw new BotConnectorError(`refused to call the Bot Connector: ${verdict.reason}`, 403);
    const token = await this.opts.token();
    const base = verdict.url.href.replace(/\/+$/, '');
    const target = new URL(base + path);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json; charset=utf-8';
      headers['content-length'] = String(payload.length);
    }
    if (token) headers.authorization = `Bearer ${token}`;
    this.calls++;
    const secure = target.protocol === 'https:';
    const { status, headers: resHeaders, text } = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const req = (secure ? https : http).request(
        target,
        { method, headers, agent: secure ? this.httpsAgent : this.httpAgent, timeout: this.opts.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(new BotConnectorError('Bot Connector response too large', 502));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new BotConnectorError(`Bot Connector did not answer within ${this.opts.timeoutMs} ms`, 0)));
      req.on('error', (err) => reject(err instanceof BotConnectorError ? err : new BotConnectorError(`Bot Connector unreachable: ${err.message}`, 0)));
      req.end(payload);
    });
    if (status < 200 || status >= 300) {
      const retryAfter = parseRetryAfter(typeof resHeaders['retry-after'] === 'string' ? resHeaders['retry-after'] : undefined);
      throw new BotConnectorError(`Bot Connector answered ${status} to ${method} ${target.pathname}: ${text.slice(0, 200)}`, status, retryAfter);
    }
    if (!text) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      return undefined;
    }
  }
}

const enc = encodeURIComponent;
