/**
 * Streams a recording's playback rendition with RFC 9110 single-range semantics:
 * 200 with the whole object (no Range, a malformed or multi-range header, or an
 * If-Range that no longer matches), 206 with Content-Range for one satisfiable
 * range (clamped to the object), 416 with `Content-Range: bytes *\/<size>` when
 * nothing is satisfiable. The store read is tied to the client: a disconnect
 * aborts it (AbortController on request/response close, plus the pipeline).
 *
 * Early reads (createAudioPrefetch): for a recording whose object this process
 * served before, the store read may start at the same time as the recording's
 * row is loaded and checked, instead of after it, so that a ranged request costs
 * max(row lookup, store read) rather than their sum. The authorization decision
 * is unchanged and comes first: every request still loads the row fresh and runs
 * the role, scope and visibility checks, and not one header or byte of audio is
 * sent (nor any access-log entry written) before they pass. The early read is
 * used only when the fresh row still names the same object (key and sha256);
 * otherwise, and whenever the checks refuse, it is aborted and discarded. The
 * cost of a refused request is a store read started and aborted, never data.
 */
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { Principal } from '../domain/roles.js';
import type { RecordingRow } from '../db/recordings.js';
import type { AppDeps } from '../deps.js';
import { ifRangeMatches, parseRangeHeader } from './range.js';
import type { GetResult, RangeRequest } from '../storage/object-store.js';
import type { ListenLog } from './listen-log.js';
import { storeErrorToAppError } from '../http/store-errors.js';

/** A store read started before the row check (see createAudioPrefetch). */
export interface EarlyRead {
  readonly key: string;
  readonly sha256: string;
  readonly got: Promise<GetResult>;
  readonly controller: AbortController;
}

/** The columns a playback request needs (a subset of the row: never the waveform). */
export type PlaybackRow = Pick<
  RecordingRow,
  | 'id'
  | 'queue'
  | 'status'
  | 'legal_hold'
  | 'expires_at'
  | 'playback_key'
  | 'playback_format'
  | 'playback_content_type'
  | 'playback_sha256'
>;

/** The most recordings whose object location is remembered for early reads. */
export const PREFETCH_MAX_HINTS = 10_000;

/** Aborts the read when the response closes before it finished (client gone). */
function abortOnClose(res: Response, controller: AbortController): () => void {
  const abort = () => {
    if (!res.writableFinished) controller.abort();
  };
  res.once('close', abort);
  return () => res.off('close', abort);
}

/** Aborts an early read that will not be used and releases its body, whenever it settles. */
export function discardEarlyRead(early: EarlyRead | undefined): void {
  if (!early) return;
  early.controller.abort();
  early.got.then(
    (got) => got.body.destroy(),
    () => undefined,
  );
}

/**
 * Remembers, per recording id, which object its audio is (key and sha256, as the
 * row said when it was last served) and starts early reads from that hint. The
 * hint is only a guess: `streamAudio` uses the early read only when the fresh
 * row names the same object. Bounded (oldest hints dropped first).
 */
export function createAudioPrefetch(deps: Pick<AppDeps, 'store'>, options: { maxHints?: number } = {}) {
  const maxHints = options.maxHints ?? PREFETCH_MAX_HINTS;
  const hints = new Map<string, { key: string; sha256: string }>();
  return {
    remember(row: PlaybackRow): void {
      const known = hints.get(row.id);
      if (known && known.key === row.playback_key && known.sha256 === row.playback_sha256) return;
      hints.delete(row.id);
      hints.set(row.id, { key: row.playback_key, sha256: row.playback_sha256 });
      while (hints.size > maxHints) hints.delete(hints.keys().next().value!);
    },
    /** Starts reading the hinted object for this GET (never for HEAD); undefined without a hint. */
    start(id: string, req: Request, res: Response): EarlyRead | undefined {
      const hint = req.method === 'GET' ? hints.get(id) : undefined;
      if (!hint) return undefined;
      const controller = new AbortController();
      const release = abortOnClose(res, controller);
      const range = requestedRange(req, `"${hint.sha256}"`);
      const got = deps.store.get(hint.key, { range, signal: controller.signal });
      // Settled by streamAudio or by discardEarlyRead; never an unhandled rejection. The body gets an
      // error listener at once: a read discarded after its row was refused is destroyed with an
      // AbortError that nobody else listens to (that crashed the process).
      got.then((opened) => {
        opened.body.on('error', () => undefined);
        release();
      }, release);
      got.catch(() => undefined);
      return { key: hint.key, sha256: hint.sha256, got, controller };
    },
  };
}

export type AudioPrefetch = ReturnType<typeof createAudioPrefetch>;

/**
 * The range to serve: none for no, a malformed or a multi-range header, or an If-Range that no longer matches `etag`.
 */
function requestedRange(req: Request, etag: string): RangeRequest | undefined {
  const parsed = parseRangeHeader(req.get('range'));
  return parsed !== undefined && parsed !== 'ignore' && ifRangeMatches(req.get('if-range'), etag) ? parsed : undefined;
}

/** A strong ETag from the playback object's content hash (changes only with the bytes). */
export function playbackEtag(row: Pick<PlaybackRow, 'playback_sha256'>): string {
  return `"${row.playback_sha256}"`;
}

function extensionOf(row: PlaybackRow): string {
  const ext = row.playback_key.split('.').pop() ?? '';
  return /^[a-z0-9]{1,8}$/.test(ext) ? ext : /^[a-z0-9]{1,8}$/.test(row.playback_format) ? row.playback_format : 'bin';
}

export async function streamAudio(options: {
  deps: AppDeps;
  listenLog: ListenLog;
  principal: Principal;
  row: PlaybackRow;
  req: Request;
  res: Response;
  /** A read started before the row check; used only when it reads the object this row names, else discarded. */
  early?: EarlyRead;
}): Promise<void> {
  const { deps, listenLog, principal, row, req, res } = options;
  const etag = playbackEtag(row);
  const download = req.query.download === '1';
  const range = requestedRange(req, etag);

  // The early read was started from the same headers with the same ETag: the same range.
  const early =
    options.early && options.early.key === row.playback_key && options.early.sha256 === row.playback_sha256
      ? options.early
      : undefined;
  if (!early) discardEarlyRead(options.early);
  const controller = early?.controller ?? new AbortController();
  // 'close' on the response fires when it finished or when the connection went away.
  const release = abortOnClose(res, controller);

  let got: GetResult;
  try {
    got = await (early ? early.got : deps.store.get(row.playback_key, { range, signal: controller.signal }));
  } catch (error) {
    const appError = storeErrorToAppError(error, { what: 'Recording' });
    deps.metrics.playbackRequests.inc({ status: String(appError.status) });
    if (appError.code === 'not_found')
      deps.logger.warn({ requestId: req.id, recordingId: row.id }, 'playback object missing behind a visible row');
    throw appError;
  }

  // Logged once the audio is about to flow (nothing is logged for a 416 or a store failure);
  // no audio leaves without its access-log entry.
  try {
    const startsAtZero = !got.range || got.range.start === 0;
    if (req.method === 'HEAD') {
      // Headers only: no audio leaves, nothing to log.
    } else if (download) {
      if (startsAtZero) await listenLog.download(principal, row.id, req.id);
    } else {
      await listenLog.play(principal, row.id, req.id);
    }
  } catch (error) {
    got.body.destroy();
    throw error;
  }

  const status = got.range ? 206 : 200;
  const length = got.range ? got.range.end - got.range.start + 1 : got.info.size;
  res.status(status);
  res.setHeader('Content-Type', row.playback_content_type || got.info.contentType);
  res.setHeader('Content-Length', String(length));
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'private, no-store');
  res.setHeader(
    'Content-Disposition',
    `${download ? 'attachment' : 'inline'}; filename="recording-${row.id}.${extensionOf(row)}"`,
  );
  if (got.range) res.setHeader('Content-Range', `bytes ${got.range.start}-${got.range.end}/${got.info.size}`);
  deps.metrics.playbackRequests.inc({ status: String(status) });

  if (req.method === 'HEAD') {
    got.body.destroy();
    res.end();
    return;
  }
  let sent = 0;
  got.body.on('data', (chunk: Buffer) => {
    sent += chunk.length;
  });
  try {
    await pipeline(got.body, res, { signal: controller.signal });
  } catch (error) {
    // A client that goes away mid-stream is normal (seeking): nothing to report.
    if (controller.signal.aborted || req.destroyed || res.destroyed) return;
    deps.logger.error({ err: error, requestId: req.id, recordingId: row.id }, 'playback stream failed');
    res.destroy();
  } finally {
    deps.metrics.playbackBytes.inc(sent);
    release();
  }
}
