import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvelopeOf } from '../../src/core/envelope.ts';
import { HttpServer } from '../../src/server/http-server.ts';
import { envs, only, replyTexts, startExperience, teamsUser, text, turn, type ExperienceFixture } from './experience-support.ts';

const alice = teamsUser('alice', 'Alice');
const BIG = randomBytes(12 * 1024 * 1024);
const SMALL = Buffer.from('hello, file ✓\n');

/** A stand-in for SharePoint's download URLs: real HTTP on loopback. */
let upstream: Server;
let upBase = '';
const hits: string[] = [];
let clock = Date.now();
let f: ExperienceFixture;
let http: HttpServer;
let base = '';

beforeAll(async () => {
  upstream = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/small.txt') return res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL.length }).end(SMALL);
    if (req.url === '/big.bin') return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(BIG);
    if (req.url === '/declared-huge') return res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) }).end();
    if (req.url === '/chunked-huge') {
      res.writeHead(200);
      const chunk = Buffer.alloc(256 * 1024, 1);
      let n = 0;
      const more = (): void => {
        while (n++ < 80) if (!res.write(chunk)) return void res.once('drain', more);
        res.end();
      };
      return more();
    }
    if (req.url === '/stall') return res.writeHead(200).write('partial');
    if (req.url === '/redirect-away') return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
    if (req.url === '/redirect-ok') return res.writeHead(302, { location: '/small.txt' }).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upBase = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  f = await startExperience({ now: () => clock, files: { allowHttp: true, downloadHosts: ['127.0.0.1'], maxBytes: 16 * 1024 * 1024, idleTimeoutMs: 500 } });
  http = new HttpServer({ host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
  for (const r of f.exp.routes()) http.addRoute({ ...r, maxBodyBytes: 0 });
  base = `http://127.0.0.1:${await http.listen()}`;
});
afterAll(async () => {
  await http?.close();
  await new Promise((r) => upstream?.close(r));
  await f?.stop();
});

function fileActivity(name: string, url: string) {
  return text(alice, '', {
    text: undefined,
    attachments: [{ contentType: 'application/vnd.microsoft.teams.file.download.info', contentUrl: `https://contoso.sharepoint.com/personal/alice/Documents/${name}`, name, content: { downloadUrl: url, uniqueId: '1150D938-8870-4044-9F2C-5BBDEBA70C9D', fileType: name.split('.').pop(), etag: '123' } }],
  });
}

async function sendFile(name: string, path: string): Promise<EnvelopeOf<'file'>> {
  await f.exp.handle(turn(text(alice, 'chat bob@example.org'), alice.member));
  const plan = await f.exp.handle(turn(fileActivity(name, `${upBase}${path}`)));
  const env = only(envs(plan)) as EnvelopeOf<'file'>;
  expect(env).toMatchObject({ type: 'file', name, to: { id: 'bob@example.org' } });
  expect(env.url).toMatch(/^https:\/\/parley\.example\.org\/files\?t=[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
  expect(env.url).not.toContain('127.0.0.1');
  return env;
}

const local = (url: string): string => url.replace('https://parley.example.org', base);

describe('files Teams users send: signed Parley links that stream from Teams', () => {
  it('a file attachment becomes a file envelope whose link streams the file', async () => {
    const env = await sendFile('notes.txt', '/small.txt');
    expect(env.mime).toBe('text/plain');
    expect(env.expiresAt).toBeGreaterThan(clock);
    const res = await fetch(local(env.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="notes.txt"; filename*=UTF-8''notes.txt`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(SMALL);
  });

  it('the download URL is kept only encrypted in Redis', async () => {
    const env = await sendFile('secret.txt', '/small.txt?tempauth=SECRET-TOKEN');
    const id = new URL(env.url).searchParams.get('t')?.split('.')[0] ?? '';
    const raw = (await f.redis.get(`exp-test:teams:file:${id}`)) ?? '';
    expect(raw.length).toBeGreaterThan(20);
    expect(Buffer.from(raw, 'base64').toString('latin1')).not.toContain('SECRET');
    expect(raw).not.toContain('SECRET');
  });

  it('refuses a tampered or malformed link (403) and an expired one (410)', async () => {
    const env = await sendFile('a.txt', '/small.txt');
    const t = new URL(env.url).searchParams.get('t') ?? '';
    const flip = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
    expect((await fetch(`${base}/files?t=${flip(t)}`)).status).toBe(403);
    const [id, exp, sig] = t.split('.');
    const later = (parseInt(exp ?? '0', 36) + 3600).toString(36);
    expect((await fetch(`${base}/files?t=${id}.${later}.${sig}`)).status).toBe(403);
    expect((await fetch(`${base}/files?t=nonsense`)).status).toBe(403);
    expect((await fetch(`${base}/files`)).status).toBe(403);
    const saved = clock;
    clock += 2 * 3600_000;
    try {
      const res = await fetch(local(env.url));
      expect(res.status).toBe(410);
      expect(await res.text()).toContain('expired');
    } finally {
      clock = saved;
    }
    await f.redis.del(`exp-test:teams:file:${id}`);
    expect((await fetch(local(env.url))).status).toBe(410);
  });

  it('streams a large file whole, through backpressure', async () => {
    const env = await sendFile('big.bin', '/big.bin');
    const res = await fetch(local(env.url));
    expect(res.status).toBe(200);
    const got = Buffer.from(await res.arrayBuffer());
    expect(got.length).toBe(BIG.length);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(BIG).digest('hex'));
  });

  it('enforces the size cap: announced (413) or discovered while streaming (connection cut)', async () => {
    expect((await fetch(local((await sendFile('huge.bin', '/declared-huge')).url))).status).toBe(413);
    // 20 MB sent without a length, against a 16 MB cap.
    const res = await fetch(local((await sendFile('chunked.bin', '/chunked-huge')).url));
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer().then((b) => b.byteLength)).rejects.toThrow();
  });

  it('gives up on a stalled download, answers 502 for upstream errors and off-host redirects', async () => {
    const stalled = await fetch(local((await sendFile('stall.txt', '/stall')).url));
    await expect(stalled.arrayBuffer().then((b) => b.byteLength)).rejects.toThrow();
    expect((await fetch(local((await sendFile('gone.txt', '/missing')).url))).status).toBe(502);
    const away = await fetch(local((await sendFile('away.txt', '/redirect-away')).url));
    expect(away.status).toBe(502);
    expect(await away.text()).toContain('cannot be shared');
    const ok = await fetch(local((await sendFile('moved.txt', '/redirect-ok')).url));
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(SMALL);
  });

  it('a download URL off the allowed hosts is never linked; the user is told', async () => {
    const plan = await f.exp.handle(turn(fileActivity('x.txt', 'https://evil.example/x.txt')));
    expect(plan.envelopes).toHaveLength(0);
    expect(replyTexts(plan)[0]).toContain('x.txt was not shared: files on evil.example cannot be shared');
    const img = await f.exp.handle(turn(text(alice, 'look', { attachments: [{ contentType: 'image/png', contentUrl: 'https://smba.trafficmanager.net/x' }] })));
    expect(envs(img).map((e) => e.type)).toEqual(['im']);
    expect(replyTexts(img)[0]).toContain('pasted image');
  });

  it('an incoming file is a card with the link', async () => {
    const card = await f.exp.render({ type: 'file', id: 'x:bob@example.org/f1', ts: clock, from: { platform: 'xmpp', id: 'bob@example.org', domain: 'example.org', name: 'Bob' }, to: { platform: 'teams', id: 'alice@parley.local', domain: 'parley.local' }, name: 'report.pdf', size: 2_500_000, mime: 'application/pdf', url: 'https://upload.example.org/abc/report.pdf' });
    const json = JSON.stringify(card?.activity.attachments);
    expect(json).toContain('Action.OpenUrl');
    expect(json).toContain('https://upload.example.org/abc/report.pdf');
    expect(json).toContain('2.4 MB');
  });
});

describe('HttpServer streamed bodies', () => {
  it('stops the producer when the client goes away mid-stream', async () => {
    let closed = false;
    let produced = 0;
    const server = new HttpServer({ host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
    server.addRoute({
      method: 'GET',
      path: '/endless',
      maxBodyBytes: 0,
      handler: async () => ({
        status: 200,
        headers: { 'content-type': 'application/octet-stream' },
        stream: (async function* () {
          try {
            for (;;) {
              produced++;
              yield Buffer.alloc(64 * 1024, 7);
              await new Promise((r) => setTimeout(r, 1));
            }
          } finally {
            closed = true;
          }
        })(),
      }),
    });
    const port = await server.listen();
    try {
      const ctl = new AbortController();
      const res = await fetch(`http://127.0.0.1:${port}/endless`, { signal: ctl.signal });
      const reader = res.body?.getReader();
      await reader?.read();
      ctl.abort();
      await new Promise((r) => setTimeout(r, 300));
      expect(closed).toBe(true);
      const at = produced;
      await new Promise((r) => setTimeout(r, 100));
      expect(produced).toBe(at);
      // inject() hands the stream to the caller as is.
      const injected = await server.inject({ method: 'GET', path: '/endless' });
      const it = injected.stream?.[Symbol.asyncIterator]();
      expect((await it?.next())?.value).toHaveLength(64 * 1024);
      await it?.return?.();
    } finally {
      await server.close();
    }
  });
});
