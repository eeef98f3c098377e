import { expect } from 'chai';
import { originalTypeOf } from '../../src/ingest/ingest.js';
import { createIngestLimiter } from '../../src/ingest/limiter.js';
import {
  METADATA_FIELDS,
  STARTED_AT_SKEW_MS,
  classifyNumber,
  MAX_PAUSES,
  parseIngestMetadata,
  parseIsoDateTime,
} from '../../src/ingest/metadata.js';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const ctx = { nowMs: NOW, region: 'NL' };
const valid = (overrides: Record<string, string> = {}) => ({
  callId: '1700000000.42',
  startedAt: '2026-11-27T11:00:00Z',
  ...overrides,
});

describe('ingest metadata', () => {
  it('when the fields are valid, then numbers are normalized to E.164 and absent optional fields are null', () => {
    const result = parseIngestMetadata(
      valid({ callerNumber: '06 12345678', calleeNumber: '+32 2 123 45 67', direction: 'outbound', agentId: '' }),
      ctx,
    );
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(result.value).to.deep.equal({
      callId: '1700000000.42',
      startedAt: Date.parse('2026-11-27T11:00:00Z'),
      agentId: null,
      queue: null,
      direction: 'outbound',
      endedAt: null,
      callerNumber: '+31612345678',
      calleeNumber: '+3221234567',
      callerNumberKind: 'e164',
      calleeNumberKind: 'e164',
      agentChannel: null,
      callGroupId: null,
      caseReference: null,
      pauses: [],
    });
  });

  it('when pauses are sent (JSON text), then they are whole-ms spans sorted by start; overlapping spans are accepted', () => {
    const result = parseIngestMetadata(
      valid({
        pauses: JSON.stringify([
          { startMs: 5000, endMs: 9000 },
          { startMs: 0, endMs: 1500 },
          { startMs: 8000, endMs: 12000 },
        ]),
      }),
      ctx,
    );
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(result.value.pauses.map(({ startMs, endMs }) => [startMs, endMs])).to.deep.equal([
      [0, 1500],
      [5000, 9000],
      [8000, 12000],
    ]);
  });

  it('when pauses are out of range or malformed, then each problem names the span and member at fault, never a value', () => {
    const fields = (pauses: unknown, maxDurationMs = 3_600_000) => {
      const result = parseIngestMetadata(
        valid({ pauses: typeof pauses === 'string' ? pauses : JSON.stringify(pauses) }),
        { ...ctx, maxDurationMs },
      );
      return result.ok ? [] : result.problems.map((p) => p.field);
    };
    expect(fields([{ startMs: -1, endMs: 5 }])).to.deep.equal(['pauses[0].startMs']);
    expect(fields([{ startMs: 0, endMs: 3_600_001 }])).to.deep.equal(['pauses[0].endMs']);
    expect(
      fields([
        { startMs: 0, endMs: 5 },
        { startMs: 7, endMs: 7 },
      ]),
    ).to.deep.equal(['pauses[1].endMs']);
    expect(fields([{ startMs: '0', endMs: 5 }])).to.deep.equal(['pauses[0].startMs']);
    expect(fields([{ startMs: 0, endMs: 5, digit: '4' }])).to.deep.equal(['pauses[0]']);
    expect(fields([[0, 5]])).to.deep.equal(['pauses[0]']);
    expect(fields({ startMs: 0, endMs: 5 })).to.deep.equal(['pauses']);
    expect(fields('[{')).to.deep.equal(['pauses']);
    expect(fields(Array.from({ length: MAX_PAUSES + 1 }, (_, i) => ({ startMs: i, endMs: i + 1 })))).to.deep.equal([
      'pauses',
    ]);
    expect(fields(Array.from({ length: MAX_PAUSES }, (_, i) => ({ startMs: i, endMs: i + 1 })))).to.deep.equal([]);
  });

  it('when a number field holds a withheld word (any case), an empty value or a Twilio stand-in, then it is withheld with no number; an extension or s is internal', () => {
    for (const value of [
      'anonymous',
      'ANONYMOUS',
      'Unknown',
      'restricted',
      'private',
      'unavailable',
      '',
      '+266696687',
      '+7378742833',
    ]) {
      expect(classifyNumber(value, 'NL'), value).to.deep.equal({ kind: 'withheld', e164: null });
    }
    for (const value of ['1001', '12', '*98', 's'])
      expect(classifyNumber(value, 'NL'), value).to.deep.equal({ kind: 'internal', e164: null });
    expect(classifyNumber('06 12345678', 'NL')).to.deep.equal({ kind: 'e164', e164: '+31612345678' });
    for (const value of ['+31 6 1', 'anonymous2', '1234567', 'sip:alice@example.com'])
      expect(classifyNumber(value, 'NL'), value).to.equal(undefined);
  });

  it('when a number field is absent, then its kind is null; when it is empty, then it is withheld (not absent)', () => {
    const absent = parseIngestMetadata(valid(), ctx);
    expect(absent.ok && [absent.value.callerNumberKind, absent.value.calleeNumberKind]).to.deep.equal([null, null]);
    const empty = parseIngestMetadata(valid({ callerNumber: '  ' }), ctx);
    expect(empty.ok && [empty.value.callerNumber, empty.value.callerNumberKind]).to.deep.equal([null, 'withheld']);
  });

  it('when fields the hook does not know are sent, then each is at fault and its message lists every accepted field', () => {
    const result = parseIngestMetadata(valid({ linkedid: 'x', uniqueid: 'y' }), ctx);
    expect(result.ok).to.equal(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.field)).to.deep.equal(['linkedid', 'uniqueid']);
    for (const name of METADATA_FIELDS) expect(result.problems[0]!.message).to.contain(name);
  });

  it('when callId, startedAt, direction and a number are wrong, then every one is listed, without the values', () => {
    const result = parseIngestMetadata(
      { callId: 'a/b', startedAt: '27-11-2026', direction: 'up', calleeNumber: '+31 6 1' },
      ctx,
    );
    expect(result.ok).to.equal(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.field).sort()).to.deep.equal([
      'callId',
      'calleeNumber',
      'direction',
      'startedAt',
    ]);
    expect(JSON.stringify(result.problems)).not.to.contain('+31 6 1');
  });

  it('when callId is missing or 129 characters long, then callId is at fault; 128 characters are fine', () => {
    const missing = parseIngestMetadata({ startedAt: '2026-11-27T11:00:00Z' }, ctx);
    expect(!missing.ok && missing.problems.map((p) => p.field)).to.deep.equal(['callId']);
    expect(parseIngestMetadata(valid({ callId: 'x'.repeat(129) }), ctx).ok).to.equal(false);
    expect(parseIngestMetadata(valid({ callId: `${'x'.repeat(120)}:@._-abc` }), ctx).ok).to.equal(true);
  });

  it('when startedAt is ahead of the clock by more than the skew, then it is refused; within the skew, accepted', () => {
    const ahead = (ms: number) => new Date(NOW + ms).toISOString();
    expect(parseIngestMetadata(valid({ startedAt: ahead(STARTED_AT_SKEW_MS) }), ctx).ok).to.equal(true);
    expect(parseIngestMetadata(valid({ startedAt: ahead(STARTED_AT_SKEW_MS + 1000) }), ctx).ok).to.equal(false);
    expect(parseIngestMetadata(valid({ startedAt: '2026-11-27T11:00:00' }), ctx).ok, 'no time zone').to.equal(false);
    expect(parseIngestMetadata(valid({ startedAt: '2026-11-27T12:30:00+02:00' }), ctx).ok, 'offset').to.equal(true);
  });
});

describe('ingest startedAt calendar', () => {
  /** A context whose clock is far ahead, so that only the calendar decides. */
  const later = { nowMs: Date.parse('2030-01-01T00:00:00Z'), region: 'NL' };
  const problemsOf = (startedAt: string) => {
    const result = parseIngestMetadata(valid({ startedAt }), later);
    return result.ok ? [] : result.problems.map((p) => p.field);
  };

  it('when startedAt names a day or time the calendar does not have, then it is refused naming startedAt, not shifted', () => {
    for (const impossible of [
      '2026-02-30T10:00:00Z',
      '2026-04-31T10:00:00Z',
      '2027-02-29T10:00:00Z',
      '1900-02-29T10:00:00Z',
      '2026-13-01T10:00:00Z',
      '2026-00-10T10:00:00Z',
      '2026-01-00T10:00:00Z',
      '2026-01-32T10:00:00Z',
      '2026-01-10T24:00:00Z',
      '2026-01-10T23:60:00Z',
      '2026-01-10T23:59:60Z',
      '2026-01-10T10:00:00+24:00',
      '2026-01-10T10:00:00+01:60',
    ]) {
      expect(problemsOf(impossible), impossible).to.deep.equal(['startedAt']);
      expect(parseIsoDateTime(impossible), impossible).to.equal(undefined);
    }
  });

  it('when startedAt is a leap day of a leap year, then it is accepted as that day', () => {
    for (const leap of ['2028-02-29T10:00:00Z', '2000-02-29T10:00:00Z']) {
      const result = parseIngestMetadata(valid({ startedAt: leap }), later);
      expect(result.ok, leap).to.equal(true);
      if (result.ok) expect(new Date(result.value.startedAt).toISOString(), leap).to.equal(leap.replace('Z', '.000Z'));
    }
  });

  it('when startedAt carries an offset, seconds or a fraction, then it is the same instant Date.parse gives for a valid date', () => {
    for (const text of [
      '2026-11-27T09:30Z',
      '2026-11-27T09:30:15Z',
      '2026-11-27T09:30:15.5Z',
      '2026-11-27T09:30:15.123Z',
      '2026-11-27T09:30:15.123456789Z',
      '2026-11-27T09:30:00+01:00',
      '2026-11-27T09:30:00+0100',
      '2026-11-27T09:30:00-05:30',
      '2026-12-31T23:59:59-10:00',
      '2026-11-27T00:00:00+23:59',
    ]) {
      const iso = text.replace(/(\.\d{3})\d+/, '$1').replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
      expect(parseIsoDateTime(text), text).to.equal(Date.parse(iso));
    }
    expect(parseIsoDateTime('0099-03-01T00:00:00Z')).to.equal(new Date('0099-03-01T00:00:00Z').getTime());
  });
});

describe('ingest limiter', () => {
  it('when concurrency + queue tickets are out, then the next admission is refused until one is released', () => {
    const limiter = createIngestLimiter({ concurrency: 1, queueLimit: 1 });
    const a = limiter.admit();
    const b = limiter.admit();
    expect(a && b).to.not.equal(undefined);
    expect(limiter.admit()).to.equal(undefined);
    a!.release();
    a!.release();
    expect(limiter.admitted).to.equal(1);
    expect(limiter.admit()).to.not.equal(undefined);
  });

  it('when two tickets run work, then only `concurrency` run at once and an aborted waiter gives its turn away', async () => {
    const limiter = createIngestLimiter({ concurrency: 1, queueLimit: 2 });
    const [a, b, c] = [limiter.admit()!, limiter.admit()!, limiter.admit()!];
    let release!: () => void;
    const first = a.runExclusive(() => new Promise<string>((r) => (release = () => r('a'))));
    const controller = new AbortController();
    const second = b.runExclusive(async () => 'b', controller.signal);
    const order: string[] = [];
    const third = c.runExclusive(async () => {
      order.push(`c ran with ${limiter.running} running`);
      return 'c';
    });
    await new Promise((r) => setImmediate(r));
    expect(limiter.running).to.equal(1);
    controller.abort(new Error('gone'));
    const secondError = await second.then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(secondError).to.equal('gone');
    release();
    expect(await first).to.equal('a');
    expect(await third).to.equal('c');
    expect(order).to.deep.equal(['c ran with 1 running']);
    expect(limiter.running).to.equal(0);
  });
});

describe('original type', () => {
  it('when ffprobe names the container, then the original gets its real extension and type (WebM by its codec, raw GSM, AMR), else bin', () => {
    expect(originalTypeOf({ container: 'matroska', codec: 'opus' })).to.deep.equal({
      ext: 'webm',
      contentType: 'audio/webm',
    });
    expect(originalTypeOf({ container: 'matroska', codec: 'pcm_s16le' })).to.deep.equal({
      ext: 'mka',
      contentType: 'audio/x-matroska',
    });
    expect(originalTypeOf({ container: 'gsm', codec: 'gsm' })).to.deep.equal({ ext: 'gsm', contentType: 'audio/gsm' });
    expect(originalTypeOf({ container: 'amr', codec: 'amr_nb' })).to.deep.equal({
      ext: 'amr',
      contentType: 'audio/amr',
    });
    expect(originalTypeOf({ container: 'something', codec: 'x' })).to.deep.equal({
      ext: 'bin',
      contentType: 'application/octet-stream',
    });
  });
});
