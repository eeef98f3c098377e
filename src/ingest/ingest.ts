/**
 * The one ingest pipeline every transport runs (adapters in ./adapters/ turn what their
 * platform sends into typed call metadata plus an audio file, see ./call-metadata.ts):
 * retention → idempotency → (transcode slot) identify (the WAV header, else ffprobe) →
 * store the original while the rendition is encoded with peaks (which proves the samples
 * decode) → store the rendition → row. One cleanup on any failure.
 *
 * Integrity: the original is stored with the sha256 taken as it arrived, and the store
 * refuses it unless it holds exactly those bytes (on S3 the server checks the digest).
 *
 * Atomicity: objects are written first under fresh keys (a new ULID), then the
 * row in one transaction; when anything fails after the first put, every object
 * this request wrote is deleted before the error propagates. Nothing points at a
 * missing object, and a refused upload leaves no object and no row.
 *
 * Crash safety: before the first put, the upload is recorded as in flight (a marker row
 * naming the recording's key prefix and this process, see ./inflight.ts); the transaction
 * that inserts the row removes the marker. Objects with neither a row nor a live marker are
 * what a crash left, and crash recovery deletes them at once.
 *
 * Objection: before anything is stored, `deps.ingestScreen` (composed in app.ts) may refuse to
 * keep the call (a "do not keep" objection): then nothing is stored and one deletion-log entry
 * of reason `objection` says it arrived (./discard.ts); the outcome is `discarded`.
 *
 * Idempotency: (source, callId) is unique. The same audio (sha256 of the audio
 * part) again answers the stored recording (`created: false`), also when two
 * identical uploads race: the loser of the insert deletes its own objects and
 * re-reads the winner. Other audio under the same callId is 409.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ulid } from 'ulid';
import {
  AudioDecodeError,
  AudioFormatMismatchError,
  AudioTimeoutError,
  identifyAudio,
  plausibleDurationMs,
  probeRawAudio,
  rawOriginalType,
  transcodeForPlayback,
  wavPeakReader,
  wavPeakTap,
} from '../audio/index.js';
import type { AudioProbe } from '../audio/index.js';
import { findRecordingByCall, insertRecording, isUniqueViolation, toRecording } from '../db/recordings.js';
import type { NewRecordingRow, Recording, RecordingRow } from '../db/recordings.js';
import type { AppDeps } from '../deps.js';
import { AppError, errors } from '../errors.js';
import { isStorageFull } from '../http/problem.js';
import { dbError } from './db-failure.js';
import { discardAtIngest } from './discard.js';
import type { DiscardedUpload } from './discard.js';
import { recordingKey, recordingPrefix } from '../storage/keys.js';
import { recordingTags } from '../storage/tags.js';
import type { InflightTracker } from './inflight.js';
import type { Ticket } from './limiter.js';
import type { AgentChannel, AudioFile, CallMetadata } from './call-metadata.js';
import { maskAudio, pausesPastEnd } from './mask.js';
import type { Redaction } from './mask.js';
import { qualityFlagsOf } from './quality.js';
import type { QualityFlag } from './quality.js';

export type { Recording } from '../db/recordings.js';

/**
 * Originals up to this size are read into memory once (stored from there, peaks from there)
 * instead of streamed from their file: 17 minutes of 8 kHz μ-law. Memory: this much per
 * transcode slot at most.
 */
export const ORIGINAL_IN_MEMORY_BYTES = 8 * 1024 * 1024;

/** The body of 201 (created) and 200 (identical replay): the recording as the API shows it. */
export type IngestResponse = Recording;

/**
 * Stored (`created`), or the stored recording again (a replay); or, under a "do not keep"
 * objection, not stored at all (`discarded`, see ./discard.ts).
 */
export type IngestOutcome =
  | { created: boolean; recording: IngestResponse; discarded?: undefined }
  | { created: false; recording?: undefined; discarded: DiscardedUpload };

const ORIGINAL_TYPES: Record<string, { ext: string; contentType: string }> = {
  wav: { ext: 'wav', contentType: 'audio/wav' },
  mp3: { ext: 'mp3', contentType: 'audio/mpeg' },
  ogg: { ext: 'ogg', contentType: 'audio/ogg' },
  flac: { ext: 'flac', contentType: 'audio/flac' },
  mov: { ext: 'm4a', contentType: 'audio/mp4' },
  aiff: { ext: 'aiff', contentType: 'audio/aiff' },
  gsm: { ext: 'gsm', contentType: 'audio/gsm' },
  amr: { ext: 'amr', contentType: 'audio/amr' },
  aac: { ext: 'aac', contentType: 'audio/aac' },
  caf: { ext: 'caf', contentType: 'audio/x-caf' },
  au: { ext: 'au', contentType: 'audio/basic' },
  w64: { ext: 'w64', contentType: 'audio/x-w64' },
};

/** WebM holds only Opus or Vorbis audio; other Matroska audio is `.mka`. */
const WEBM_CODECS = new Set(['opus', 'vorbis']);

/**
 * Extension and content type of the original by the container (and codec) ffprobe found (never the client's file name).
 */
export function originalTypeOf(probe: Pick<AudioProbe, 'container' | 'codec'>): { ext: string; contentType: string } {
  if (probe.container === 'matroska')
    return WEBM_CODECS.has(probe.codec)
      ? { ext: 'webm', contentType: 'audio/webm' }
      : { ext: 'mka', contentType: 'audio/x-matroska' };
  return (
    rawOriginalType(probe.container) ??
    ORIGINAL_TYPES[probe.container] ?? { ext: 'bin', contentType: 'application/octet-stream' }
  );
}

/**
 * A put that failed for want of space (a full store, or ENOSPC reading the temp file) is 507;
 * any other failure (StoreUnavailableError or worse) is 503: the client may retry; never 500.
 */
function storeError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return isStorageFull(error)
    ? errors.insufficientStorage({ cause: error })
    : errors.storeUnavailable({ cause: error });
}

function isAbort(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof Error && error.name === 'AbortError');
}

/** 200 with the stored recording when the audio is the same, 409 otherwise. */
function replayOf(existing: RecordingRow, audioSha256: string): IngestOutcome {
  // A silenced original has other bytes than were received: the row keeps the received digest too.
  if ((existing.received_sha256 ?? existing.original_sha256) !== audioSha256) throw errors.duplicateCallId();
  return { created: false, recording: toRecording(existing) };
}

export type IngestDeps = Pick<
  AppDeps,
  'config' | 'db' | 'store' | 'logger' | 'clock' | 'metrics' | 'retentionWakeup' | 'ingestScreen'
>;

/**
 * Stores one recording of `source` from typed metadata and a complete audio file. Refusals
 * throw AppErrors (422 retention_elapsed, 415 unsupported_audio or audio_format_mismatch (the
 * bytes cannot be the declared headerless format), 413 too_large, 409
 * duplicate_call_id, 503/507 for the store or database); an abort rethrows the signal's
 * reason. Whatever fails, no object, marker or row of this call is left. `dir` is an empty
 * folder the caller owns (the rendition is encoded there) and removes afterwards.
 */
export async function ingestRecording(
  deps: IngestDeps,
  input: {
    source: string;
    meta: CallMetadata;
    audio: AudioFile;
    dir: string;
    ticket: Ticket;
    inflight: InflightTracker;
    signal: AbortSignal;
    requestId?: string;
  },
): Promise<IngestOutcome> {
  const { config, db, store, clock, metrics } = deps;
  const { signal, meta } = input;
  /** The upload; replaced by its silenced copy when spans are silenced (./mask.ts). */
  let audio = input.audio;
  /** The digest of the bytes as received: what a replay is recognized by. */
  const receivedSha256 = audio.sha256;
  const now = clock.now();

  const expiresAt = meta.startedAt + config.retention.ms;
  if (expiresAt <= now) throw errors.retentionElapsed();
  if (audio.sizeBytes === 0) throw errors.unsupportedAudio('The audio part is empty');

  const existing = await findRecordingByCall(db.knex, input.source, meta.callId).catch((error: unknown) => {
    throw dbError(error);
  });
  if (existing) return replayOf(existing, receivedSha256);

  // Before anything is stored: may this call be kept at all (deps.ts, IngestScreen)?
  if (deps.ingestScreen) {
    const verdict = await deps.ingestScreen
      .screen({ callerNumber: meta.callerNumber, calleeNumber: meta.calleeNumber })
      .catch((error: unknown) => {
        throw dbError(error);
      });
    if (!verdict.keep) {
      const discarded = await discardAtIngest(deps, {
        source: input.source,
        callId: meta.callId,
        startedAt: meta.startedAt,
        expiresAt,
        now,
        verdict,
        requestId: input.requestId,
      }).catch((error: unknown) => {
        throw dbError(error);
      });
      return { created: false, discarded };
    }
  }

  const limits = { timeoutMs: config.ingest.ffmpegTimeoutMs, signal };
  const format = config.ingest.playbackFormat;
  const playbackFile = path.join(input.dir, 'playback');
  const id = ulid(now);
  const startedAtDate = new Date(meta.startedAt);
  const tags = recordingTags(config.retention.tag, expiresAt);
  const written: string[] = [];
  let redactions: Redaction[] = [];
  /** The original's put runs beside the transcode; it is settled before any cleanup reads `written`. */
  let originalPut: Promise<void> | undefined;
  /** Whether this upload's in-flight marker exists and is not yet taken by the row's transaction. */
  let marked = false;
  const cleanup = async () => {
    await originalPut?.catch(() => undefined);
    let objectsGone = true;
    if (written.length > 0) {
      const result = await store
        .deleteMany(written)
        .catch((error: unknown) => ({ deleted: [], failed: written.map((key) => ({ key, error: error as Error })) }));
      for (const failure of result.failed) {
        // The marker stays: crash recovery deletes the object once its lease runs out. Say so loudly but keep the
        // client's answer.
        deps.logger.error(
          { err: failure.error, key: failure.key, requestId: input.requestId },
          'ingest cleanup could not delete an object',
        );
      }
      objectsGone = result.failed.length === 0;
      written.length = 0;
    }
    if (marked) {
      marked = false;
      await input.inflight.end(id, { deleteMarker: objectsGone });
    }
  };
  /**
   * Puts a file (or its bytes, already read) under `key`, recorded in `written` first so that
   * any failure deletes it. With `through`, a file's bytes pass through that Transform on their
   * way (the peaks tap).
   */
  const putFile = async (
    key: string,
    source: string | Buffer,
    options: {
      contentType: string;
      sizeBytes: number;
      kind: 'original' | 'playback';
      sha256?: string;
      through?: Transform;
    },
  ) => {
    written.push(key);
    const putOptions = {
      contentType: options.contentType,
      contentLength: options.sizeBytes,
      tags,
      signal,
      ...(options.sha256 ? { sha256: options.sha256 } : {}),
    };
    try {
      const through = options.through;
      if (Buffer.isBuffer(source)) await store.put(key, source, putOptions);
      else if (!through) await store.put(key, fs.createReadStream(source), putOptions);
      else {
        const [fed, put] = await Promise.allSettled([
          pipeline(fs.createReadStream(source), through, { signal }),
          store.put(key, through, putOptions).catch((error: unknown) => {
            through.destroy(); // unblocks the feeding pipeline
            throw error;
          }),
        ]);
        if (put.status === 'rejected') throw put.reason;
        if (fed.status === 'rejected') throw fed.reason;
      }
    } catch (error) {
      if (isAbort(error, signal)) throw error;
      throw storeError(error);
    }
    metrics.bytesStored.inc({ kind: options.kind }, options.sizeBytes);
  };

  try {
    await input.inflight.begin({ recordingId: id, objectPrefix: recordingPrefix(id, startedAtDate) });
    marked = true;
    const { probe, rendition, original, originalKey, ownPeaks } = await input.ticket.runExclusive(async () => {
      let probe: AudioProbe;
      try {
        // Headerless audio is what the upload declared, once its bytes can be that (no ffprobe: it cannot tell).
        probe = audio.declaredFormat
          ? await probeRawAudio(audio.path, { format: audio.declaredFormat, sizeBytes: audio.sizeBytes, signal })
          : await identifyAudio(audio.path, limits);
      } catch (error) {
        throw audioError(error, signal);
      }
      if (plausibleDurationMs(probe, audio.sizeBytes) > config.ingest.maxDurationMs) {
        throw errors.tooLarge(
          `The call is longer than the maximum of ${Math.round(config.ingest.maxDurationMs / 1000)} s`,
        );
      }
      // Card data never reaches the store: pauses and DTMF tones are silenced first, and
      // everything below (original, rendition, peaks) works on the silenced copy. Without
      // pauses, the tones are looked for in the transcode's own decoded PCM (no second decode)
      // and the original waits for that answer; with tones, the silenced copy is encoded again.
      if (config.ingest.maskDtmf && meta.pauses.length === 0) {
        const stopTimer = metrics.transcodeSeconds.startTimer();
        try {
          let rendition = await transcodeForPlayback(audio.path, playbackFile, {
            ...limits,
            format,
            source: probe,
            dtmf: true,
          });
          if (rendition.tones && rendition.tones.length > 0) {
            ({ audio, probe, redactions } = await maskAudio({
              audio,
              probe,
              pauses: [],
              maskDtmf: true,
              tones: rendition.tones,
              dir: input.dir,
              limits: { ...limits, signal },
            }));
            await fs.promises.rm(playbackFile, { force: true }); // the rendition that held the tones
            rendition = await transcodeForPlayback(audio.path, playbackFile, {
              ...limits,
              format,
              source: probe,
              peaks: true,
            });
          }
          const original = originalTypeOf(probe);
          const originalKey = recordingKey({ id, startedAt: startedAtDate, name: 'original', ext: original.ext });
          originalPut = putFile(originalKey, audio.path, {
            contentType: original.contentType,
            sizeBytes: audio.sizeBytes,
            kind: 'original',
            sha256: audio.sha256,
          });
          originalPut.catch(() => undefined); // observed here, awaited below (or by cleanup)
          return { probe, rendition, original, originalKey, ownPeaks: undefined };
        } catch (error) {
          throw audioError(error, signal);
        } finally {
          stopTimer();
        }
      }
      try {
        ({ audio, probe, redactions } = await maskAudio({
          audio,
          probe,
          pauses: meta.pauses,
          maskDtmf: config.ingest.maskDtmf,
          dir: input.dir,
          limits: { ...limits, signal },
        }));
      } catch (error) {
        throw audioError(error, signal);
      }
      // The format is known: store the original while the rendition is encoded (any failure below deletes it).
      const original = originalTypeOf(probe);
      const originalKey = recordingKey({ id, startedAt: startedAtDate, name: 'original', ext: original.ext });
      // A short original is read once into memory (at most ORIGINAL_IN_MEMORY_BYTES per transcode
      // slot): stored from there, and its peaks read from there. A longer one streams from its file.
      const inMemory = audio.sizeBytes <= ORIGINAL_IN_MEMORY_BYTES;
      // PCM/G.711 WAVs: the peaks are read from the original's bytes (a long one's on their way
      // to the store); other audio gets them from ffmpeg.
      const reader = inMemory ? wavPeakReader(probe) : undefined;
      const tap = inMemory ? undefined : wavPeakTap(probe);
      const peaks = reader ?? tap;
      const stopTimer = metrics.transcodeSeconds.startTimer();
      // The encode is the longest step: it starts first, and the original is stored meanwhile.
      const transcoding = transcodeForPlayback(audio.path, playbackFile, {
        ...limits,
        format,
        source: probe,
        peaks: !peaks,
      });
      transcoding.catch(() => undefined); // awaited below, on every path
      try {
        let originalBytes: Buffer | undefined;
        try {
          originalBytes = inMemory ? await fs.promises.readFile(audio.path, { signal }) : undefined;
        } catch (error) {
          await transcoding.catch(() => undefined); // ffmpeg still reads the file: never leave it running
          throw error;
        }
        // The digest taken as the audio arrived: the store refuses the original unless it holds exactly those bytes.
        originalPut = putFile(originalKey, originalBytes ?? audio.path, {
          contentType: original.contentType,
          sizeBytes: audio.sizeBytes,
          kind: 'original',
          sha256: audio.sha256,
          through: tap?.tap,
        });
        originalPut.catch(() => undefined); // observed here, awaited below (or by cleanup)
        if (reader && originalBytes) reader.push(originalBytes); // while ffmpeg encodes in its own process
        const rendition = await transcoding;
        return { probe, rendition, original, originalKey, ownPeaks: peaks };
      } catch (error) {
        throw audioError(error, signal);
      } finally {
        stopTimer();
      }
    }, signal);

    // The transcode decoded every sample (so the audio is sound). Peaks read here (from memory, or
    // tapped from the original's stream) are complete once the original is stored.
    if (ownPeaks) await originalPut;
    const waveform = ownPeaks ? ownPeaks.result() : rendition.waveform!;
    if (waveform.durationMs <= 0) throw errors.unsupportedAudio('The audio holds no samples');
    const pastEnd = pausesPastEnd(meta.pauses, waveform.durationMs);
    if (pastEnd.length > 0) throw errors.invalidMetadata(pastEnd);
    if (waveform.durationMs > config.ingest.maxDurationMs) {
      throw errors.tooLarge(
        `The call is longer than the maximum of ${Math.round(config.ingest.maxDurationMs / 1000)} s`,
      );
    }

    const playbackKey = recordingKey({ id, startedAt: startedAtDate, name: 'playback', ext: rendition.ext });
    // The rendition is hashed on its way to the store (one read of the file). Both puts settle
    // before anything is rethrown, so that cleanup never races a put still in flight.
    const renditionHash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        renditionHash.update(chunk);
        callback(null, chunk);
      },
    });
    const puts = await Promise.allSettled([
      putFile(playbackKey, playbackFile, {
        contentType: rendition.contentType,
        sizeBytes: rendition.sizeBytes,
        kind: 'playback',
        through: hashing,
      }),
      originalPut,
    ]);
    for (const settled of puts) if (settled.status === 'rejected') throw settled.reason;
    const playbackSha256 = renditionHash.digest('hex');

    const row: NewRecordingRow = {
      id,
      source: input.source,
      call_id: meta.callId,
      started_at: meta.startedAt,
      duration_ms: waveform.durationMs,
      agent_id: meta.agentId,
      queue: meta.queue,
      direction: meta.direction,
      caller_number: meta.callerNumber,
      callee_number: meta.calleeNumber,
      ended_at: meta.endedAt,
      caller_number_kind: meta.callerNumberKind,
      callee_number_kind: meta.calleeNumberKind,
      agent_channel: agentChannelOf(probe.channels, meta.agentChannel, config.ingest.agentChannels[input.source]),
      call_group_id: meta.callGroupId,
      case_reference: meta.caseReference,
      ...flagColumnsOf(qualityFlagsOf(waveform)),
      original_key: originalKey,
      original_sha256: audio.sha256,
      received_sha256: receivedSha256,
      redactions: JSON.stringify(redactions),
      original_size: audio.sizeBytes,
      original_codec: probe.codec,
      original_content_type: original.contentType,
      original_sample_rate: probe.sampleRate,
      original_channels: probe.channels,
      playback_key: playbackKey,
      playback_format: rendition.format,
      playback_content_type: rendition.contentType,
      playback_size: rendition.sizeBytes,
      playback_sha256: playbackSha256,
      waveform: JSON.stringify(waveform),
      expires_at: expiresAt,
      created_at: now,
    };
    if (signal.aborted) throw signal.reason;
    try {
      await db.knex.transaction(async (trx) => {
        await input.inflight.commitIn(trx, id);
        await insertRecording(trx, row);
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw dbError(error);
      // Lost a race against an upload of the same call: answer as a replay (or 409), keep nothing.
      await cleanup();
      const winner = await findRecordingByCall(db.knex, input.source, meta.callId).catch((e: unknown) => {
        throw dbError(e);
      });
      if (!winner) throw errors.dbUnavailable({ cause: error });
      return replayOf(winner, receivedSha256);
    }
    // Stored: the objects belong to the row now, and the transaction took the marker.
    written.length = 0;
    marked = false;
    await input.inflight.end(id, { deleteMarker: false });
    const stored = {
      ...row,
      status: 'stored',
      legal_hold: false,
      hold_reason: null,
      hold_by: null,
      hold_at: null,
      claimed_by: null,
      claim_expires_at: null,
      delete_attempts: 0,
      next_attempt_at: null,
      last_error: null,
    } satisfies RecordingRow;
    deps.retentionWakeup?.deadlineAdded(expiresAt);
    return { created: true, recording: toRecording(stored) };
  } finally {
    await cleanup();
  }
}

function flagColumnsOf(flags: readonly QualityFlag[]): { flag_silent: boolean; flag_one_way: boolean } {
  return { flag_silent: flags.includes('silent'), flag_one_way: flags.includes('one_way') };
}

/**
 * The channel that holds the agent: none for mono (or more than two channels); for stereo, the
 * upload's own statement, else the source's default, else left.
 */
export function agentChannelOf(
  channels: number,
  stated: AgentChannel | null,
  sourceDefault: AgentChannel | undefined,
): AgentChannel | null {
  if (channels !== 2) return null;
  return stated ?? sourceDefault ?? 'left';
}

function audioError(error: unknown, signal: AbortSignal): unknown {
  if (isAbort(error, signal)) return error;
  if (error instanceof AudioTimeoutError)
    return errors.unsupportedAudio('The audio could not be analysed within the time limit', { cause: error });
  if (error instanceof AudioFormatMismatchError) return errors.audioFormatMismatch(error.message, { cause: error });
  if (error instanceof AudioDecodeError)
    return errors.unsupportedAudio('The audio part is not decodable audio', { cause: error });
  return error;
}
