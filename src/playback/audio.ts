/**
 * Streams a recording's playback rendition with RFC 9110 single-range semantics:
 * 200 with the whole object (no Range, a malformed or multi-range header, or an
 * If-Range that no longer matches), 206 with Content-Range for one satisfiable
 * range (clamped to the object), 416 with `Content-Range: bytes *\/<size>` when
 * nothing is satisfiable. The store read is tied to the client: a disconnect
 * aborts it (AbortController on request/response close, plus the pipeline).
 */
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { Principal } from '../auth/principal.js';
import type { RecordingRow } from '../db/recordings.js';
import type { AppDeps } from '../deps.js';
import { ifRangeMatches, parseRangeHeader } from '../http/range.js';
import type { GetResult, RangeRequest } from '../storage/object-store.js';
import type { ListenLog } from './listen-log.js';
import { storeErrorToAppError } from '../storage/store-errors.js';

/** A strong ETag from the playback object's content hash (changes only with the bytes). */
export function playbackEtag(row: Pick<RecordingRow, 'playback_sha256'>): string {
  return `"${row.playback_sha256}"`;
}

function extensionOf(row: RecordingRow): string {
  const ext = row.playback_key.split('.').pop() ?? '';
  return /^[a-z0-9]{1,8}$/.test(ext) ? ext : /^[a-z0-9]{1,8}$/.test(row.playback_format) ? row.playback_format : 'bin';
}

export async function streamAudio(options: {
  deps: AppDeps;
  listenLog: ListenLog;
  principal: Principal;
  row: RecordingRow;
  req: Request;
  res: Response;
}): Promise<void> {
  const { deps, listenLog, principal, row, req, res } = options;
  const etag = playbackEtag(row);
  const download = req.query.download === '1';

  let range: RangeRequest | undefined;
  const parsed = parseRangeHeader(req.get('range'));
  if (parsed !== undefined && parsed !== 'ignore' && ifRangeMatches(req.get('if-range'), etag)) range = parsed;

  const controller = new AbortController();
  const abort = () => {
    if (!res.writableFinished) controller.abort();
  };
  // 'close' on the response fires when it finished or when the connection went away.
  res.once('close', abort);

  let got: GetResult;
  try {
    got = await deps.store.get(row.playback_key, { range, signal: controller.signal });
  } catch (error) {
    const appError = storeErrorToAppError(error, { what: 'Recording' });
    deps.metrics.playbackRequests.inc({ status: String(appError.status) });
    if (appError.code === 'not_found') deps.logger.warn({ requestId: req.id, recordingId: row.id }, 'playback object missing behind a visible row');
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
  res.setHeader('Content-Disposition', `${download ? 'attachment' : 'inline'}; filename="recording-${row.id}.${extensionOf(row)}"`);
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
    res.off('close', abort);
  }
}
