/**
 * A full disk, for real: the data dir (SQLite file, fs store, ingest temp files) is a small
 * tmpfs mounted for this suite (the tests run as root; a failed mount fails the suite), filled
 * to the last byte. Uploads, logins and playback answer 507 `insufficient_storage` with
 * Retry-After instead of 500, an upload leaves nothing behind, /readyz says the disk is full,
 * and everything recovers once space is freed. The lower layers are checked on the same disk:
 * the fs store's put, SQLite's insert and ffmpeg's output each fail as "full", not otherwise.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { AudioOutputError, transcodeForPlayback } from '../../src/audio/index.js';
import type { Config } from '../../src/config.js';
import { isDbFull } from '../../src/db/db-errors.js';
import { createDb } from '../../src/db/db.js';
import type { Db } from '../../src/db/db.js';
import { INSUFFICIENT_STORAGE_RETRY_AFTER_S } from '../../src/errors.js';
import { ingestTempRoot } from '../../src/ingest/temp.js';
import { createObjectStore } from '../../src/storage/create-store.js';
import { FS_STORE_TMP_DIR } from '../../src/storage/fs-store.js';
import { isStoreFull } from '../../src/storage/object-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { tempDir } from '../support/backends.js';
import { silentUlawWav } from '../support/fixtures.js';
import { createStoredRecording } from '../support/recordings.js';
import { signedUpload } from '../support/upload.js';
import { createTestUser } from '../support/users.js';
import { tempLeftovers } from '../support/owners.js';

const TMPFS_SIZE = '8m';
const MIN_FREE_BYTES = 1024 * 1024;
const FILLER = 'filler.bin';

function mountTmpfs(dir: string): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`this suite needs root to mount a tmpfs at ${dir} (mount said: ${stderr ?? String(error)})`, {
      cause: error,
    });
  }
}

/** Writes a filler file until the filesystem refuses even one more byte. */
function fillDisk(dir: string): void {
  const fd = fs.openSync(path.join(dir, FILLER), 'a');
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  try {
    for (const size of [chunk.length, 4096, 512, 1]) {
      try {
        for (;;) fs.writeSync(fd, chunk, 0, size);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  expect(fs.statfsSync(dir).bavail, 'no block left').to.equal(0);
}

function freeDisk(dir: string): void {
  fs.rmSync(path.join(dir, FILLER), { force: true });
}

async function count(db: Db, table: string): Promise<number> {
  const [row] = (await db.knex(table).count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(row!.n);
}

async function allKeys(store: ObjectStore): Promise<string[]> {
  const page = await store.list('recordings/', { limit: 1000 });
  return page.items.map((i) => i.key);
}

describe('a full disk under the data dir (sqlite + fs on a tmpfs)', function () {
  let dir: string;
  let mounted = false;
  let config: Config;
  let db: Db;
  let store: ObjectStore;
  let app: TestApp;
  let trainer: Awaited<ReturnType<typeof createTestUser>>;
  let recordingId: string;
  let outside: string;

  const upload = (callId: string) =>
    signedUpload({
      url: app.url,
      fields: { callId, startedAt: new Date(Date.now() - 60_000).toISOString(), agentId: 'agent-1' },
      audio: silentUlawWav(2),
    });
  const bearer = () => ({ authorization: `Bearer ${trainer.token}` });
  const readyz = async () => {
    const res = await fetch(`${app.url}/readyz`);
    return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
  };
  /** Settles SQLite's write-ahead log into the database file and truncates it, so that the next write needs new blocks. */
  const quietDb = () => db.knex.raw('PRAGMA wal_checkpoint(TRUNCATE)');
  /** What a refused request must leave as it was. */
  const snapshot = async () => ({
    recordings: await count(db, 'recordings'),
    sessions: await count(db, 'sessions'),
    access: await count(db, 'access_log'),
    keys: await allKeys(store),
    ingestTemp: fs.existsSync(ingestTempRoot(dir)) ? fs.readdirSync(ingestTempRoot(dir)) : [],
    storeTemp: fs.readdirSync(path.join(dir, 'objects', FS_STORE_TMP_DIR)),
  });

  before(async function () {
    dir = tempDir('callrec-full-');
    outside = tempDir('callrec-full-outside-');
    mountTmpfs(dir);
    mounted = true;
    config = testConfig({ CALLREC_DATA_DIR: dir, CALLREC_MIN_FREE_BYTES: String(MIN_FREE_BYTES) });
    expect(config.db).to.deep.equal({ client: 'sqlite', filename: path.join(dir, 'callrec.sqlite') });
    db = createDb(config.db);
    await db.migrate();
    store = await createObjectStore(config.store);
    app = await startTestApp({ db, store, config });
    trainer = await createTestUser(db, { role: 'trainer' });
    const stored = await createStoredRecording({ db, store, overrides: { started_at: Date.now() - 3_600_000 } });
    recordingId = stored.row.id;
    const warm = await fetch(`${app.url}/v1/session`, { headers: bearer() });
    expect(warm.status, 'the token works (and its last use is written) before the disk fills').to.equal(200);
    const first = await upload('call-before-full');
    expect(first.status, first.text).to.equal(201);
  });

  after(async function () {
    await app?.close();
    await store?.close();
    await db?.close();
    if (mounted) execFileSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  beforeEach(async function () {
    await quietDb();
    fillDisk(dir);
  });

  afterEach(function () {
    freeDisk(dir);
  });

  it('when the disk is full, then /readyz answers 503 naming the disk (and the store) full; once space is freed, then ready again', async function () {
    const full = await readyz();
    expect(full.status).to.equal(503);
    expect(full.body).to.deep.equal({ status: 'unavailable', checks: { db: 'ok', store: 'full', disk: 'full' } });
    freeDisk(dir);
    const ready = await readyz();
    expect(ready.status).to.equal(200);
    expect(ready.body).to.deep.equal({ status: 'ready', checks: { db: 'ok', store: 'ok', disk: 'ok' } });
  });

  it('when free space is under CALLREC_MIN_FREE_BYTES but not zero, then /readyz already reports the disk full', async function () {
    freeDisk(dir);
    const fd = fs.openSync(path.join(dir, FILLER), 'w');
    try {
      const { bavail, bsize } = fs.statfsSync(dir);
      fs.writeSync(fd, Buffer.alloc(bavail * bsize - MIN_FREE_BYTES / 2));
    } finally {
      fs.closeSync(fd);
    }
    const low = await readyz();
    expect(low.status).to.equal(503);
    expect(low.body.checks).to.deep.include({ disk: 'full', store: 'ok' });
  });

  it('when the disk is full, then an upload answers 507 insufficient_storage with Retry-After and leaves no temp file, object or row', async function () {
    const before = await snapshot();
    const res = await upload('call-while-full');
    expect(res.status, res.text).to.equal(507);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(res.body).to.include({ code: 'insufficient_storage', status: 507 });
    expect(res.headers['retry-after']).to.equal(String(INSUFFICIENT_STORAGE_RETRY_AFTER_S));
    freeDisk(dir);
    expect(await snapshot()).to.deep.equal(before);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).to.match(/callrec_ingest_total\{outcome="insufficient_storage"\} 1\b/);
    const retried = await upload('call-while-full');
    expect(retried.status, 'the same upload once space is back').to.equal(201);
  });

  it("when the disk has room for the upload's body but not for what follows (objects, rendition, row), then still 507 and nothing behind", async function () {
    const audio = silentUlawWav(2);
    const { bsize } = fs.statfsSync(dir);
    const filler = path.join(dir, FILLER);
    fs.truncateSync(filler, fs.statSync(filler).size - (Math.ceil(audio.length / bsize) + 1) * bsize);
    const before = await snapshot();
    const res = await signedUpload({
      url: app.url,
      fields: { callId: 'call-nearly-full', startedAt: new Date(Date.now() - 60_000).toISOString() },
      audio,
    });
    expect(res.status, res.text).to.equal(507);
    expect(res.body).to.include({ code: 'insufficient_storage' });
    freeDisk(dir);
    expect(await snapshot()).to.deep.equal(before);
  });

  it('when the disk is full, then a correct login answers 507 insufficient_storage and writes no session', async function () {
    const before = await count(db, 'sessions');
    const res = await fetch(`${app.url}/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: trainer.user.username, password: trainer.password }),
    });
    expect(res.status).to.equal(507);
    expect(await res.json()).to.include({ code: 'insufficient_storage' });
    expect(res.headers.getSetCookie()).to.deep.equal([]);
    expect(await count(db, 'sessions')).to.equal(before);
    const logged = app.logs
      .map((l) => JSON.parse(l) as { msg?: string; code?: string })
      .filter((e) => e.msg === 'request failed');
    expect(logged.at(-1)).to.include({ code: 'insufficient_storage' });
  });

  it('when the disk is full, then playback answers 507 insufficient_storage (no audio without its access-log entry), and plays once space is freed', async function () {
    const before = await count(db, 'access_log');
    const res = await fetch(`${app.url}/v1/recordings/${recordingId}/audio`, { headers: bearer() });
    expect(res.status).to.equal(507);
    expect(await res.json()).to.include({ code: 'insufficient_storage' });
    expect(await count(db, 'access_log')).to.equal(before);
    freeDisk(dir);
    const played = await fetch(`${app.url}/v1/recordings/${recordingId}/audio`, { headers: bearer() });
    expect(played.status).to.equal(200);
    await played.arrayBuffer();
    expect(await count(db, 'access_log')).to.equal(before + 1);
  });

  it('when the disk is full, then the fs store refuses a put as StoreFullError and keeps no temp file, and SQLite refuses an insert as SQLITE_FULL', async function () {
    const put = store.put('recordings/2026/01/01/FULL/original.wav', Readable.from([Buffer.alloc(64 * 1024, 1)]), {
      contentType: 'audio/wav',
      tags: { retention: '30d' },
    });
    const putError = await put.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isStoreFull(putError), String(putError)).to.equal(true);
    // The store's own per-process folder stays while the store is open; nothing may be inside it.
    expect(tempLeftovers(path.join(dir, 'objects', FS_STORE_TMP_DIR))).to.deep.equal([]);
    const insertError = await db
      .knex('notes')
      .insert({
        id: 'note-full',
        recording_id: recordingId,
        author: trainer.user.username,
        offset_ms: 0,
        text: 'x'.repeat(8192),
        created_at: Date.now(),
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isDbFull(insertError), String(insertError)).to.equal(true);
  });

  it('when ffmpeg cannot write its rendition for want of space (it exits 0 then), then it is AudioOutputError with ENOSPC, not undecodable audio', async function () {
    const input = path.join(outside, 'call.wav');
    fs.writeFileSync(input, silentUlawWav(5));
    const error = await transcodeForPlayback(input, path.join(dir, 'rendition.ogg'), {
      timeoutMs: 60_000,
      format: 'opus',
      source: { sampleRate: 8000, channels: 1 },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(AudioOutputError);
    expect((error as AudioOutputError).code).to.equal('ENOSPC');
    fs.rmSync(path.join(dir, 'rendition.ogg'), { force: true });
  });
});
