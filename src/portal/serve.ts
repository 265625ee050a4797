import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { HttpRequest, HttpResponse, RouteSpec } from '../core/http.ts';

/**
 * Serves the built portal (src/portal/dist, `npm run build:portal`) as exact
 * routes: GET /portal, /portal/ and /portal/index.html give the page, every
 * built asset its own route under /portal/assets/. Files are read once when
 * the routes are made, kept in memory with a gzip copy. Hashed assets are
 * cached for a year; the page is revalidated every time. Nothing here is
 * dynamic, so every answer carries the portal's strict CSP itself.
 */
export const DEFAULT_DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dist');

export const PORTAL_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

interface Asset {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  cache: string;
}

const COMMON = {
  'content-security-policy': PORTAL_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function load(file: string, cache: string): Asset {
  const body = readFileSync(file);
  const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  const compressible = /^(text\/|image\/svg|application\/json)/.test(type) && body.length > 512;
  return { body, gzip: compressible ? gzipSync(body, { level: 9 }) : undefined, type, cache };
}

function answer(asset: Asset, req: HttpRequest): HttpResponse {
  const gz = asset.gzip && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  return {
    status: 200,
    headers: { ...COMMON, 'content-type': asset.type, 'cache-control': asset.cache, vary: 'accept-encoding', ...(gz ? { 'content-encoding': 'gzip' } : {}) },
    body: gz ? asset.gzip : asset.body,
  };
}

const get = (p: string, handler: RouteSpec['handler']): RouteSpec => ({ method: 'GET', path: p, maxBodyBytes: 0, handler });

/** Route specs for the portal; mount them on the admin listener. A missing build gives a 503 that says how to build. */
export function portalRoutes(distDir: string = DEFAULT_DIST): RouteSpec[] {
  const indexFile = path.join(distDir, 'index.html');
  if (!existsSync(indexFile)) {
    const notBuilt = async (): Promise<HttpResponse> => ({
      status: 503,
      headers: { ...COMMON, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
      body: 'The Parley portal is not built. Run `npm run build:portal` (make run and make test do it), then restart Parley.\n',
    });
    return ['/portal', '/portal/', '/portal/index.html'].map((p) => get(p, notBuilt));
  }
  const index = load(indexFile, 'no-cache');
  const routes = ['/portal', '/portal/', '/portal/index.html'].map((p) => get(p, async (req) => answer(index, req)));
  const assetsDir = path.join(distDir, 'assets');
  if (existsSync(assetsDir)) {
    for (const name of readdirSync(assetsDir)) {
      const asset = load(path.join(assetsDir, name), 'public, max-age=31536000, immutable');
      routes.push(get(`/portal/assets/${name}`, async (req) => answer(asset, req)));
    }
  }
  return routes;
}

/** Size of the built JavaScript and CSS, gzip -9, in bytes (the bundle budget). */
export function bundleGzipBytes(distDir: string = DEFAULT_DIST): number {
  const assetsDir = path.join(distDir, 'assets');
  if (!existsSync(assetsDir)) throw new Error(`portal not built: ${assetsDir} is missing (npm run build:portal)`);
  let total = gzipSync(readFileSync(path.join(distDir, 'index.html')), { level: 9 }).length;
  for (const name of readdirSync(assetsDir)) total += gzipSync(readFileSync(path.join(assetsDir, name)), { level: 9 }).length;
  return total;
}
