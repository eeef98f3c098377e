import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { GENESIS_HASH, hashEntry, hashRow, rowToEntry } from '../../src/audit/deletion-log.js';
import type { DeletionLogRow } from '../../src/db/deletion-log.js';

describe('canonical JSON', () => {
  it('when object members come in any order, then they are sorted by key and nothing else changes', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 'x'], c: null } })).to.equal('{"a":{"c":null,"d":[3,"x"]},"b":1}');
    expect(canonicalJson({ a: { c: null, d: [3, 'x'] }, b: 1 })).to.equal(
      canonicalJson({ b: 1, a: { d: [3, 'x'], c: null } }),
    );
  });

  it('when keys differ only beyond ASCII, then they sort by UTF-16 code units as RFC 8785 requires', () => {
    // RFC 8785 §3.2.3 example ordering: "\r" < "1" < "\u0080" < "\u00f6" < "\u20ac" < "\ud83d\ude00" < "\ufb33"
    const value = { '\ufb33': 7, '\u20ac': 3, '\r': 1, '\ud83d\ude00': 6, '1': 2, '\u0080': 4, '\u00f6': 5 };
    expect(canonicalJson(value)).to.equal('{"\\r":1,"1":2,"\u0080":4,"ö":5,"€":3,"😀":6,"דּ":7}');
  });

  it('when numbers are written, then they use the shortest round-trip ECMAScript form', () => {
    expect(canonicalJson([1e21, 1e-7, 0.1, -0, 333333333.3333333, 4.5, 100])).to.equal(
      '[1e+21,1e-7,0.1,0,333333333.3333333,4.5,100]',
    );
  });

  it('when strings hold quotes, control characters or non-ASCII, then only what JSON requires is escaped', () => {
    expect(canonicalJson('a"b\\c\n\u0001é')).to.equal('"a\\"b\\\\c\\n\\u0001é"');
  });

  it('when members are undefined or values cannot be expressed in JSON, then members are dropped and the values refused', () => {
    expect(canonicalJson({ a: undefined, b: true, c: false })).to.equal('{"b":true,"c":false}');
    expect(() => canonicalJson(Number.NaN)).to.throw(TypeError);
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).to.throw(TypeError);
    expect(() => canonicalJson([undefined])).to.throw(TypeError);
    expect(() => canonicalJson(10n)).to.throw(TypeError);
  });
});

describe('deletion-log entry hash', () => {
  const row: DeletionLogRow = {
    seq: 1,
    recording_id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
    source: 'pbx-1',
    call_id: 'call "42"',
    reason: 'retention_expired',
    actor: 'sweeper',
    reference: null,
    started_at: 1_700_000_000_123,
    expires_at: 1_702_592_000_123,
    deleted_at: 1_702_592_060_000,
    objects: canonicalJson([{ key: 'recordings/2023/11/14/X/original.wav', sha256: 'ab'.repeat(32), sizeBytes: 1234 }]),
    verified: true,
    prev_hash: GENESIS_HASH,
    hash: '',
  };

  it('when computed from the stored row (fast path), then it equals sha256(prevHash ‖ canonical JSON of the API entry without hash)', () => {
    const entry = rowToEntry(row);
    const { hash: _hash, ...body } = entry;
    const expected = createHash('sha256')
      .update(GENESIS_HASH + canonicalJson(body))
      .digest('hex');
    expect(hashRow(row)).to.equal(expected);
    expect(hashEntry(entry)).to.equal(expected);
    expect(hashRow({ ...row, reference: 'TICKET-9', verified: false })).to.equal(
      hashEntry(rowToEntry({ ...row, reference: 'TICKET-9', verified: false })),
    );
  });

  it('when a redaction entry carries its span, then the fast path still equals the hash of the API entry, and the span is hashed', () => {
    const redaction: DeletionLogRow = {
      ...row,
      reason: 'redaction',
      actor: 'privacy-1',
      span: canonicalJson({ startMs: 61_200, endMs: 74_800 }),
    };
    const entry = rowToEntry(redaction);
    expect(entry.span).to.deep.equal({ startMs: 61_200, endMs: 74_800 });
    const { hash: _hash, ...body } = entry;
    expect(canonicalJson(body)).to.include('"source":"pbx-1","span":{"endMs":74800,"startMs":61200},"startedAt"');
    expect(hashRow(redaction)).to.equal(
      createHash('sha256')
        .update(GENESIS_HASH + canonicalJson(body))
        .digest('hex'),
    );
    expect(hashRow({ ...redaction, span: canonicalJson({ startMs: 61_200, endMs: 74_801 }) })).to.not.equal(
      hashRow(redaction),
    );
    expect(hashRow({ ...redaction, span: null })).to.equal(hashRow({ ...redaction, span: undefined }));
    expect(rowToEntry({ ...redaction, span: null })).to.not.have.property('span');
  });

  it('when hashed, then the entry matches a known answer written by hand from the documented format (not derived from the code)', () => {
    // The README's rule: hash = sha256(prevHash ‖ canonicalJson(entry without "hash")), members sorted,
    // times as ISO 8601 UTC with milliseconds. The digest below was computed with sha256sum over this text.
    const text =
      '{"actor":"sweeper","callId":"call \\"42\\"","deletedAt":"2023-12-14T22:14:20.000Z","expiresAt":"2023-12-14T22:13:20.123Z",' +
      '"objects":[{"key":"recordings/2023/11/14/X/original.wav","sha256":"' +
      'ab'.repeat(32) +
      '","sizeBytes":1234}],' +
      '"prevHash":"' +
      '0'.repeat(64) +
      '","reason":"retention_expired","recordingId":"01JABCDEFGHJKMNPQRSTVWXYZ0","reference":null,' +
      '"seq":1,"source":"pbx-1","startedAt":"2023-11-14T22:13:20.123Z","verified":true}';
    const { hash: _hash, ...body } = rowToEntry(row);
    expect(canonicalJson(body)).to.equal(text);
    expect(hashRow(row)).to.equal('9ca8c36636e813a379cde6766cd73a1be43e61c9fd11fd6d4ec0400cac9ae2e9');
  });

  it('when any member changes, then the hash changes', () => {
    const base = hashRow(row);
    expect(hashRow({ ...row, deleted_at: row.deleted_at + 1 })).to.not.equal(base);
    expect(hashRow({ ...row, prev_hash: '1'.repeat(64) })).to.not.equal(base);
    expect(hashRow({ ...row, objects: row.objects.replace('1234', '1235') })).to.not.equal(base);
    expect(hashRow({ ...row, reason: 'erasure_request' })).to.not.equal(base);
  });
});

describe('fast ISO timestamps', () => {
  it('when epoch milliseconds are formatted, then the text equals Date#toISOString across eras, leap days and the extremes', async () => {
    const { fastIso } = await import('../../src/audit/deletion-log.js');
    const samples = [
      0, -1, 1, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, -62_167_219_200_000, 253_402_300_799_999,
      1_780_000_000_123, -2_208_988_800_001,
    ];
    let x = 1234567;
    for (let i = 0; i < 2000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      samples.push(Math.floor((x / 2 ** 32) * 2 ** 42) * (i % 3 === 0 ? -1 : 1) + i);
    }
    for (const ms of samples) expect(fastIso(ms), String(ms)).to.equal(new Date(ms).toISOString());
    expect(fastIso(8.64e15)).to.equal(new Date(8.64e15).toISOString());
  });
});
