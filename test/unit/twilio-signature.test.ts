/**
 * Twilio's request signature and date format (src/ingest/adapters/twilio-signature.ts) against
 * the example of Twilio's own documentation, and the configuration rules of the Twilio adapter.
 */
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config.js';
import {
  parseRfc2822,
  twilioSignature,
  twilioSignatureUrls,
  verifyTwilioSignature,
} from '../../src/ingest/adapters/twilio-signature.js';
import { guardTwilioUrl, twilioMediaUrl } from '../../src/ingest/adapters/twilio-api.js';
import { directionOf, partyOf, twilioBackoffMs } from '../../src/ingest/adapters/twilio-worker.js';

/** Twilio's documented example (security docs, RequestValidator samples). */
const DOC_EXAMPLE = {
  authToken: '12345',
  url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
  params: {
    CallSid: 'CA1234567890ABCDE',
    Caller: '+14158675310',
    Digits: '1234',
    From: '+14158675310',
    To: '+18005551212',
  },
  signature: 'GvWf1cFY/Q7PnoempGyD5oXAezc=',
};

describe('Twilio signature', function () {
  it("when Twilio's documented example is signed, then the signature is the documented one", function () {
    expect(twilioSignature(DOC_EXAMPLE.authToken, DOC_EXAMPLE.url, DOC_EXAMPLE.params)).to.equal(DOC_EXAMPLE.signature);
    expect(verifyTwilioSignature({ ...DOC_EXAMPLE, header: DOC_EXAMPLE.signature })).to.equal(true);
  });

  it('when a parameter, the URL, the token or the header differs, then the signature does not verify', function () {
    expect(
      verifyTwilioSignature({
        ...DOC_EXAMPLE,
        params: { ...DOC_EXAMPLE.params, Digits: '1235' },
        header: DOC_EXAMPLE.signature,
      }),
    ).to.equal(false);
    expect(
      verifyTwilioSignature({
        ...DOC_EXAMPLE,
        url: 'https://mycompany.com/myapp.php?foo=1&bar=3',
        header: DOC_EXAMPLE.signature,
      }),
    ).to.equal(false);
    expect(verifyTwilioSignature({ ...DOC_EXAMPLE, authToken: '12346', header: DOC_EXAMPLE.signature })).to.equal(
      false,
    );
    expect(verifyTwilioSignature({ ...DOC_EXAMPLE, header: undefined })).to.equal(false);
    expect(verifyTwilioSignature({ ...DOC_EXAMPLE, header: 'short' })).to.equal(false);
  });

  it('when Twilio signed the URL with the default port written out, then it verifies against the URL without it', function () {
    const withPort = twilioSignature(
      DOC_EXAMPLE.authToken,
      'https://mycompany.com:443/myapp.php?foo=1&bar=2',
      DOC_EXAMPLE.params,
    );
    expect(verifyTwilioSignature({ ...DOC_EXAMPLE, header: withPort })).to.equal(true);
    expect(twilioSignatureUrls('http://127.0.0.1:3000/x')).to.deep.equal(['http://127.0.0.1:3000/x']);
  });
});

describe('Twilio dates (RFC 2822)', function () {
  it('when Twilio writes a date, then it parses to that instant, offsets included', function () {
    expect(parseRfc2822('Tue, 01 Dec 2026 14:03:07 +0000')).to.equal(Date.UTC(2026, 11, 1, 14, 3, 7));
    expect(parseRfc2822('Tue, 01 Dec 2026 14:03:07 +0100')).to.equal(Date.UTC(2026, 11, 1, 13, 3, 7));
    expect(parseRfc2822('1 Dec 2026 14:03 GMT')).to.equal(Date.UTC(2026, 11, 1, 14, 3, 0));
  });

  it('when a date is malformed or names no real instant, then it is refused', function () {
    for (const text of [
      '2026-12-01T14:03:07Z',
      'Thu, 31 Apr 2026 10:00:00 +0000',
      'Tue, 01 Dec 2026 24:00:00 +0000',
      'yesterday',
      '',
    ])
      expect(parseRfc2822(text), text).to.equal(undefined);
  });
});

describe('Twilio URLs and call fields', function () {
  const origin = 'https://api.twilio.com';
  it('when a URL is on another origin (host, scheme, port) or carries credentials, then it is refused', function () {
    for (const url of [
      'https://evil.example/2010-04-01/x',
      'http://api.twilio.com/x',
      'https://api.twilio.com:8443/x',
      'https://u:p@api.twilio.com/x',
      'not a url',
    ])
      expect(() => guardTwilioUrl(url, origin), url).to.throw(/refused/);
    expect(guardTwilioUrl('https://api.twilio.com/2010-04-01/x', origin).pathname).to.equal('/2010-04-01/x');
  });

  it('when the media URL is built, then it asks for .wav, and for two channels when the recording has two', function () {
    expect(twilioMediaUrl(`${origin}/2010-04-01/Accounts/AC1/Recordings/RE1`, 2, origin).toString()).to.equal(
      `${origin}/2010-04-01/Accounts/AC1/Recordings/RE1.wav?RequestedChannels=2`,
    );
    expect(twilioMediaUrl(`${origin}/2010-04-01/Accounts/AC1/Recordings/RE1`, 1, origin).toString()).to.equal(
      `${origin}/2010-04-01/Accounts/AC1/Recordings/RE1.wav`,
    );
  });

  it("when Twilio's direction and parties are mapped, then outbound-* is outbound and client:/sip: endpoints are internal", function () {
    expect(
      ['inbound', 'outbound-api', 'outbound-dial', 'trunking-originating', 'other', null].map(directionOf),
    ).to.deep.equal(['inbound', 'outbound', 'outbound', 'inbound', null, null]);
    expect(partyOf('+31201234567', 'NL')).to.deep.equal({ number: '+31201234567', kind: 'e164' });
    expect(partyOf('client:agent-7', 'NL')).to.deep.equal({ number: null, kind: 'internal' });
    expect(partyOf('+266696687', 'NL')).to.deep.equal({ number: null, kind: 'withheld' });
    expect(partyOf(null, 'NL')).to.deep.equal({ number: null, kind: null });
  });

  it('when attempts fail, then the backoff doubles from the base up to the maximum', function () {
    expect([1, 2, 3, 4, 10].map((n) => twilioBackoffMs(n, 30_000, 100_000))).to.deep.equal([
      30_000, 60_000, 100_000, 100_000, 100_000,
    ]);
  });
});

describe('Twilio configuration', function () {
  const account = { CALLREC_TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, CALLREC_TWILIO_AUTH_TOKEN: 'b'.repeat(32) };
  it('when an account is configured without CALLREC_PUBLIC_URL, then the start is refused naming it', function () {
    expect(() => loadConfig(account)).to.throw(ConfigError, /CALLREC_PUBLIC_URL/);
  });
  it('when only one of account SID and auth token is set, then the start is refused', function () {
    expect(() =>
      loadConfig({
        CALLREC_TWILIO_ACCOUNT_SID: account.CALLREC_TWILIO_ACCOUNT_SID,
        CALLREC_PUBLIC_URL: 'https://c.example',
      }),
    ).to.throw(ConfigError, /CALLREC_TWILIO_AUTH_TOKEN/);
  });
  it('when configured, then the API origin defaults to Twilio and deletes after import default to on', function () {
    const config = loadConfig({ ...account, CALLREC_PUBLIC_URL: 'https://c.example' });
    expect(config.ingest.twilio).to.deep.include({ apiOrigin: 'https://api.twilio.com', deleteAfterImport: true });
    expect(loadConfig({}).ingest.twilio).to.equal(undefined);
  });
});
