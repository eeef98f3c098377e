/**
 * The ObjectStore contract: the same tests for every driver (fs always, s3 on a real MinIO and
 * a real SeaweedFS; where the servers differ, test/support/backends.ts says what each does), and
 * for fs and MinIO behind the encrypting decorator.
 * An afterEach fails the suite when a test left an object, a temp file or an incomplete
 * multipart upload behind.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectRetentionCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import type { StoreConfig } from '../../src/config.js';
import { UNOWNED_GRACE_MS } from '../../src/owned-dirs.js';
import { FS_STORE_TMP_DIR, createFsStore, removeStaleFsTemp } from '../../src/storage/fs-store.js';
import {
  InvalidKeyError,
  InvalidRangeError,
  ObjectIntegrityError,
  ObjectNotFoundError,
  StoreUnavailableError,
} from '../../src/storage/object-store.js';
import type { ObjectStore, RangeRequest, Tags, VersionItem } from '../../src/storage/object-store.js';
import { PART_SIZE, createS3Client, createS3Store } from '../../src/storage/s3-store.js';
import {
  contractStoreBackends,
  createLockedS3Store,
  destroyBucket,
  minioStoreConfig,
  s3Servers,
  tempDir,
  uniqueName,
} from '../support/backends.js';
import type { TestStore } from '../support/backends.js';
import { age, deadOwner, liveProcess, tempLeftovers, tempOwners, writeOwnedDir } from '../support/owners.js';
import { rejection } from '../support/rejection.js';
import { seededBytes } from '../support/random.js';
import { encryptedStoreBackends } from '../support/encryption.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Builds put options with overrides. */
function putOptions(
  overrides: Partial<{
    contentType: string;
    contentLength: number;
    tags: Tags;
    sha256: string;
    signal: AbortSignal;
  }> = {},
) {
  return { contentType: 'application/octet-stream', tags: { retention: '30d' }, ...overrides };
}

/** A body delivered in chunks of at most 64 KiB, of unknown length to the store. */
function chunked(data: Buffer, chunkSize = 64 * 1024): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) this.push(null);
      else {
        this.push(data.subarray(offset, offset + chunkSize));
        offset += chunkSize;
      }
    },
  });
}

/**
 * A body that delivers `bytes` bytes, then stalls (pushes nothing more) and calls `onStall`
 * once the store has asked for more than that: the moment the store holds all of it.
 */
function stallingBody(bytes: number, onStall: (body: Readable) => void): Readable {
  let sent = 0;
  let stalled = false;
  const chunk = Buffer.alloc(64 * 1024, 7);
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        this.push(chunk.subarray(0, n));
      } else if (!stalled) {
        stalled = true;
        setImmediate(() => onStall(this));
      }
    },
  });
}

async function put(store: ObjectStore, key: string, data: Buffer, overrides: Parameters<typeof putOptions>[0] = {}) {
  return store.put(key, Readable.from([data]), putOptions({ contentLength: data.length, ...overrides }));
}

async function read(store: ObjectStore, key: string, range?: RangeRequest) {
  const result = await store.get(key, range ? { range } : {});
  return { ...result, data: await buffer(result.body) };
}

async function listAll(store: ObjectStore, prefix = '', limit?: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.list(prefix, { ...(cursor ? { cursor } : {}), ...(limit ? { limit } : {}) });
    keys.push(...page.items.map((i) => i.key));
    if (!page.nextCursor) return keys;
    cursor = page.nextCursor;
  }
  throw new Error('list did not end');
}

/** Puts `count` tiny objects with bounded concurrency. */
async function putMany(store: ObjectStore, keys: string[], concurrency = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        await put(store, key, Buffer.from(key));
      }
    }),
  );
}

/** What a backend may leave behind besides objects: fs temp files, s3 incomplete multipart uploads. */
async function leftoverUploads(t: TestStore): Promise<string[]> {
  const config: StoreConfig = t.config;
  if (config.kind === 'fs') return tempLeftovers(path.join(config.root, FS_STORE_TMP_DIR));
  const client = createS3Client(config);
  try {
    const out = await client.send(new ListMultipartUploadsCommand({ Bucket: config.bucket }));
    return (out.Uploads ?? []).map((u) => `${u.Key} (upload ${u.UploadId})`);
  } finally {
    client.destroy();
  }
}

const HOSTILE_KEYS = [
  '../x',
  '/abs',
  'a//b',
  'a/./b',
  'a/../b',
  '..',
  'C:\\x',
  'C:/x',
  'a\0b',
  'a\\b',
  '%2e%2e',
  '%2e%2e/x',
  '',
  'a/',
  '.hidden',
  'a b',
];

for (const backend of [...contractStoreBackends, ...encryptedStoreBackends]) {
  describe(`ObjectStore contract: ${backend.name}`, function () {
    let t: TestStore;
    let store: ObjectStore;

    before(async function () {
      t = await backend.create();
      store = t.store;
    });

    after(async function () {
      await t?.dispose();
    });

    afterEach('nothing is left behind', async function () {
      const objects = await listAll(store);
      const uploads = await leftoverUploads(t);
      if (objects.length > 0) await store.deleteMany(objects);
      expect(objects, 'objects left behind by the test').to.deep.equal([]);
      expect(uploads, 'temp files or incomplete uploads left behind by the test').to.deep.equal([]);
    });

    describe('round trips', function () {
      for (const [label, size] of [
        ['0 B', 0],
        ['1 B', 1],
        ['3 MiB', 3 * 1024 * 1024],
      ] as const) {
        it(`when ${label} of random bytes are put with a known length, then get returns the same bytes, type and ETag`, async function () {
          const data = seededBytes('object-store-1', size);
          const info = await put(store, `rt/known-${size}.bin`, data, { contentType: 'audio/ogg' });
          expect(info).to.include({ key: `rt/known-${size}.bin`, size, contentType: 'audio/ogg' });
          expect(info.etag).to.match(/^".+"$/);
          const got = await read(store, `rt/known-${size}.bin`);
          expect(sha256(got.data)).to.equal(sha256(data));
          expect(got.info).to.include({ size, contentType: 'audio/ogg', etag: info.etag });
          expect(got.range).to.equal(undefined);
          const stat = await store.stat(`rt/known-${size}.bin`);
          expect(stat).to.include({ size, contentType: 'audio/ogg', etag: info.etag });
          await store.delete(`rt/known-${size}.bin`);
        });
      }

      it('when several MB arrive in small chunks of unknown length, then they are stored whole (multipart on s3)', async function () {
        const data = seededBytes('object-store-2', PART_SIZE + 1024 * 1024 + 17);
        const info = await store.put('rt/unknown.bin', chunked(data), putOptions({ contentType: 'audio/wav' }));
        expect(info.size).to.equal(data.length);
        const got = await read(store, 'rt/unknown.bin');
        expect(got.data.length).to.equal(data.length);
        expect(sha256(got.data)).to.equal(sha256(data));
        expect(await store.getTags('rt/unknown.bin')).to.deep.equal({ retention: '30d' });
        await store.delete('rt/unknown.bin');
      });

      it('when an object is overwritten with other bytes, then its ETag changes and readers see the new bytes', async function () {
        const first = await put(store, 'rt/over.bin', Buffer.from('first'));
        const second = await put(store, 'rt/over.bin', Buffer.from('second!'));
        expect(second.etag).to.not.equal(first.etag);
        expect((await read(store, 'rt/over.bin')).data.toString()).to.equal('second!');
        await store.delete('rt/over.bin');
      });

      for (const [label, size] of [
        ['0 B', 0],
        ['1 KiB', 1024],
        ['more than a part', PART_SIZE + 17],
      ] as const) {
        it(`when a Buffer of ${label} is put, then get returns the same bytes; with a contentLength that differs, then the put rejects and stores nothing`, async function () {
          const data = seededBytes('object-store-3', size);
          const info = await store.put(
            `rt/buffer-${size}.bin`,
            data,
            putOptions({ contentType: 'audio/wav', contentLength: size }),
          );
          expect(info).to.include({ size, contentType: 'audio/wav' });
          const got = await read(store, `rt/buffer-${size}.bin`);
          expect(sha256(got.data)).to.equal(sha256(data));
          expect(got.info.etag).to.equal(info.etag);
          expect(await store.getTags(`rt/buffer-${size}.bin`)).to.deep.equal({ retention: '30d' });
          await store.delete(`rt/buffer-${size}.bin`);

          const error = await rejection(
            store.put('rt/buffer-wrong.bin', data, putOptions({ contentLength: size + 1 })),
          );
          expect(error).to.be.instanceOf(Error);
          expect(await store.exists('rt/buffer-wrong.bin')).to.equal(false);
        });
      }

      it('when the body is shorter than contentLength, then the put rejects and nothing is stored', async function () {
        const error = await rejection(
          store.put('rt/short.bin', Readable.from([Buffer.from('12345')]), putOptions({ contentLength: 10 })),
        );
        expect(error).to.be.instanceOf(Error);
        expect(await store.exists('rt/short.bin')).to.equal(false);
      });
    });

    describe('puts with a known sha256', function () {
      // One PutObject checked by the server (a stream, a Buffer); without a length; multipart uploads.
      for (const [label, size, shape] of [
        ['1 KiB of known length', 1024, 'stream'],
        ['a 1 KiB Buffer', 1024, 'buffer'],
        ['1 KiB of unknown length', 1024, 'chunks'],
        ['more than a part', PART_SIZE + 4096, 'stream'],
        ['a Buffer of more than a part', PART_SIZE + 4096, 'buffer'],
      ] as const) {
        it(`when ${label} is put with its sha256, then it is stored; with another sha256, then ObjectIntegrityError and nothing is stored`, async function () {
          const data = seededBytes('object-store-4', size);
          const knownLength = shape !== 'chunks';
          const body = () => (shape === 'buffer' ? data : shape === 'stream' ? Readable.from([data]) : chunked(data));
          const length = knownLength ? { contentLength: size } : {};
          const info = await store.put(
            'sum/ok.bin',
            body(),
            putOptions({ ...length, sha256: sha256(data).toUpperCase() }),
          );
          expect(info.size).to.equal(size);
          expect(sha256((await read(store, 'sum/ok.bin')).data)).to.equal(sha256(data));

          const other = sha256(Buffer.concat([data, Buffer.from('x')]));
          const error = await rejection(store.put('sum/bad.bin', body(), putOptions({ ...length, sha256: other })));
          expect(error).to.be.instanceOf(ObjectIntegrityError);
          expect(await store.exists('sum/bad.bin')).to.equal(false);
          await store.delete('sum/ok.bin');
        });
      }
    });

    describe('ranges', function () {
      const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
      // Per test, so that the outer afterEach (which runs after this one) sees an empty store.
      beforeEach(async function () {
        await put(store, 'range/obj.bin', data);
        await put(store, 'range/empty.bin', Buffer.alloc(0));
      });
      afterEach(async function () {
        await store.deleteMany(['range/obj.bin', 'range/empty.bin']);
      });

      const cases: Array<[string, RangeRequest, number, number]> = [
        ['the first byte', { start: 0, end: 0 }, 0, 0],
        ['a middle span', { start: 10, end: 19 }, 10, 19],
        ['the last byte', { start: 99, end: 99 }, 99, 99],
        ['an open end', { start: 50 }, 50, 99],
        ['a suffix', { suffix: 10 }, 90, 99],
        ['a suffix larger than the object', { suffix: 1000 }, 0, 99],
        ['an end past the end', { start: 90, end: 500 }, 90, 99],
      ];
      for (const [label, range, start, end] of cases) {
        it(`when ${label} is asked for, then exactly bytes ${start}-${end} are served`, async function () {
          const got = await read(store, 'range/obj.bin', range);
          expect(got.range).to.deep.equal({ start, end });
          expect([...got.data]).to.deep.equal([...data.subarray(start, end + 1)]);
          expect(got.info.size).to.equal(100);
        });
      }

      it('when the start is past the end, then InvalidRangeError carries the size', async function () {
        const error = await rejection(store.get('range/obj.bin', { range: { start: 100 } }));
        expect(error).to.be.instanceOf(InvalidRangeError);
        expect((error as InvalidRangeError).size).to.equal(100);
      });

      it('when a zero-length object is read with a range, then InvalidRangeError says size 0', async function () {
        for (const range of [{ start: 0 }, { suffix: 5 }] as RangeRequest[]) {
          const error = await rejection(store.get('range/empty.bin', { range }));
          expect(error).to.be.instanceOf(InvalidRangeError);
          expect((error as InvalidRangeError).size).to.equal(0);
        }
      });
    });

    describe('tags', function () {
      it('when tags are put with the object, then getTags returns them, and putTags replaces them', async function () {
        const tags = { retention: '30d', source: 'pbx-1', note: 'a b+c=d/e@f:g' };
        await put(store, 'tags/a.bin', Buffer.from('x'), { tags });
        expect(await store.getTags('tags/a.bin')).to.deep.equal(tags);
        await store.putTags('tags/a.bin', { retention: '7d' });
        expect(await store.getTags('tags/a.bin')).to.deep.equal({ retention: '7d' });
        expect((await read(store, 'tags/a.bin')).data.toString()).to.equal('x');
        await store.delete('tags/a.bin');
      });

      it('when a tag is not valid for S3, then the put rejects before storing anything', async function () {
        const error = await rejection(put(store, 'tags/bad.bin', Buffer.from('x'), { tags: { retention: 'a&b' } }));
        expect(error).to.be.instanceOf(TypeError);
        expect(await store.exists('tags/bad.bin')).to.equal(false);
      });
    });

    describe('missing keys and deletes', function () {
      it('when a key is missing, then get, stat, getTags and putTags throw ObjectNotFoundError', async function () {
        for (const attempt of [
          () => store.get('missing/x.bin'),
          () => store.stat('missing/x.bin'),
          () => store.getTags('missing/x.bin'),
          () => store.putTags('missing/x.bin', { retention: '1d' }),
        ]) {
          const error = await rejection(attempt());
          expect(error).to.be.instanceOf(ObjectNotFoundError);
          expect((error as ObjectNotFoundError).key).to.equal('missing/x.bin');
        }
        expect(await store.exists('missing/x.bin')).to.equal(false);
      });

      it('when a missing key is deleted, or a key twice, then both deletes succeed and the key is gone', async function () {
        await store.delete('missing/never.bin');
        await put(store, 'del/a/b/c.bin', Buffer.from('x'));
        expect(await store.exists('del/a/b/c.bin')).to.equal(true);
        await store.delete('del/a/b/c.bin');
        await store.delete('del/a/b/c.bin');
        expect(await store.exists('del/a/b/c.bin')).to.equal(false);
        expect(await listAll(store, 'del/')).to.deep.equal([]);
        if (t.config.kind === 'fs')
          expect(fs.existsSync(path.join(t.config.root, 'del')), 'empty parent folders removed').to.equal(false);
      });

      it('when deleteMany gets present and missing keys, then all count as deleted', async function () {
        const present = Array.from({ length: 20 }, (_, i) => `many/p${String(i).padStart(2, '0')}.bin`);
        await putMany(store, present);
        const missing = ['many/gone1.bin', 'many/gone2.bin'];
        const result = await store.deleteMany([...present, ...missing]);
        expect(result.failed).to.deep.equal([]);
        expect([...result.deleted].sort()).to.deep.equal([...present, ...missing].sort());
        expect(await listAll(store, 'many/')).to.deep.equal([]);
      });

      it('when deleteMany gets an invalid key among valid ones, then the valid ones are deleted and the invalid one is reported', async function () {
        await put(store, 'partial/a.bin', Buffer.from('a'));
        await put(store, 'partial/b.bin', Buffer.from('b'));
        const result = await store.deleteMany(['partial/a.bin', '../escape', 'partial/b.bin']);
        expect(result.deleted.sort()).to.deep.equal(['partial/a.bin', 'partial/b.bin']);
        expect(result.failed.map((f) => f.key)).to.deep.equal(['../escape']);
        expect(result.failed[0]!.error).to.be.instanceOf(InvalidKeyError);
        expect(await store.exists('partial/a.bin')).to.equal(false);
      });

      it('when more than 1,000 keys are deleted at once, then every one is deleted (batched)', async function () {
        const keys = Array.from({ length: 1100 }, (_, i) => `bulk/${String(i).padStart(4, '0')}`);
        await putMany(store, keys);
        expect((await listAll(store, 'bulk/')).length).to.equal(1100);
        const result = await store.deleteMany(keys);
        expect(result.failed).to.deep.equal([]);
        expect(result.deleted.length).to.equal(1100);
        expect(await listAll(store, 'bulk/')).to.deep.equal([]);
      });
    });

    describe('list', function () {
      const keys = ['l/a/1', 'l/a/2', 'l/a/3', 'l/a/4', 'l/a/5', 'l/a-x', 'l/a.y', 'l/b/1', 'l/ab'];
      beforeEach(async function () {
        await putMany(store, keys);
      });
      afterEach(async function () {
        await store.deleteMany(keys);
      });

      it('when listing a folder prefix in pages of 2, then every key under it comes once, in key order', async function () {
        const pages: string[][] = [];
        let cursor: string | undefined;
        do {
          const page = await store.list('l/a/', { limit: 2, ...(cursor ? { cursor } : {}) });
          pages.push(page.items.map((i) => i.key));
          cursor = page.nextCursor;
        } while (cursor);
        expect(pages.flat()).to.deep.equal(['l/a/1', 'l/a/2', 'l/a/3', 'l/a/4', 'l/a/5']);
        expect(pages[0]).to.have.length(2);
      });

      it('when listing a partial-name prefix, then keys are in byte order across files and folders', async function () {
        expect(await listAll(store, 'l/a', 3)).to.deep.equal([
          'l/a-x',
          'l/a.y',
          'l/a/1',
          'l/a/2',
          'l/a/3',
          'l/a/4',
          'l/a/5',
          'l/ab',
        ]);
        expect(await listAll(store, 'l/')).to.deep.equal([...keys].sort());
      });

      it('when listing, then items carry size and modification time, and a prefix with nothing under it is empty', async function () {
        const page = await store.list('l/b/');
        expect(page.items).to.have.length(1);
        expect(page.items[0]!.size).to.equal(Buffer.byteLength('l/b/1'));
        expect(page.items[0]!.lastModified).to.be.instanceOf(Date);
        expect(await store.list('l/zzz/')).to.deep.equal({ items: [] });
      });

      it('when listing with startAfter, then only keys strictly after it come, in order, whether or not it names a key', async function () {
        const after = async (startAfter: string, prefix = 'l/', limit?: number) => {
          const out: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await store.list(prefix, {
              startAfter,
              ...(limit ? { limit } : {}),
              ...(cursor ? { cursor } : {}),
            });
            out.push(...page.items.map((i) => i.key));
            cursor = page.nextCursor;
          } while (cursor);
          return out;
        };
        const sorted = [...keys].sort();
        expect(await after('l/a/2')).to.deep.equal(sorted.filter((k) => k > 'l/a/2'));
        expect(await after('l/a/2', 'l/', 2), 'paged: the cursor continues after startAfter').to.deep.equal(
          sorted.filter((k) => k > 'l/a/2'),
        );
        expect(await after('l/a', 'l/a/')).to.deep.equal(['l/a/1', 'l/a/2', 'l/a/3', 'l/a/4', 'l/a/5']);
        expect(await after('l/a/25')).to.deep.equal(sorted.filter((k) => k > 'l/a/25'));
        expect(await after('l/a/', 'l/a/')).to.deep.equal(['l/a/1', 'l/a/2', 'l/a/3', 'l/a/4', 'l/a/5']);
        expect(await after('l/ab')).to.deep.equal(sorted.filter((k) => k > 'l/ab'));
        expect(await after('l/zz')).to.deep.equal([]);
        expect(await after('')).to.deep.equal(sorted);
      });

      it('when listing versions where nothing was versioned, then each key comes once as its current version, paged in key order, startAfter strict', async function () {
        const versions = async (prefix: string, options: { startAfter?: string; limit?: number } = {}) => {
          const out: VersionItem[] = [];
          let cursor: string | undefined;
          do {
            const page = await store.listVersions(prefix, { ...options, ...(cursor ? { cursor } : {}) });
            out.push(...page.items);
            cursor = page.nextCursor;
          } while (cursor);
          return out;
        };
        const sorted = [...keys].sort();
        const all = await versions('l/', { limit: 2 });
        expect(all.map((v) => v.key)).to.deep.equal(sorted);
        for (const v of all) {
          expect(v).to.include({ deleteMarker: false, latest: true });
          expect(v.versionId).to.be.a('string');
          expect(v.lastModified).to.be.instanceOf(Date);
        }
        expect((await versions('l/', { startAfter: 'l/a/2', limit: 2 })).map((v) => v.key)).to.deep.equal(
          sorted.filter((k) => k > 'l/a/2'),
        );
        expect((await versions('l/a/', { startAfter: 'l/a' })).map((v) => v.key)).to.deep.equal([
          'l/a/1',
          'l/a/2',
          'l/a/3',
          'l/a/4',
          'l/a/5',
        ]);
        expect(await versions('l/a/', { startAfter: 'l/b' })).to.deep.equal([]);
        await store.delete('l/a/3');
        expect(
          (await versions('l/a/')).map((v) => v.key),
          'a deleted key leaves no trace',
        ).to.deep.equal(['l/a/1', 'l/a/2', 'l/a/4', 'l/a/5']);
        expect(await store.listVersions('l/zzz/')).to.deep.equal({ items: [] });
        // Only a bucket can keep versions (and have versioning switched on while callrec runs).
        expect(store.capabilities.versions).to.equal(t.config.kind === 's3');
      });
    });

    describe('hostile keys', function () {
      it('when a key could escape or is malformed, then every operation throws InvalidKeyError and nothing is written', async function () {
        for (const key of HOSTILE_KEYS) {
          for (const attempt of [
            () => store.put(key, Readable.from([Buffer.from('x')]), putOptions()),
            () => store.get(key),
            () => store.stat(key),
            () => store.getTags(key),
            () => store.putTags(key, {}),
            () => store.delete(key),
            () => store.exists(key),
          ]) {
            const error = await rejection(attempt());
            expect(error, JSON.stringify(key)).to.be.instanceOf(InvalidKeyError);
          }
        }
        expect(await listAll(store)).to.deep.equal([]);
        if (t.config.kind === 'fs') {
          const parent = path.dirname(t.config.root);
          expect(fs.readdirSync(parent).sort(), 'nothing written beside the root').to.deep.equal(['objects']);
        }
      });

      it('when a list prefix is malformed, then list throws InvalidKeyError', async function () {
        for (const prefix of ['../', '/x', 'a//']) {
          expect(await rejection(store.list(prefix))).to.be.instanceOf(InvalidKeyError);
        }
      });
    });

    describe('failed and aborted puts', function () {
      it('when the source stream is destroyed midway, then the put rejects and nothing is left', async function () {
        const body = stallingBody(200 * 1024, (b) => b.destroy(new Error('source broke')));
        const error = await rejection(store.put('fail/destroyed.bin', body, putOptions()));
        expect(error.message).to.contain('source broke');
        expect(await store.exists('fail/destroyed.bin')).to.equal(false);
      });

      it('when the source stream breaks after more than one part, then the multipart upload is aborted too', async function () {
        const body = stallingBody(PART_SIZE + 512 * 1024, (b) => b.destroy(new Error('source broke late')));
        const error = await rejection(store.put('fail/destroyed-large.bin', body, putOptions()));
        expect(error.message).to.contain('source broke late');
        expect(await store.exists('fail/destroyed-large.bin')).to.equal(false);
      });

      it('when the signal aborts a put in flight, then the put rejects with AbortError and nothing is left', async function () {
        for (const bytes of [100 * 1024, PART_SIZE + 512 * 1024]) {
          const controller = new AbortController();
          const body = stallingBody(bytes, () => controller.abort());
          const error = await rejection(store.put('fail/aborted.bin', body, putOptions({ signal: controller.signal })));
          expect(error.name, `after ${bytes} bytes`).to.equal('AbortError');
          expect(await store.exists('fail/aborted.bin')).to.equal(false);
          expect(await leftoverUploads(t)).to.deep.equal([]);
        }
      });

      it('when the signal is already aborted, then put (of a stream or a Buffer) rejects with AbortError and stores nothing', async function () {
        for (const body of [Readable.from([Buffer.from('x')]), Buffer.from('x')]) {
          const error = await rejection(store.put('fail/pre.bin', body, putOptions({ signal: AbortSignal.abort() })));
          expect(error.name).to.equal('AbortError');
          expect(await store.exists('fail/pre.bin')).to.equal(false);
        }
      });
    });

    describe('aborted reads, ping', function () {
      it('when the signal aborts a get while the body streams, then the body stops with AbortError', async function () {
        const data = seededBytes('object-store-5', 4 * 1024 * 1024);
        await put(store, 'get/abort.bin', data);
        const controller = new AbortController();
        const { body } = await store.get('get/abort.bin', { signal: controller.signal });
        let received = 0;
        const sink = new Writable({
          highWaterMark: 1,
          write(chunk: Buffer, _enc, callback) {
            received += chunk.length;
            if (!controller.signal.aborted) controller.abort();
            // Hold the first chunk until the abort has taken effect.
            setImmediate(callback);
          },
        });
        const error = await rejection(pipeline(body, sink));
        expect(error.name).to.equal('AbortError');
        expect(received).to.be.lessThan(data.length);
        expect(await rejection(store.get('get/abort.bin', { signal: controller.signal }))).to.have.property(
          'name',
          'AbortError',
        );
        await store.delete('get/abort.bin');
      });

      it('when the backend is up, then ping resolves', async function () {
        await store.ping();
      });

      it('when asked for its capabilities (fs, or a bucket created without Object Lock), then objectLock is false and a locked put is refused, storing nothing', async function () {
        expect(await store.objectLock()).to.equal(false);
        const retainUntil = new Date(Date.now() + 86_400_000);
        expect(
          await rejection(
            store.put('locked/a.json', Buffer.from('{}'), {
              contentType: 'application/json',
              tags: {},
              lock: { mode: 'GOVERNANCE', retainUntil },
            }),
          ),
        ).to.be.instanceOf(Error);
        expect(await store.exists('locked/a.json')).to.equal(false);
      });
    });
  });
}

for (const server of s3Servers) {
  describe(`ObjectStore on a ${server.label} bucket created with Object Lock`, function () {
    let t: TestStore;
    before(async function () {
      t = await createLockedS3Store(server);
    });
    after(async function () {
      await t?.dispose();
    });

    it('when an object is put with a lock, then the bucket reports objectLock, the version keeps its retention, and deleting that version is refused', async function () {
      expect(await t.store.objectLock()).to.equal(true);
      const retainUntil = new Date(Date.now() + 86_400_000);
      const body = Buffer.from('{"size":1}');
      await t.store.put('locked/a.json', body, {
        contentType: 'application/json',
        tags: {},
        lock: { mode: 'GOVERNANCE', retainUntil },
      });
      const config = t.config as Extract<StoreConfig, { kind: 's3' }>;
      const client = createS3Client(config);
      try {
        const versions = await client.send(
          new ListObjectVersionsCommand({ Bucket: config.bucket, Prefix: 'locked/a.json' }),
        );
        const versionId = versions.Versions?.[0]?.VersionId;
        expect(versionId, 'a version').to.be.a('string');
        const retention = await client.send(
          new GetObjectRetentionCommand({ Bucket: config.bucket, Key: 'locked/a.json', VersionId: versionId }),
        );
        expect(retention.Retention?.Mode).to.equal('GOVERNANCE');
        expect(retention.Retention?.RetainUntilDate?.getTime()).to.be.closeTo(retainUntil.getTime(), 1000);
        const refused = await rejection(
          client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: 'locked/a.json', VersionId: versionId })),
        );
        // AWS (and SeaweedFS) answer AccessDenied; MinIO InvalidRequest ("Object is WORM protected and cannot be overwritten").
        expect((refused as { name?: string }).name, (refused as Error).message).to.equal(
          server.capabilities.lockedVersionDeleteCode,
        );
      } finally {
        client.destroy();
      }
      // The store's own delete (every version, on this versioned bucket) cannot remove it either.
      expect(await rejection(t.store.delete('locked/a.json'))).to.be.instanceOf(StoreUnavailableError);
      expect((await read(t.store, 'locked/a.json')).data.toString()).to.equal(body.toString());
    });

    it('when a locked put is asked for with a stream body, then it is refused before anything is sent', async function () {
      const retainUntil = new Date(Date.now() + 86_400_000);
      const error = await rejection(
        t.store.put('locked/b.json', Readable.from([Buffer.from('{}')]), {
          contentType: 'application/json',
          tags: {},
          lock: { mode: 'GOVERNANCE', retainUntil },
        }),
      );
      expect(error).to.be.instanceOf(TypeError);
      expect(await t.store.exists('locked/b.json')).to.equal(false);
    });
  });
}

describe('ObjectStore failures outside the contract loop', function () {
  async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  it('when the s3 endpoint is unreachable, then every operation throws StoreUnavailableError', async function () {
    const config = { ...minioStoreConfig('callrec-unreachable'), endpoint: `http://127.0.0.1:${await closedPort()}` };
    const store = createS3Store(config);
    try {
      for (const attempt of [
        () => store.ping(),
        () => store.stat('a/b'),
        () => store.get('a/b', { range: { start: 0 } }),
        () => store.list(''),
        () => store.listVersions(''),
        () => store.exists('a/b'),
        () => store.put('a/b', Readable.from([Buffer.from('x')]), putOptions()),
        () => store.delete('a/b'),
      ]) {
        expect(await rejection(attempt())).to.be.instanceOf(StoreUnavailableError);
      }
      const result = await store.deleteMany(['a/b']);
      expect(result.failed[0]!.error).to.be.instanceOf(StoreUnavailableError);
      // Key validation happens before any I/O: a hostile key fails as InvalidKey even here.
      expect(await rejection(store.stat('../x'))).to.be.instanceOf(InvalidKeyError);
    } finally {
      await store.close();
    }
  });

  for (const server of s3Servers) {
    const code = server.capabilities.checksumMismatchCode;
    it(`when the server answers a put of known sha256 with ${code} (${server.label}, for a wrong x-amz-checksum-sha256), then it rejects with ObjectIntegrityError`, async function () {
      // The server's own answer when the checksum header alone is wrong (the SDK's client signs the real payload hash).
      const config = server.storeConfig(uniqueName('callrec-checksum-'));
      const plain = new S3Client({
        endpoint: config.endpoint,
        region: config.region,
        forcePathStyle: true,
        credentials: { accessKeyId: config.accessKeyId!, secretAccessKey: config.secretAccessKey! },
      });
      const wrong = sha256(Buffer.from('other bytes'));
      let answer: Error;
      try {
        await plain.send(new CreateBucketCommand({ Bucket: config.bucket }));
        answer = await rejection(
          plain.send(
            new PutObjectCommand({
              Bucket: config.bucket,
              Key: 'sum/x.bin',
              Body: Buffer.from('hello'),
              ChecksumSHA256: Buffer.from(wrong, 'hex').toString('base64'),
            }),
          ),
        );
      } finally {
        plain.destroy();
        await destroyBucket(config);
      }
      expect(answer.name).to.equal(code);
      // A server that gives that answer to the store's own puts (the real ones check the signed payload hash first).
      const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
      const fake = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(400, { 'content-type': 'application/xml' });
          res.end(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${answer.name}</Code><Message>${xml(answer.message)}</Message><RequestId>1</RequestId></Error>`,
          );
        });
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      const store = createS3Store({
        ...config,
        endpoint: `http://127.0.0.1:${(fake.address() as net.AddressInfo).port}`,
      });
      try {
        for (const body of [() => Buffer.from('hello'), () => Readable.from([Buffer.from('hello')])]) {
          const error = await rejection(
            store.put('sum/x.bin', body(), putOptions({ contentLength: 5, sha256: wrong })),
          );
          expect(error).to.be.instanceOf(ObjectIntegrityError);
        }
      } finally {
        await store.close();
        await new Promise<void>((resolve) => fake.close(() => resolve()));
      }
    });
  }

  it('when an fs key names a folder of other keys (or runs through an object), then put throws InvalidKeyError and leaves nothing', async function () {
    const dir = tempDir();
    try {
      const root = path.join(dir, 'objects');
      const store = createFsStore({ root });
      await store.put('a/b', Readable.from([Buffer.from('x')]), putOptions());
      expect(await rejection(store.put('a', Readable.from([Buffer.from('y')]), putOptions()))).to.be.instanceOf(
        InvalidKeyError,
      );
      expect(await rejection(store.put('a/b/c', Readable.from([Buffer.from('z')]), putOptions()))).to.be.instanceOf(
        InvalidKeyError,
      );
      expect(await store.exists('a')).to.equal(false);
      expect(await listAll(store)).to.deep.equal(['a/b']);
      expect(tempLeftovers(path.join(root, FS_STORE_TMP_DIR))).to.deep.equal([]);
      await store.delete('a/b');
      expect(fs.readdirSync(root)).to.deep.equal([FS_STORE_TMP_DIR]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("when a killed process left partial objects in the fs store, then the first write of a new store removes them; a live process's and a fresh unowned one stay", async function () {
    const dir = tempDir();
    const other = await liveProcess();
    try {
      const root = path.join(dir, 'objects');
      const tmp = path.join(root, FS_STORE_TMP_DIR);
      const dead = writeOwnedDir(tmp, await deadOwner(), { files: { 'a.part': 'partial audio', 'a.meta': '{}' } });
      const live = writeOwnedDir(tmp, other.owner, { files: { 'b.part': 'in flight' } });
      fs.writeFileSync(path.join(tmp, 'old.part'), 'x'); // the flat layout of older versions
      age(path.join(tmp, 'old.part'), Date.now() - UNOWNED_GRACE_MS - 1000);
      fs.writeFileSync(path.join(tmp, 'recent.part'), 'y');
      const store = createFsStore({ root });
      await store.ping();
      expect(fs.existsSync(dead)).to.equal(false);
      expect(tempLeftovers(tmp)).to.deep.equal([`${path.basename(live)}/b.part`, 'recent.part']);
      // The new store works in a folder of its own, which close() removes.
      expect(
        tempOwners(tmp)
          .map((o) => o.pid)
          .sort(),
      ).to.deep.equal([other.owner.pid, process.pid].sort());
      await store.close();
      expect(tempOwners(tmp).map((o) => o.pid)).to.deep.equal([other.owner.pid]);
    } finally {
      await other.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("when removeStaleFsTemp runs (start, reconcile), then it removes a killed process's partial objects and reports them; a dry run only reports", async function () {
    const dir = tempDir();
    try {
      const root = path.join(dir, 'objects');
      const tmp = path.join(root, FS_STORE_TMP_DIR);
      const dead = writeOwnedDir(tmp, await deadOwner(), { files: { 'a.part': 'partial audio' } });
      const dry = await removeStaleFsTemp({ root, now: Date.now(), dryRun: true });
      expect(dry.removed.map((r) => r.name)).to.deep.equal([path.basename(dead)]);
      expect(fs.existsSync(dead)).to.equal(true);
      const result = await removeStaleFsTemp({ root, now: Date.now() });
      expect(result.removed.map((r) => r.name)).to.deep.equal([path.basename(dead)]);
      expect(fs.readdirSync(tmp)).to.deep.equal([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the fs root cannot be created, then ping throws StoreUnavailableError and a hostile key still fails as InvalidKey', async function () {
    const dir = tempDir();
    try {
      fs.writeFileSync(path.join(dir, 'file'), 'x');
      const store = createFsStore({ root: path.join(dir, 'file', 'objects') });
      expect(await rejection(store.ping())).to.be.instanceOf(StoreUnavailableError);
      expect(await rejection(store.stat('../x'))).to.be.instanceOf(InvalidKeyError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
