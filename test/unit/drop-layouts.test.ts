import { expect } from 'chai';
import {
  connectKeyFields,
  isRecordingKey,
  recordingFields,
  sidecarFields,
} from '../../src/ingest/adapters/drop-layouts.js';
import { parseIngestMetadata } from '../../src/ingest/metadata.js';

const KEY = 'connect/acme/CallRecordings/2026/11/30/0a1b2c3d-1111-2222-3333-444455556666_20261130T09:30_UTC.wav';

describe('S3 drop-bucket layouts', () => {
  it('when a Connect recording key is read, then the contact id is the callId and the key time (UTC, to the minute) is startedAt', () => {
    expect(connectKeyFields(KEY)).to.deep.equal({
      ok: true,
      fields: { callId: '0a1b2c3d-1111-2222-3333-444455556666', startedAt: '2026-11-30T09:30:00Z' },
    });
  });

  it('when a Connect key names a day the calendar lacks, then the hook metadata refuses its startedAt', () => {
    const fields = connectKeyFields(KEY.replace('20261130T', '20260230T'));
    expect(fields.ok).to.equal(true);
    const parsed = parseIngestMetadata((fields as { fields: Record<string, string> }).fields, {
      nowMs: Date.UTC(2026, 11, 1),
      region: 'NL',
    });
    expect(parsed.ok).to.equal(false);
  });

  it('when a key under CallRecordings lacks the contact id and time, then it is a recording whose key is refused by name', () => {
    const key = 'connect/acme/CallRecordings/2026/11/30/renamed.wav';
    expect(isRecordingKey('amazon-connect', key)).to.equal(true);
    expect(connectKeyFields(key)).to.deep.include({ ok: false });
    expect((connectKeyFields(key) as { problems: Array<{ field: string }> }).problems[0]!.field).to.equal('key');
  });

  it('when keys are listed, then only the layout recordings count (no sidecars, reports or folders)', () => {
    expect(isRecordingKey('amazon-connect', `${KEY}.json`)).to.equal(false);
    expect(isRecordingKey('amazon-connect', 'connect/acme/Reports/r.csv')).to.equal(false);
    expect(isRecordingKey('sidecar-json', 'exports/a.wav')).to.equal(true);
    expect(isRecordingKey('sidecar-json', 'exports/a.wav.json')).to.equal(false);
    expect(isRecordingKey('sidecar-json', 'exports/')).to.equal(false);
  });

  it('when a Connect sidecar adds fields, then they join the key fields, and a callId other than the contact id is refused', () => {
    expect(
      recordingFields('amazon-connect', KEY, { queue: 'billing', startedAt: '2026-11-30T09:30:12Z' }),
    ).to.deep.equal({
      ok: true,
      fields: {
        callId: '0a1b2c3d-1111-2222-3333-444455556666',
        startedAt: '2026-11-30T09:30:12Z',
        queue: 'billing',
      },
    });
    expect(recordingFields('amazon-connect', KEY, { callId: 'other' })).to.deep.include({ ok: false });
  });

  it('when a sidecar is not a JSON object of strings, then every field at fault is named', () => {
    expect(sidecarFields('[1]')).to.deep.include({ ok: false });
    expect(sidecarFields('{"callId": 1, "queue": "x"}')).to.deep.equal({
      ok: false,
      problems: [{ field: 'callId', message: 'expects a string' }],
    });
    expect(recordingFields('sidecar-json', 'a.wav', undefined)).to.deep.include({ ok: false });
  });
});
