/**
 * The trainers' web UI: static pages and browser ES modules from this folder,
 * plus wavesurfer.js from node_modules. Pages are public shells; every datum
 * comes from the API with the session cookie (the browser code reaches the
 * server only over HTTP). Under the global strict CSP: no inline script or style.
 *
 * URL map:
 * - `/` → `/recordings`; `/login`; `/recordings`; `/recordings/:id` (the player)
 * - `/<page>` → `src/web/<page>.html` for each page of `WEB_PAGES` (e.g. the privacy page, `privacy.html`)
 * - `/assets/<file>.js|.css` → `src/web/<file>` for each file of `WEB_ASSETS` (browser modules and styles)
 * Both lists are read from this folder once at start; the OpenAPI document enumerates them.
 * - `/assets/settings.js` → the settings the browser needs, made from the config (`TIME_ZONE`)
 * - `/vendor/wavesurfer.esm.js` → the wavesurfer.js ES module bundle, its shadow-DOM `<style>` made a
 *   `<template class="ws-style">` (see `cspSafeWavesurfer`): the player adopts those rules as a
 *   constructed stylesheet, so the strict CSP neither blocks nor reports an inline style
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

/**
 * wavesurfer.js writes `<style>…</style>` into its shadow root, which `style-src 'self'` blocks
 * (and reports as a console error on every player). The same rules as an inert
 * `<template class="ws-style">` are applied by the player as a constructed stylesheet, which the
 * CSP allows. Returns the source unchanged when the bundle no longer has that shape.
 */
export function cspSafeWavesurfer(source: string): string {
  const open = /<style\$\{(\w)\?` nonce="\$\{\1\}"`:""\}>/;
  const match = open.exec(source);
  if (!match) return source;
  const close = source.indexOf('</style>', match.index);
  if (close < 0) return source;
  return (
    source.slice(0, match.index) +
    '<template class="ws-style">' +
    source.slice(match.index + match[0].length, close) +
    '</template>' +
    source.slice(close + '</style>'.length)
  );
}

const ASSET = /^[a-z0-9][a-z0-9-]*\.(js|css)$/;
const PAGE = /^[a-z][a-z0-9-]*$/;
const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
/** This module's own file: `web-routes.js` in a build sits beside the browser modules and is no asset. */
const SELF = path.basename(fileURLToPath(import.meta.url));
const FILES = fs.readdirSync(WEB_DIR).sort();

/**
 * The pages served at `/<page>`: every `<page>.html` here but the player (served at `/recordings/:id`). Read once at
 * start.
 */
export const WEB_PAGES: readonly string[] = FILES.filter((f) => f.endsWith('.html'))
  .map((f) => f.slice(0, -'.html'.length))
  .filter((page) => PAGE.test(page) && page !== 'player');
/** The module made from the config at start (not a file of this folder). */
const SETTINGS = 'settings.js';
/** The browser modules and stylesheets served at `/assets/<file>`. Read once at start. */
export const WEB_ASSETS: readonly string[] = [...FILES.filter((f) => ASSET.test(f) && f !== SELF), SETTINGS].sort();

/** `export const TIME_ZONE = "Europe/Amsterdam";`: what the pages need of the config (nothing secret). */
export function settingsModule(config: AppDeps['config']): string {
  return `export const TIME_ZONE = ${JSON.stringify(config.timeZone)};\n`;
}

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

export function createWebRouter(deps: AppDeps): Router {
  const router = Router();
  const wavesurfer = cspSafeWavesurfer(fs.readFileSync(path.join(wavesurferDist(), 'wavesurfer.esm.js'), 'utf8'));
  const settings = settingsModule(deps.config);

  router.get('/', (_req, res) => res.redirect(302, '/recordings'));
  router.get('/recordings/:id', (_req, res) => sendPage(res, 'player'));
  router.get('/vendor/wavesurfer.esm.js', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.type(TYPES.js!).send(wavesurfer);
  });
  router.get('/assets/:file', (req, res, next) => {
    const file = String(req.params.file);
    if (!WEB_ASSETS.includes(file)) return next();
    if (file === SETTINGS) {
      res.setHeader('Cache-Control', 'no-cache');
      res.type(TYPES.js!).send(settings);
      return;
    }
    sendFile(res, path.join(WEB_DIR, file), TYPES[path.extname(file).slice(1)]!);
  });
  router.get('/:page', (req, res, next) => {
    const page = String(req.params.page);
    if (!WEB_PAGES.includes(page)) return next();
    sendPage(res, page);
  });
  return router;
}
