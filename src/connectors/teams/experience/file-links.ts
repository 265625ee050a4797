import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { HttpRequest, HttpResponse } from '../../../core/http.ts';

/**
 * Short-lived capability links for files Teams users send: `GET
 * /files?t=<id>.<expiry>.<hmac>`. The Teams download URL behind a link is
 * kept in Redis only encrypted (AES-256-GCM), for the link's lifetime; the
 * route streams the file from Teams with a size cap and an idle timeout, and
 * never follows a redirect off the allowed hosts.
 */
export interface FileLinkOptions {
  redis: Redis;
  keyPrefix: string;
  /** Public base URL of Parley (`https://parley.example.org`), without a trailing slash. */
  baseUrl: string;
  /** Secret of at least 32 bytes; the MAC and encryption keys are derived from it. */
  signingKey: Buffer;
  ttlMs?: number;
  maxBytes?: number;
  /** No bytes from Teams for this long: the download is abandoned. */
  idleTimeoutMs?: number;
  /** Host suffixes a download URL may point to. */
  downloadHosts?: readonly string[];
  /** Tests only: allow http download URLs. */
  allowHttp?: boolean;
  now?: () => number;
  fetch?: typeof fetch;
}

export const FILES_PATH = '/files';
const DEFAULT_HOSTS = ['sharepoint.com', 'sharepoint-df.com', 'sharepoint.us', 'sharepoint.de', 'sharepoint.cn', 'svc.ms'];
const MAX_REDIRECTS = 3;
const TOKEN_RE = /^([A-Za-z0-9_-]{22})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{43})$/;
const MIME_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

interface FileRecord {
  u: string;
  n: string;
  m: string;
}

function problem(status: number, message: string): HttpResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: `${message}\n` };
}

export class FileLinks {
  private readonly mac: Buffer;
  private readonly enc: Buffer;
  private readonly ttlMs: number;
  private readonly maxBytes: number;
  private readonly idleMs: number;
  private readonly hosts: readonly string[];
  private readonly now: () => number;
  private readonly fetch: typeof fetch;

  constructor(private readonly o: FileLinkOptions) {
    if (o.signingKey.length < 32) throw new Error('teams experience: the file link signing key must be at least 32 bytes');
    this.mac = createHmac('sha256', o.signingKey).update('parley teams file links: mac').digest();
    this.enc = createHmac('sha256', o.signingKey).update('parley teams file links: enc').digest();
    this.ttlMs = o.ttlMs ?? 60 * 60_000;
    this.maxBytes = o.maxBytes ?? 100 * 1024 * 1024;
    this.idleMs = o.idleTimeoutMs ?? 20_000;
    this.hosts = (o.downloadHosts ?? DEFAULT_HOSTS).map((h) => h.toLowerCase().replace(/^\./, ''));
    this.now = o.now ?? Date.now;
    this.fetch = o.fetch ?? fetch;
  }

  /** Why a Teams download URL cannot be served; undefined when it can. */
  refuse(url: string): string | undefined {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return 'the download link Teams gave is not a URL';
    }
    if (u.protocol !== 'https:' && !(this.o.allowHttp && u.protocol === 'http:')) return 'the download link Teams gave is not https';
    const host = u.hostname.toLowerCase();
    if (!this.hosts.some((h) => host === h || host.endsWith(`.${h}`))) return `files on ${host} cannot be shared (only SharePoint / OneDrive files)`;
    return undefined;
  }

  private sign(id: string, exp: string): string {
    return createHmac('sha256', this.mac).update(`${id}.${exp}`).digest('base64url');
  }

  /** Stores the download URL encrypted and returns the capability link to it. */
  async create(f: { downloadUrl: string; name: string; mime: string }): Promise<{ url: string; expiresAt: number }> {
    const reason = this.refuse(f.downloadUrl);
    if (reason) throw new Error(reason);
    const id = randomBytes(16).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    const exp = Math.ceil(expiresAt / 1000).toString(36);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.enc, iv);
    c.setAAD(Buffer.from(id));
    const record: FileRecord = { u: f.downloadUrl, n: f.name, m: f.mime };
    const sealed = Buffer.concat([iv, c.update(JSON.stringify(record)), c.final(), c.getAuthTag()]);
    await this.o.redis.set(this.key(id), sealed.toString('base64'), 'PX', this.ttlMs + 60_000);
    return { url: `${this.o.baseUrl}${FILES_PATH}?t=${id}.${exp}.${this.sign(id, exp)}`, expiresAt };
  }

  private key(id: string): string {
    return `${this.o.keyPrefix}:teams:file:${id}`;
  }

  private async open(id: string): Promise<FileRecord | undefined> {
    const raw = await this.o.redis.get(this.key(id));
    if (!raw) return undefined;
    const sealed = Buffer.from(raw, 'base64');
    if (sealed.length < 28) return undefined;
    const d = createDecipheriv('aes-256-gcm', this.enc, sealed.subarray(0, 12));
    d.setAAD(Buffer.from(id));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    try {
      return JSON.parse(Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]).toString('utf8')) as FileRecord;
    } catch {
      return undefined;
    }
  }

  readonly handler = async (req: HttpRequest): Promise<HttpResponse> => {
    const token = new URLSearchParams(req.query).get('t') ?? '';
    const m = TOKEN_RE.exec(token);
    if (!m) return problem(403, 'invalid link');
    const [, id = '', exp = '', sig = ''] = m;
    const want = Buffer.from(this.sign(id, exp));
    if (!timingSafeEqual(want, Buffer.from(sig))) return problem(403, 'invalid link');
    if (parseInt(exp, 36) * 1000 < this.now()) return problem(410, 'this link has expired');
    const record = await this.open(id);
    if (!record) return problem(410, 'this link has expired');
    return this.stream(record);
  };

  private async stream(record: FileRecord): Promise<HttpResponse> {
    const ctl = new AbortController();
    let idle = setTimeout(() => ctl.abort(new Error('download idle timeout')), this.idleMs);
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ctl.abort(new Error('download idle timeout')), this.idleMs);
    };
    let res: Response | undefined;
    try {
      let url = record.u;
      for (let hop = 0; ; hop++) {
        const refused = this.refuse(url);
        if (refused) throw new Error(refused);
        res = await this.fetch(url, { redirect: 'manual', signal: ctl.signal });
        const loc = res.headers.get('location');
        if (res.status < 300 || res.status >= 400 || !loc) break;
        await res.body?.cancel().catch(() => undefined);
        if (hop >= MAX_REDIRECTS) throw new Error('too many redirects');
        url = new URL(loc, url).toString();
      }
    } catch (err) {
      clearTimeout(idle);
      ctl.abort();
      return problem(502, `the file could not be fetched from Teams (${err instanceof Error ? err.message : 'error'})`);
    }
    if (res.status !== 200 || !res.body) {
      clearTimeout(idle);
      await res.body?.cancel().catch(() => undefined);
      return problem(502, `the file could not be fetched from Teams (status ${res.status})`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > this.maxBytes) {
      clearTimeout(idle);
      await res.body.cancel().catch(() => undefined);
      return problem(413, `the file is larger than ${this.maxBytes} bytes`);
    }
    const body = res.body;
    const max = this.maxBytes;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      let sent = 0;
      try {
        for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
          touch();
          sent += chunk.byteLength;
          if (sent > max) throw new Error('file larger than the size cap');
          yield chunk;
        }
      } finally {
        clearTimeout(idle);
        ctl.abort();
      }
    }
    const mime = MIME_RE.test(record.m) ? record.m : 'application/octet-stream';
    return {
      status: 200,
      headers: {
        'content-type': mime,
        'content-disposition': contentDisposition(record.n),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; sandbox",
      },
      stream: chunks(),
    };
  }
}

function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_').slice(0, 200) || 'file';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name.slice(0, 200))}`;
}
