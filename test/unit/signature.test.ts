import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { checkTimestamp, computeSignature, secretOf, signatureHeader, verifySignature } from '../../src/ingest/signature.js';

const SECRET = 'unit-secret-0123456789abcdef';
const digestOf = (text: string) => createHash('sha256').update(text).digest('hex');

describe('ingest signature', () => {
  const timestamp = '1790000000';
  const bodySha256Hex = digestOf('a multipart body');

  it('when computed, then it equals what openssl computes for HMAC-SHA256 of "<timestamp>.<body sha256>"', () => {
    const openssl = execFileSync('openssl', ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `key:${SECRET}`, '-r'], {
      input: `${timestamp}.${bodySha256Hex}`,
    })
      .toString()
      .split(' ')[0];
    expect(computeSignature(SECRET, timestamp, bodySha256Hex)).to.equal(openssl);
  });

  it('when the header is the v1 signature of the same timestamp and digest, then it verifies', () => {
    const header = signatureHeader(SECRET, timestamp, bodySha256Hex);
    expect(header).to.match(/^v1=[0-9a-f]{64}$/);
    expect(verifySignature({ secret: SECRET, timestamp, bodySha256Hex, header })).to.equal(true);
    expect(verifySignature({ secret: SECRET, timestamp, bodySha256Hex, header: header.toUpperCase().replace('V1', 'v1') })).to.equal(true);
  });

  it('when the secret, timestamp or body differs, then it does not verify', () => {
    const header = signatureHeader(SECRET, timestamp, bodySha256Hex);
    expect(verifySignature({ secret: `${SECRET}x`, timestamp, bodySha256Hex, header })).to.equal(false);
    expect(verifySignature({ secret: SECRET, timestamp: '1790000001', bodySha256Hex, header })).to.equal(false);
    expect(verifySignature({ secret: SECRET, timestamp, bodySha256Hex: digestOf('another body'), header })).to.equal(false);
  });

  it('when the header is malformed (other version, short, not hex, empty), then it does not verify', () => {
    const hex = computeSignature(SECRET, timestamp, bodySha256Hex);
    for (const header of [`v0=${hex}`, hex, `v1=${hex.slice(2)}`, `v1=${'z'.repeat(64)}`, '', 'v1=']) {
      expect(verifySignature({ secret: SECRET, timestamp, bodySha256Hex, header }), header).to.equal(false);
    }
  });

  it('when several signatures are sent (secret rotation), then one valid signature is enough', () => {
    const header = `${signatureHeader('old-secret-0123456789abcdef', timestamp, bodySha256Hex)}, ${signatureHeader(SECRET, timestamp, bodySha256Hex)}`;
    expect(verifySignature({ secret: SECRET, timestamp, bodySha256Hex, header })).to.equal(true);
  });

  it('when the timestamp is within 300 s either way, then ok; beyond, stale or future; not digits, malformed', () => {
    const now = 1_790_000_000_000;
    expect(checkTimestamp(String(now / 1000), now)).to.equal('ok');
    expect(checkTimestamp(String(now / 1000 - 300), now)).to.equal('ok');
    expect(checkTimestamp(String(now / 1000 + 300), now)).to.equal('ok');
    expect(checkTimestamp(String(now / 1000 - 301), now)).to.equal('stale');
    expect(checkTimestamp(String(now / 1000 + 301), now)).to.equal('future');
    for (const bad of ['', '-5', '12a', '1.5', ' 1790000000']) expect(checkTimestamp(bad, now), bad).to.equal('malformed');
  });

  it('when a source id is looked up, then only own configured ids have a secret (no prototype keys)', () => {
    const sources = { 'pbx-1': SECRET };
    expect(secretOf(sources, 'pbx-1')).to.equal(SECRET);
    expect(secretOf(sources, 'pbx-2')).to.equal(undefined);
    expect(secretOf(sources, 'constructor')).to.equal(undefined);
    expect(secretOf(sources, '__proto__')).to.equal(undefined);
  });
});
