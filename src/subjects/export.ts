/**
 * Subject export: one zip holding, for every recording of a data subject, the
 * original audio, the playback rendition, a `manifest.json` and a `README.txt`
 * (Dutch and English).
 *
 * Contract:
 * - Streamed with bounded memory: one store read is open at a time, and it is read only as fast
 *   as the client takes the zip (archiver applies backpressure through `pipeline`).
 * - Audio entries are stored, not deflated (audio does not compress); the manifest gives each
 *   file's sha256 and size as computed over the bytes read from the store, next to the digest
 *   recorded at ingest.
 * - `signal` aborts the store reads (a client disconnect aborts it); the returned promise then
 *   rejects. An object missing from the store is listed in the manifest as missing instead of
 *   failing the whole export; any other store failure rejects (the caller cuts the response).
 * - The zip's entry names hold recording ids only, never a phone number.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipArchive } from 'archiver';
import type { Archiver } from 'archiver';
import type { AccessEntry } from '../db/access-log.js';
import { toRecording } from '../db/recordings.js';
import type { RecordingRow } from '../db/recordings.js';
import { ObjectNotFoundError } from '../storage/object-store.js';
import type { ObjectStore } from '../storage/object-store.js';

export interface ExportRecording {
  row: RecordingRow;
  /** The recording's access history (oldest first) before this export. */
  access: AccessEntry[];
}

export interface ExportFile {
  name: string;
  kind: 'original' | 'playback';
  contentType: string;
  /** sha256 and size of the bytes as read from the store; null when the object is missing. */
  sha256: string | null;
  sizeBytes: number | null;
  /** The digest recorded when the recording was stored. */
  recordedSha256: string;
  /** True when the bytes read now have the recorded digest (false when changed or missing). */
  matchesRecorded: boolean;
  missing: boolean;
}

export const README_TEXT = `callrec — export van opgenomen gesprekken / export of recorded calls
=====================================================================

NEDERLANDS
Dit archief bevat de gespreksopnamen die wij bewaren waarin uw telefoonnummer
voorkomt als beller of gebelde, zoals gevraagd in uw verzoek om inzage of
overdraagbaarheid van gegevens.
- recordings/<id>/original.*  de opname zoals wij die ontvingen van de telefooncentrale
- recordings/<id>/playback.*  dezelfde opname, omgezet om af te spelen
- manifest.json               per opname: gegevens van het gesprek (begin, einde, duur,
                              nummers en hun soort, richting, wachtrij, het kanaal van de
                              medewerker, gespreksgroep, dossierreferentie, correcties
                              die wij op uw verzoek aanbrachten), de datum waarop de opname wordt gewist
                              (bewaartermijn), een eventuele juridische bewaarplicht,
                              de SHA-256-controlesom van elk bestand, en wie de opname
                              wanneer heeft geopend (uit ons toegangslogboek).
Opnamen worden na de bewaartermijn automatisch gewist. U kunt om eerdere
wissing vragen; neem daarvoor contact op met onze functionaris voor
gegevensbescherming.

ENGLISH
This archive holds the call recordings we keep in which your phone number
appears as caller or callee, as asked in your request for access or data
portability.
- recordings/<id>/original.*  the recording as we received it from the telephony platform
- recordings/<id>/playback.*  the same recording, converted for playback
- manifest.json               per recording: the call's details (start, end, duration,
                              numbers and their kind, direction, queue, the agent's channel,
                              call group, case reference, corrections we made at your
                              request), the date on which it will be erased
                              (retention deadline), any legal hold, the SHA-256 checksum
                              of every file, and who opened the recording and when
                              (from our access log).
Recordings are erased automatically when their retention period ends. You may
ask for earlier erasure; please contact our data protection officer.
`;

function extensionOf(key: string): string {
  const ext = path.posix.extname(key).slice(1);
  return /^[a-z0-9]{1,8}$/i.test(ext) ? ext : 'bin';
}

/** Resolves when archiver has processed the next entry; rejects on an archive error. */
function nextEntry(archive: Archiver): Promise<void> {
  return new Promise((resolve, reject) => {
    const onEntry = () => {
      archive.off('error', onError);
      resolve();
    };
    const onError = (error: Error) => {
      archive.off('entry', onEntry);
      reject(error);
    };
    archive.once('entry', onEntry);
    archive.once('error', onError);
  });
}

/** Streams one stored object into the archive, hashing it on the way. */
async function appendObject(
  archive: Archiver,
  options: { store: ObjectStore; key: string; name: string; signal: AbortSignal },
): Promise<{ sha256: string; sizeBytes: number } | null> {
  let got;
  try {
    got = await options.store.get(options.key, { signal: options.signal });
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      cb(null, chunk);
    },
  });
  const out = new PassThrough();
  const processed = nextEntry(archive);
  archive.append(out, { name: options.name, store: true });
  try {
    await Promise.all([pipeline(got.body, hasher, out, { signal: options.signal }), processed]);
  } catch (error) {
    got.body.destroy();
    throw error;
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}

/** The corrections (Art. 16) of a recording from its access log: when, by whom, which fields (never the old values). */
function correctionsOf(access: readonly AccessEntry[]) {
  return access
    .filter((a) => a.action === 'correct')
    .map((a) => ({
      at: a.at,
      by: a.username,
      fields: (/(?:^|\s)fields=(\S+)/.exec(a.detail ?? '')?.[1] ?? '').split(',').filter(Boolean),
    }));
}

function manifestEntry(recording: ExportRecording, files: ExportFile[]) {
  const r = recording.row;
  const shown = toRecording(r);
  return {
    id: r.id,
    source: r.source,
    callId: r.call_id,
    startedAt: new Date(r.started_at).toISOString(),
    endedAt: shown.endedAt,
    durationMs: r.duration_ms,
    direction: r.direction,
    queue: r.queue,
    agentId: r.agent_id,
    agentChannel: shown.agentChannel,
    callerNumber: r.caller_number,
    callerNumberKind: shown.callerNumberKind,
    calleeNumber: r.callee_number,
    calleeNumberKind: shown.calleeNumberKind,
    callGroupId: shown.callGroupId,
    caseReference: shown.caseReference,
    corrections: correctionsOf(recording.access),
    retention: {
      expiresAt: new Date(r.expires_at).toISOString(),
      legalHold: r.legal_hold
        ? { reason: r.hold_reason, at: r.hold_at === null ? null : new Date(r.hold_at).toISOString() }
        : null,
    },
    files,
    accessLog: recording.access.map((a) => ({ at: a.at, user: a.username, role: a.role, action: a.action })),
  };
}

/**
 * Writes the zip of `recordings` to `output` and resolves when the client has it all.
 * See the module contract for streaming, abort and missing-object behaviour.
 */
export async function writeSubjectExport(options: {
  store: ObjectStore;
  recordings: ExportRecording[];
  /** When and by whom this export was made (stated in the manifest). */
  exportedAt: number;
  exportedBy: string;
  output: Writable;
  signal: AbortSignal;
}): Promise<void> {
  const archive = new ZipArchive({ zlib: { level: 6 } });
  const sending = pipeline(archive, options.output, { signal: options.signal });
  // `sending` settles when the client has everything, or fails; either way it is awaited below.
  sending.catch(() => undefined);

  const produce = async () => {
    const date = new Date(options.exportedAt);
    archive.append(README_TEXT, { name: 'README.txt', date });
    const manifest: ReturnType<typeof manifestEntry>[] = [];
    for (const recording of options.recordings) {
      const r = recording.row;
      const files: ExportFile[] = [];
      for (const [kind, key, contentType, recorded] of [
        ['original', r.original_key, r.original_content_type, r.original_sha256],
        ['playback', r.playback_key, r.playback_content_type, r.playback_sha256],
      ] as const) {
        const name = `recordings/${r.id}/${kind}.${extensionOf(key)}`;
        const digest = await appendObject(archive, { store: options.store, key, name, signal: options.signal });
        files.push({
          name,
          kind,
          contentType,
          sha256: digest?.sha256 ?? null,
          sizeBytes: digest?.sizeBytes ?? null,
          recordedSha256: recorded,
          matchesRecorded: digest?.sha256 === recorded,
          missing: digest === null,
        });
      }
      manifest.push(manifestEntry(recording, files));
    }
    const body = {
      format: 'callrec-subject-export/1',
      exportedAt: date.toISOString(),
      exportedBy: options.exportedBy,
      recordingCount: manifest.length,
      recordings: manifest,
    };
    archive.append(`${JSON.stringify(body, null, 2)}\n`, { name: 'manifest.json', date });
    await archive.finalize();
  };

  try {
    await Promise.all([produce(), sending]);
  } catch (error) {
    archive.abort();
    throw error;
  }
}
