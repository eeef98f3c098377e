/**
 * Key layouts of S3 drop buckets: which listed keys are recordings, where their sidecar is, and
 * what the key itself says about the call. Pure functions (src/ingest/adapters/s3-drop.ts runs
 * them on each listed key).
 *
 * - `amazon-connect`: Amazon Connect writes each call recording as
 *   `<prefix>…/CallRecordings/YYYY/MM/DD/<contactId>_<YYYYMMDDThh:mm>_UTC.wav` (stereo: the
 *   customer left, the agent right). The contact id becomes the callId, the key's time (UTC,
 *   to the minute) startedAt. An optional sidecar `<key>.json` (written, say, by a Lambda on
 *   the contact-record stream) adds the upload hook's other fields. Keys elsewhere (reports,
 *   chat transcripts) are not recordings.
 * - `sidecar-json`: any platform that writes `<key>` (audio) and `<key>.json` (the upload hook's
 *   text fields as one JSON object of strings; unknown fields are refused), e.g. a Genesys
 *   bulk export with a small job that writes the sidecars.
 */
import type { FieldProblem } from '../../errors.js';
import type { DropLayout } from '../../db/import-sources.js';

export const SIDECAR_SUFFIX = '.json';
/** The longest sidecar read. */
export const MAX_SIDECAR_BYTES = 64 * 1024;

const CONNECT_KEY = new RegExp(
  /(?:^|\/)CallRecordings\/(\d{4})\/(\d{2})\/(\d{2})\//.source +
    /([A-Za-z0-9-]{1,128})_(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2})_UTC\.wav$/.source,
);

/** Whether a listed key is a recording of the layout (else it is passed over: sidecars, reports, folders). */
export function isRecordingKey(layout: DropLayout, key: string): boolean {
  if (key.endsWith('/')) return false;
  if (layout === 'sidecar-json') return !key.endsWith(SIDECAR_SUFFIX);
  return /(?:^|\/)CallRecordings\/.+\.wav$/.test(key);
}

export function sidecarKeyOf(key: string): string {
  return `${key}${SIDECAR_SUFFIX}`;
}

/**
 * What an Amazon Connect recording key says: the contact id and the start (UTC, to the minute)
 * as the upload hook's fields. Problems when the key does not have Connect's form or names no
 * instant of the calendar.
 */
export function connectKeyFields(
  key: string,
): { ok: true; fields: { callId: string; startedAt: string } } | { ok: false; problems: FieldProblem[] } {
  const m = CONNECT_KEY.exec(key);
  if (!m) {
    return {
      ok: false,
      problems: [{ field: 'key', message: 'expects …/CallRecordings/YYYY/MM/DD/<contactId>_<YYYYMMDDThh:mm>_UTC.wav' }],
    };
  }
  const [, , , , contactId, year, month, day, hour, minute] = m as unknown as string[];
  return {
    ok: true,
    fields: { callId: contactId!, startedAt: `${year}-${month}-${day}T${hour}:${minute}:00Z` },
  };
}

/** A sidecar's text as the hook's fields: a JSON object of strings, else the problems. */
export function sidecarFields(
  text: string,
): { ok: true; fields: Record<string, string> } | { ok: false; problems: FieldProblem[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problems: [{ field: 'sidecar', message: 'is not JSON' }] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, problems: [{ field: 'sidecar', message: 'expects a JSON object of strings' }] };
  const fields: Record<string, string> = {};
  const problems: FieldProblem[] = [];
  for (const [key, field] of Object.entries(value)) {
    if (typeof field === 'string') fields[key] = field;
    else problems.push({ field: key.slice(0, 64), message: 'expects a string' });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, fields };
}

/**
 * The hook fields of a recording: for `sidecar-json` the sidecar's; for `amazon-connect` the
 * key's, with the sidecar's (if any) added. A Connect sidecar may state a more precise
 * `startedAt`, but its `callId`, if any, must be the key's contact id.
 */
export function recordingFields(
  layout: DropLayout,
  key: string,
  sidecar: Record<string, string> | undefined,
): { ok: true; fields: Record<string, string> } | { ok: false; problems: FieldProblem[] } {
  if (layout === 'sidecar-json') {
    if (!sidecar) return { ok: false, problems: [{ field: 'sidecar', message: 'is missing' }] };
    return { ok: true, fields: sidecar };
  }
  const fromKey = connectKeyFields(key);
  if (!fromKey.ok) return fromKey;
  if (sidecar?.callId !== undefined && sidecar.callId.trim() !== fromKey.fields.callId)
    return { ok: false, problems: [{ field: 'callId', message: 'differs from the contact id in the key' }] };
  return { ok: true, fields: { ...fromKey.fields, ...sidecar, callId: fromKey.fields.callId } };
}
