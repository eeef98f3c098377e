/**
 * The encrypting decorator on real drivers (fs, MinIO): what is stored is not the audio, and
 * every kind of tampering with the stored bytes is refused with an integrity error (never
 * wrong or partial audio); a shredded key leaves nothing that decrypts.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { expect } from 'chai';
import { probeAudio } from '../../src/audio/probe.js';
import {
  HEADER_SIZE,
  TAG_SIZE,
  DEFAULT_SEGMENT_SIZE,
  decryptBuffer,
  encryptedSize,
  parseHeader,
} from '../../src/storage/encrypted-format.js';
import { createEncryptedStore } from '../../src/storage/encrypted-store.js';
import { recordingBindingOfKey, recordingKey } from '../../src/storage/keys.js';
import type { ObjectStore, RangeRequest } from '../../src/storage/object-store.js';
import { storeErrorToAppError } from '../../src/http/store-errors.js';
import { storeBackends, tempDir } from '../support/backends.js';
import type { TestStore } from '../support/backends.js';
import { memoryDataKeys } from '../support/encryption.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { rejection } from '../support/rejection.js';

const SEGMENT = DEFAULT_SEGMENT_SIZE + TAG_SIZE;
const STARTED = new Date(Date.UTC(2026, 10, 20, 9, 0, 0));

/** Key of a recording's object, with overrides. */
function keyOf(overrides: Partial<{ id: string; name: 'original' | 'playback'; ext: string }> = {}): string {
  return recordingKey({
    id: '01JTESTRECORDING000000000A',
    startedAt: STARTED,
    name: 'original',
    ext: 'wav',
    ...overrides,
  });
}

/** Every run of 33 bytes of `plain` that occurs in `stored` (none expected). */
function sharedRuns(plain: Buffer, stored: Buffer, length = 33): number {
  const windows = new Set<string>();
  for (let i = 0; i + length <= stored.length; i++) windows.add(stored.toString('latin1', i, i + length));
  let shared = 0;
  for (let i = 0; i + length <= plain.length; i++)
    if (windows.has(plain.toString('latin1', i, i + length))) shared += 1;
  return shared;
}

/** Segment `i` of a stored object (the last one may be short). */
function segmentOf(stored: Buffer, i: number): Buffer {
  return stored.subarray(HEADER_SIZE + i * SEGMENT, Math.min(stored.length, HEADER_SIZE + (i + 1) * SEGMENT));
}

for (const backend of storeBackends) {
  describe(`encrypted store on ${backend.name}: stored bytes, tampering, shredding`, function () {
    let t: TestStore;
    let raw: ObjectStore;
    let store: ObjectStore;
    let keys: ReturnType<typeof memoryDataKeys>;
    let audio: Buffer;

    before(async function () {
      t = await backend.create();
      raw = t.store;
      audio = await audioFixtureBytes('pcm-mono-16k', { seconds: 7 });
      expect(audio.length, 'several segments, the last one partial').to.be.greaterThan(3 * DEFAULT_SEGMENT_SIZE);
      expect(audio.length % DEFAULT_SEGMENT_SIZE).to.not.equal(0);
    });
    beforeEach(function () {
      keys = memoryDataKeys();
      store = createEncryptedStore(raw, { dataKeys: keys, bindingOf: recordingBindingOfKey });
    });
    afterEach(async function () {
      const left: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await raw.list('', { cursor });
        left.push(...page.items.map((i) => i.key));
        cursor = page.nextCursor;
      } while (cursor);
      if (left.length) await raw.deleteMany(left);
    });
    after(async function () {
      await t?.dispose();
    });

    const putAudio = (key: string, body = audio) =>
      store.put(key, Readable.from([body]), { contentType: 'audio/wav', contentLength: body.length, tags: {} });
    const storedBytes = async (key: string) => buffer((await raw.get(key)).body);

    it('when audio is stored, then the stored bytes are not audio (ffprobe fails) and share no run of more than 32 bytes with it; read back, they are the audio', async function () {
      const key = keyOf();
      const info = await putAudio(key);
      expect(info.size).to.equal(audio.length);
      const stored = await storedBytes(key);
      expect(parseHeader(stored).segmentSize).to.equal(DEFAULT_SEGMENT_SIZE);
      expect(stored.length).to.equal(
        HEADER_SIZE + audio.length + TAG_SIZE * Math.ceil(audio.length / DEFAULT_SEGMENT_SIZE),
      );
      expect(sharedRuns(audio, stored)).to.equal(0);
      const dir = tempDir();
      try {
        fs.writeFileSync(path.join(dir, 'plain.wav'), audio);
        fs.writeFileSync(path.join(dir, 'stored.wav'), stored);
        await probeAudio(path.join(dir, 'plain.wav'), { timeoutMs: 30_000 }); // the check itself works
        expect(await rejection(probeAudio(path.join(dir, 'stored.wav'), { timeoutMs: 30_000 }))).to.have.property(
          'name',
          'AudioDecodeError',
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      const got = await store.get(key);
      expect(got.info.size).to.equal(audio.length);
      expect((await buffer(got.body)).equals(audio)).to.equal(true);
      expect((await store.stat(key)).size).to.equal(audio.length);
    });

    it('when audio arrives in chunks of odd sizes across segment boundaries, then the stored object has the layout of the format and reads back whole and in ranges', async function () {
      const sha256 = createHash('sha256').update(audio).digest('hex');
      for (const sizes of [[1000], [DEFAULT_SEGMENT_SIZE - 1], [DEFAULT_SEGMENT_SIZE + 1], [7, 70_000, 16_384]]) {
        const key = keyOf();
        const chunks: Buffer[] = [];
        for (let at = 0, i = 0; at < audio.length; i++) {
          chunks.push(audio.subarray(at, at + sizes[i % sizes.length]!));
          at += sizes[i % sizes.length]!;
        }
        const info = await store.put(key, Readable.from(chunks), {
          contentType: 'audio/wav',
          contentLength: audio.length,
          sha256,
          tags: {},
        });
        expect(info.size, sizes.join(',')).to.equal(audio.length);
        const stored = await storedBytes(key);
        expect(stored.length, sizes.join(',')).to.equal(encryptedSize(audio.length, DEFAULT_SEGMENT_SIZE));
        expect(
          decryptBuffer(keys.keys.get('01JTESTRECORDING000000000A')!.key, recordingBindingOfKey(key)!, stored).equals(
            audio,
          ),
          sizes.join(','),
        ).to.equal(true);
        expect((await buffer((await store.get(key)).body)).equals(audio), sizes.join(',')).to.equal(true);
        const range = { start: DEFAULT_SEGMENT_SIZE - 3, end: 2 * DEFAULT_SEGMENT_SIZE + 3 };
        const part = await buffer((await store.get(key, { range })).body);
        expect(part.equals(audio.subarray(range.start, range.end + 1)), sizes.join(',')).to.equal(true);
        await raw.delete(key);
      }
    });

    const tamperings: Array<{ label: string; tamper(stored: Buffer): Buffer }> = [
      {
        label: 'one byte of a middle segment is flipped',
        tamper: (s) => {
          const copy = Buffer.from(s);
          copy[HEADER_SIZE + SEGMENT + 100]! ^= 0x01;
          return copy;
        },
      },
      {
        label: 'one byte of the header is flipped',
        tamper: (s) => {
          const copy = Buffer.from(s);
          copy[20]! ^= 0x80;
          return copy;
        },
      },
      {
        label: 'the object is truncated at a segment boundary',
        tamper: (s) => s.subarray(0, HEADER_SIZE + 2 * SEGMENT),
      },
      {
        label: 'the last segment is dropped',
        tamper: (s) => s.subarray(0, s.length - segmentOf(s, Math.floor((s.length - HEADER_SIZE) / SEGMENT)).length),
      },
      { label: 'a segment is cut short', tamper: (s) => s.subarray(0, s.length - 7) },
      {
        label: 'two segments are swapped',
        tamper: (s) =>
          Buffer.concat([
            s.subarray(0, HEADER_SIZE),
            segmentOf(s, 1),
            segmentOf(s, 0),
            s.subarray(HEADER_SIZE + 2 * SEGMENT),
          ]),
      },
    ];
    for (const { label, tamper } of tamperings) {
      it(`when ${label}, then reading it fails with an integrity error (500 integrity at the edge), never with audio`, async function () {
        const key = keyOf();
        await putAudio(key);
        const damaged = tamper(await storedBytes(key));
        await raw.put(key, damaged, { contentType: 'audio/wav', tags: {} });
        const whole = await rejection(store.get(key));
        expect(whole).to.have.property('code', 'integrity');
        expect(storeErrorToAppError(whole)).to.include({ status: 500, code: 'integrity' });
        // A range over the damage (or over the end, for a shortened object) fails too.
        const ranges: RangeRequest[] = [
          { start: 0 },
          { suffix: 10 },
          { start: DEFAULT_SEGMENT_SIZE - 5, end: DEFAULT_SEGMENT_SIZE + 5 },
        ];
        const outcomes = await Promise.all(
          ranges.map(async (range) => {
            try {
              return await buffer((await store.get(key, { range })).body).then(() => 'served');
            } catch (error) {
              return (error as { code?: string }).code;
            }
          }),
        );
        expect(
          outcomes.filter((o) => o !== 'integrity' && o !== 'served'),
          'only integrity errors',
        ).to.deep.equal([]);
        expect(outcomes).to.include('integrity');
      });
    }

    it("when a recording's object is replaced by another recording's, or by its other role's, then it fails with an integrity error", async function () {
      const mine = keyOf();
      const other = keyOf({ id: '01JTESTRECORDING000000000B' });
      const playback = keyOf({ name: 'playback' });
      await putAudio(mine);
      await putAudio(other);
      await putAudio(playback, audio.subarray(0, 100_000));
      await raw.put(mine, await storedBytes(other), { contentType: 'audio/wav', tags: {} });
      expect(await rejection(store.get(mine))).to.have.property('code', 'integrity');
      expect(await rejection(store.get(mine, { range: { start: 0, end: 9 } }))).to.have.property('code', 'integrity');
      await raw.put(other, await storedBytes(playback), { contentType: 'audio/wav', tags: {} });
      expect(await rejection(store.get(other))).to.have.property('code', 'integrity');
    });

    it('when a plaintext object takes the place of an encrypted one, then it fails with an integrity error', async function () {
      const key = keyOf();
      await putAudio(key);
      await raw.put(key, audio, { contentType: 'audio/wav', tags: {} });
      expect(await rejection(store.get(key))).to.have.property('code', 'integrity');
    });

    it("when the recording's data key is shredded, then a copy of its objects put back cannot be read: the error says the key is gone", async function () {
      const key = keyOf();
      await putAudio(key);
      const backup = await storedBytes(key);
      await store.delete(key);
      keys.shred('01JTESTRECORDING000000000A');
      await raw.put(key, backup, { contentType: 'audio/wav', tags: {} });
      const error = await rejection(store.get(key));
      expect(error).to.have.property('name', 'DataKeyMissingError');
      expect(error.message).to.match(/shredded/);
      expect(storeErrorToAppError(error)).to.include({ status: 500, code: 'integrity' });
    });

    it('when a recording has no data key (stored before encryption, or with it off), then its plaintext objects are served as they are', async function () {
      const key = keyOf();
      await raw.put(key, audio, { contentType: 'audio/wav', tags: {} });
      expect((await buffer((await store.get(key)).body)).equals(audio)).to.equal(true);
      const part = await store.get(key, { range: { start: 10, end: 19 } });
      expect((await buffer(part.body)).equals(audio.subarray(10, 20))).to.equal(true);
    });

    it('when a key outside the recording layout is put (a checkpoint), then it is stored as it is', async function () {
      await store.put('checkpoints/0000000001.json', Buffer.from('{}'), { contentType: 'application/json', tags: {} });
      expect((await storedBytes('checkpoints/0000000001.json')).toString()).to.equal('{}');
    });
  });
}
