/**
 * The trainers' web UI: static pages and browser ES modules from this folder,
 * plus wavesurfer.js from node_modules. Pages are public shells; every datum
 * comes from the API with the session cookie (the browser code reaches the
 * server only over HTTP). Under the global strict CSP: no inline script or style.
 *
 * URL map:
 * - `/` → `/recordings`; `/login`; `/recordings`; `/recordings/:id` (the player)
 * - `/<page>` → `src/web/<page>.html` when it exists (e.g. the privacy page, `privacy.html`)
 * - `/assets/<file>.js|.css` → `src/web/<file>` (browser modules and styles)
 * - `/vendor/wavesurfer.esm.js` → the wavesurfer.js ES module bundle
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { Router } from 'express';
import type { Response } from 'express';
import type { AppDeps } from '../deps.js';

const WEB_DIR = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function wavesurferDist(): string {
  return path.dirname(require.resolve('wavesurfer.js'));
}

const ASSET = /^[a-z0-9][a-z0-9-]*\.(js|css)$/;
const PAGE = /^[a-z][a-z0-9-]*$/;
const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

async function sendFile(res: Response, file: string, type: string): Promise<void> {
  const stat = await fs.promises.stat(file);
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', String(stat.size));
  res.setHeader('Cache-Control', 'no-cache');
  try {
    await pipeline(fs.createReadStream(file), res);
  } catch {
    res.destroy();
  }
}

function sendPage(res: Response, name: string): Promise<void> {
  return sendFile(res, path.join(WEB_DIR, `${name}.html`), 'text/html; charset=utf-8');
}

export function createWebRouter(_deps: AppDeps): Router {
  const router = Router();
  const vendorDir = wavesurferDist();

  router.get('/', (_req, res) => res.redirect(302, '/recordings'));
  router.get('/recordings/:id', (_req, res) => sendPage(res, 'player'));
  router.get('/vendor/wavesurfer.esm.js', (_req, res) => sendFile(res, path.join(vendorDir, 'wavesurfer.esm.js'), TYPES.js!));
  router.get('/assets/:file', (req, res, next) => {
    const file = String(req.params.file);
    const match = ASSET.exec(file);
    const full = path.join(WEB_DIR, file);
    if (!match || !fs.existsSync(full)) return next();
    sendFile(res, full, TYPES[match[1]!]!);
  });
  router.get('/:page', (req, res, next) => {
    const page = String(req.params.page);
    if (!PAGE.test(page) || page === 'player' || !fs.existsSync(path.join(WEB_DIR, `${page}.html`))) return next();
    sendPage(res, page);
  });
  return router;
}
