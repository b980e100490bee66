/**
 * The metric catalog page: a few static files served beside the GraphQL API. The page asks
 * /graphql for everything it shows, so it computes nothing of its own. Chart.js is served from
 * node_modules: the page works without internet access.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const publicDir = join(dirname(fileURLToPath(import.meta.url)), 'public');
const chartJsDir = dirname(createRequire(import.meta.url).resolve('chart.js'));

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Every path served, and nothing else: no path from a request ever reaches the file system. */
const ASSETS = new Map<string, { file: string; type: string }>([
  ['/', { file: join(publicDir, 'index.html'), type: HTML }],
  ['/index.html', { file: join(publicDir, 'index.html'), type: HTML }],
  ['/assets/app.js', { file: join(publicDir, 'app.js'), type: JS }],
  ['/assets/format.js', { file: join(publicDir, 'format.js'), type: JS }],
  ['/assets/page.js', { file: join(publicDir, 'page.js'), type: JS }],
  ['/assets/explore.js', { file: join(publicDir, 'explore.js'), type: JS }],
  ['/assets/dashboards.js', { file: join(publicDir, 'dashboards.js'), type: JS }],
  ['/assets/app.css', { file: join(publicDir, 'app.css'), type: CSS }],
  ['/health', { file: join(publicDir, 'health.html'), type: HTML }],
  ['/assets/health.js', { file: join(publicDir, 'health.js'), type: JS }],
  // The experiment pages (readouts over `experiment(name:)`).
  ['/experiment.html', { file: join(publicDir, 'experiment.html'), type: HTML }],
  ['/assets/experiment.js', { file: join(publicDir, 'experiment.js'), type: JS }],
  ['/assets/vendor/chart.umd.min.js', { file: join(chartJsDir, 'chart.umd.min.js'), type: JS }],
]);

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
};

/** Serves the request when it is for the catalog page or one of its assets; false otherwise. */
export function serveCatalogAsset(req: IncomingMessage, res: ServerResponse): boolean {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const asset = ASSETS.get(path);
  if (!asset) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return true;
  }
  // Read on each request: a few small files, and an edit shows on reload.
  const body = readFileSync(asset.file);
  res.writeHead(200, { 'content-type': asset.type, 'content-length': body.length, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
