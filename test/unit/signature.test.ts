import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import {
  checkTimestamp,
  computeHeaderSignature,
  computeSignature,
  contentDigestHeader,
  headerSignatureHeader,
  parseContentDigest,
  secretOf,
  signatureHeader,
  signatureVersionOf,
  verifyHeaderSignature,
  verifySignature,
} from '../../src/ingest/signature.js';
import type { SignedHeaders } from '../../src/ingest/signature.js';

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
    expect(
      verifySignature({ secret: SECRET, timestamp, bodySha256Hex, header: header.toUpperCase().replace('V1', 'v1') }),
    ).to.equal(true);
  });

  it('when the secret, timestamp or body differs, then it does not verify', () => {
    const header = signatureHeader(SECRET, timestamp, bodySha256Hex);
    expect(verifySignature({ secret: `${SECRET}x`, timestamp, bodySha256Hex, header })).to.equal(false);
    expect(verifySignature({ secret: SECRET, timestamp: '1790000001', bodySha256Hex, header })).to.equal(false);
    expect(verifySignature({ secret: SECRET, timestamp, bodySha256Hex: digestOf('another body'), header })).to.equal(
      false,
    );
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
    for (const bad of ['', '-5', '12a', '1.5', ' 1790000000'])
      expect(checkTimestamp(bad, now), bad).to.equal('malformed');
  });

  it('when a source id is looked up, then only own configured ids have a secret (no prototype keys)', () => {
    const sources = { 'pbx-1': SECRET };
    expect(secretOf(sources, 'pbx-1')).to.equal(SECRET);
    expect(secretOf(sources, 'pbx-2')).to.equal(undefined);
    expect(secretOf(sources, 'constructor')).to.equal(undefined);
    expect(secretOf(sources, '__proto__')).to.equal(undefined);
  });

  describe('v2 (over the headers)', () => {
    /** The signed headers of a v2 request, with overrides. */
    const signedHeaders = (overrides: Partial<SignedHeaders> = {}): SignedHeaders => ({
      timestamp,
      source: 'pbx.1',
      contentLength: '48213',
      bodySha256Hex,
      ...overrides,
    });

    it('when computed, then it equals what openssl computes for HMAC-SHA256 of "v2.<timestamp>.<source>.<content-length>.<body sha256>"', () => {
      const openssl = execFileSync('openssl', ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `key:${SECRET}`, '-r'], {
        input: `v2.${timestamp}.pbx.1.48213.${bodySha256Hex}`,
      })
        .toString()
        .split(' ')[0];
      expect(computeHeaderSignature(SECRET, signedHeaders())).to.equal(openssl);
    });

    it('when the header is the v2 signature of the same headers, then it verifies, also beside an old v2 or a v1 entry', () => {
      const header = headerSignatureHeader(SECRET, signedHeaders());
      expect(header).to.match(/^v2=[0-9a-f]{64}$/);
      expect(verifyHeaderSignature({ secret: SECRET, header, ...signedHeaders() })).to.equal(true);
      const rotated = `${headerSignatureHeader('old-secret-0123456789abcdef', signedHeaders())},${header}`;
      expect(verifyHeaderSignature({ secret: SECRET, header: rotated, ...signedHeaders() })).to.equal(true);
      const both = `${signatureHeader(SECRET, timestamp, bodySha256Hex)}, ${header}`;
      expect(verifyHeaderSignature({ secret: SECRET, header: both, ...signedHeaders() })).to.equal(true);
    });

    it('when the secret, timestamp, source, length or digest differs, then it does not verify', () => {
      const header = headerSignatureHeader(SECRET, signedHeaders());
      expect(verifyHeaderSignature({ secret: `${SECRET}x`, header, ...signedHeaders() })).to.equal(false);
      for (const changed of [
        { timestamp: '1790000001' },
        { source: 'pbx.2' },
        { contentLength: '48214' },
        { bodySha256Hex: digestOf('another body') },
      ]) {
        expect(
          verifyHeaderSignature({ secret: SECRET, header, ...signedHeaders(changed) }),
          JSON.stringify(changed),
        ).to.equal(false);
      }
    });

    it('when a v1 signature is checked as v2 or a v2 one as v1, then neither verifies', () => {
      const v1 = signatureHeader(SECRET, timestamp, bodySha256Hex);
      const v2 = headerSignatureHeader(SECRET, signedHeaders());
      expect(verifyHeaderSignature({ secret: SECRET, header: v1, ...signedHeaders() })).to.equal(false);
      expect(verifyHeaderSignature({ secret: SECRET, header: v1.replace('v1=', 'v2='), ...signedHeaders() })).to.equal(
        false,
      );
      expect(verifySignature({ secret: SECRET, timestamp, bodySha256Hex, header: v2 })).to.equal(false);
    });

    it('when a header holds any v2 entry, then its version is v2; otherwise v1', () => {
      expect(signatureVersionOf('v1=ab')).to.equal('v1');
      expect(signatureVersionOf('')).to.equal('v1');
      expect(signatureVersionOf('v2=ab')).to.equal('v2');
      expect(signatureVersionOf('v1=ab, v2=cd')).to.equal('v2');
      expect(signatureVersionOf('v1=v2=cd')).to.equal('v1');
    });

    it('when Content-Digest holds sha-256 (RFC 9530), then its hex is read back, also beside other algorithms; otherwise none', () => {
      const header = contentDigestHeader(bodySha256Hex);
      const base64 = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: 'a multipart body' }).toString(
        'base64',
      );
      expect(header).to.equal(`sha-256=:${base64}:`);
      expect(parseContentDigest(header)).to.equal(bodySha256Hex);
      expect(parseContentDigest(`sha-512=:${Buffer.alloc(64).toString('base64')}:, ${header}`)).to.equal(bodySha256Hex);
      for (const bad of [
        undefined,
        '',
        `sha-256=${base64}`,
        `sha-256=:${base64.slice(4)}:`,
        `sha-512=:${base64}:`,
        `md5=:${base64}:`,
      ]) {
        expect(parseContentDigest(bad), String(bad)).to.equal(undefined);
      }
    });
  });
});
