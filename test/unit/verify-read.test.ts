import { expect } from 'chai';
import { unpackLogRow } from '../../src/audit/verify-read.js';

/** Packs like the verifier's SQLite select does (lengths in characters = UTF-16 units here: BMP only). */
function pack(
  o: { seq?: string; text?: string[]; reference?: string | null; shred?: string; span?: string; tail?: string } = {},
): string {
  const texts = o.text ?? ['01JABCDEFGHJKMNPQRSTVWXYZ0', 'pbx-1', 'call:7,-', 'retention_expired', 'sweeper'];
  const field = (t: string) => `${t.length}:${t}`;
  const reference = o.reference === undefined ? null : o.reference;
  return (
    `${o.seq ?? '7'},1700000000123,-5,1702592060000,1,` +
    texts.map(field).join('') +
    (reference === null ? '-' : field(reference)) +
    field('[]') +
    field('0'.repeat(64)) +
    field('ab'.repeat(32)) +
    (o.shred ?? '-') +
    (o.span ?? '-') +
    (o.tail ?? '')
  );
}

describe('deletion-log verifier: packed SQLite rows', () => {
  it('when a packed row is split, then every field comes back exactly, separators inside texts included', () => {
    expect(unpackLogRow(pack({ reference: '12:-,x' }))).to.deep.equal({
      seq: 7,
      started_at: 1_700_000_000_123,
      expires_at: -5,
      deleted_at: 1_702_592_060_000,
      verified: true,
      recording_id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
      source: 'pbx-1',
      call_id: 'call:7,-',
      reason: 'retention_expired',
      actor: 'sweeper',
      reference: '12:-,x',
      objects: '[]',
      prev_hash: '0'.repeat(64),
      hash: 'ab'.repeat(32),
      key_shredded: null,
      kek_id: null,
      span: null,
    });
    expect(unpackLogRow(pack())).to.include({ reference: null });
    expect(unpackLogRow(pack({ text: ['', '', '', '', ''] }))).to.include({ source: '', actor: '' });
  });

  it('when a packed row is malformed, truncated or followed by anything, then it is refused (the page is read the slow way)', () => {
    const good = pack();
    expect(unpackLogRow(good)).to.not.equal(undefined);
    for (const bad of [
      good.slice(0, -1),
      `${good}x`,
      pack({ tail: '0:' }),
      pack({ seq: '' }),
      pack({ seq: '7a' }),
      pack({ seq: '--7' }),
      good.replace('26:', '99:'),
      good.replace('26:', '2x:'),
      '',
      '7,',
    ]) {
      expect(unpackLogRow(bad), JSON.stringify(bad)).to.equal(undefined);
    }
  });

  it('when a packed row records a shredded data key, then key_shredded and kek_id come back; a malformed pair is refused', () => {
    expect(unpackLogRow(pack({ shred: '1,18:k20261130-0123abcd' }))).to.include({
      key_shredded: true,
      kek_id: 'k20261130-0123abcd',
    });
    expect(unpackLogRow(pack())).to.include({ key_shredded: null, kek_id: null });
    for (const shred of ['1,', '1,5:abc', 'x,1:a', '1,1:ab', ''])
      expect(unpackLogRow(pack({ shred })), shred).to.equal(undefined);
  });

  it('when a packed row records a redacted span, then span comes back as its text; a malformed span is refused', () => {
    const span = '{"endMs":2000,"startMs":1000}';
    expect(unpackLogRow(pack({ span: `${span.length}:${span}` }))).to.include({ span });
    expect(unpackLogRow(pack({ shred: '1,2:k1', span: `${span.length}:${span}` }))).to.include({
      span,
      key_shredded: true,
    });
    for (const bad of ['', '5:{}', 'x:{}', '2:{}-']) expect(unpackLogRow(pack({ span: bad })), bad).to.equal(undefined);
  });

  it('when an integer exceeds 2^53, then it is parsed as Number() parses its digits', () => {
    const row = unpackLogRow(pack({ seq: '9007199254740993123' }));
    expect(row?.seq).to.equal(Number('9007199254740993123'));
  });
});
