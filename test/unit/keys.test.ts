import { expect } from 'chai';
import {
  MAX_KEY_LENGTH,
  assertValidKey,
  assertValidPrefix,
  recordingIdOfKey,
  recordingBindingOfKey,
  redactedKey,
  encryptedCopyKey,
  recordingKey,
  recordingPrefix,
} from '../../src/storage/keys.js';
import { InvalidKeyError } from '../../src/storage/object-store.js';

function keyError(key: string): unknown {
  try {
    assertValidKey(key);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('object keys', function () {
  describe('assertValidKey', function () {
    it('when a key is a relative path of safe segments, then it passes', function () {
      for (const key of [
        'a',
        'recordings/2026/11/27/01JABC/original.wav',
        'a-b/c_d/e.f.g',
        '0/1',
        'x'.repeat(MAX_KEY_LENGTH),
      ]) {
        expect(keyError(key), key).to.equal(undefined);
      }
    });

    it('when a key could escape the store or is malformed, then it throws InvalidKeyError', function () {
      const hostile = [
        '',
        '..',
        '../x',
        'a/../b',
        'a/..',
        '.',
        './a',
        'a/./b',
        '/abs',
        'a//b',
        'a/',
        '/',
        'C:\\x',
        'C:/x',
        'c:',
        'a\\b',
        'a\0b',
        '%2e%2e',
        '%2e%2e/x',
        '.hidden',
        'a/.hidden',
        'a b',
        'a\nb',
        'ä',
        'a?b',
        'a#b',
        '~/x',
        'x'.repeat(MAX_KEY_LENGTH + 1),
      ];
      for (const key of hostile) expect(keyError(key), JSON.stringify(key)).to.be.instanceOf(InvalidKeyError);
    });

    it('when a list prefix is empty, a key, or a key with a trailing slash, then it passes; otherwise it throws', function () {
      for (const prefix of ['', 'recordings/', 'recordings/2026', 'a/b/'])
        expect(() => assertValidPrefix(prefix), prefix).to.not.throw();
      for (const prefix of ['/', '../', 'a//', '/a'])
        expect(() => assertValidPrefix(prefix), prefix).to.throw(InvalidKeyError);
    });
  });

  describe('recordingKey', function () {
    it('when built from an id and a start time, then the key is dated in UTC and the id can be read back', function () {
      const startedAt = new Date('2026-01-02T23:30:00-05:00'); // 2026-01-03 04:30 UTC
      const key = recordingKey({ id: '01JABCDEF', startedAt, name: 'original', ext: 'wav' });
      expect(key).to.equal('recordings/2026/01/03/01JABCDEF/original.wav');
      expect(recordingPrefix('01JABCDEF', startedAt)).to.equal('recordings/2026/01/03/01JABCDEF/');
      expect(recordingIdOfKey(key)).to.equal('01JABCDEF');
      expect(recordingIdOfKey('other/2026/01/03/01JABCDEF/original.wav')).to.equal(undefined);
    });

    it('when the id or extension would make an unsafe key, then it throws InvalidKeyError', function () {
      const startedAt = new Date('2026-01-03T00:00:00Z');
      expect(() => recordingKey({ id: '../x', startedAt, name: 'original', ext: 'wav' })).to.throw(InvalidKeyError);
      expect(() => recordingKey({ id: 'ok', startedAt, name: 'playback', ext: '/../x' })).to.throw(InvalidKeyError);
    });

    it('when encrypt-existing names the copy of a recording object, then it sits in the enc/ folder beside it with the same recording and role', function () {
      const key = 'recordings/2026/01/03/01JABCDEF/playback.opus';
      const copy = encryptedCopyKey(key)!;
      expect(copy).to.equal('recordings/2026/01/03/01JABCDEF/enc/playback.opus');
      expect(recordingBindingOfKey(copy)).to.deep.equal(recordingBindingOfKey(key));
      expect(recordingBindingOfKey(copy)).to.deep.equal({ recordingId: '01JABCDEF', role: 'playback' });
      expect(recordingIdOfKey(copy)).to.equal('01JABCDEF');
      expect(encryptedCopyKey(copy), 'a copy has no copy').to.equal(undefined);
      expect(encryptedCopyKey('checkpoints/2026/01/03/x.json')).to.equal(undefined);
      expect(recordingBindingOfKey('recordings/2026/01/03/01JABCDEF/other/playback.opus')).to.equal(undefined);
    });

    it('when a redaction names its new objects, then they sit in a folder of their own beside the old ones, bound to the same recording and role (encrypted with its key)', function () {
      const key = redactedKey({
        id: '01JABCDEF',
        startedAt: new Date(Date.UTC(2026, 0, 3, 23, 59)),
        redaction: '01JREDACTION0000000000000A',
        name: 'original',
        ext: 'wav',
      });
      expect(key).to.equal('recordings/2026/01/03/01JABCDEF/r01JREDACTION0000000000000A/original.wav');
      expect(recordingBindingOfKey(key)).to.deep.equal({ recordingId: '01JABCDEF', role: 'original' });
      expect(recordingIdOfKey(key)).to.equal('01JABCDEF');
      expect(encryptedCopyKey(key), 'never copied by encrypt-existing').to.equal(undefined);
      expect(
        recordingBindingOfKey('recordings/2026/01/03/01JABCDEF/r01jredaction0000000000000a/original.wav'),
      ).to.equal(undefined);
    });
  });
});
