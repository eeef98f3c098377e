/**
 * The service process and what crashes leave: at start it removes the temp folders, partial
 * objects and abandoned uploads of killed processes before it listens (a live instance's work on
 * the same data dir stays), and a SIGTERM during a stalled upload cleans up within the grace
 * period and exits 0. Embedded default (SQLite + fs store).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { createDb } from '../../src/db/db.js';
import { insertInflight } from '../../src/db/ingest-inflight.js';
import { OWNER_LEASE_MS, formatOwner } from '../../src/process-owner.js';
import type { ProcessOwner } from '../../src/process-owner.js';
import { FS_STORE_TMP_DIR, createFsStore } from '../../src/storage/fs-store.js';
import { recordingKey, recordingPrefix } from '../../src/storage/keys.js';
import { tempDir } from '../support/backends.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { startService } from '../support/main-process.js';
import { deadOwner, liveProcess, tempLeftovers, tempOwners, writeOwnedDir } from '../support/owners.js';
import type { LiveProcess } from '../support/owners.js';
import { TEST_SECRET, TEST_SOURCE, multipartParts, signBody } from '../support/upload.js';

const SOURCES = `${TEST_SOURCE}:${TEST_SECRET}`;

describe('the service process and what crashes leave', function () {
  this.timeout(90_000);
  let dataDir: string;
  let other: LiveProcess;
  beforeEach(async () => {
    dataDir = tempDir('callrec-crash-recovery-');
    other = await liveProcess();
  });
  afterEach(async () => {
    await other.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const tmp = () => path.join(dataDir, 'tmp');
  const storeTmp = () => path.join(dataDir, 'objects', FS_STORE_TMP_DIR);

  /** An upload in flight by `owner`: its marker, and its original already in the store. */
  async function uploadInFlight(owner: ProcessOwner): Promise<{ id: string; key: string }> {
    const id = ulid();
    const startedAt = new Date();
    const db = createDb({ client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') });
    const store = createFsStore({ root: path.join(dataDir, 'objects') });
    try {
      await db.migrate();
      await insertInflight(db.knex, {
        recording_id: id,
        object_prefix: recordingPrefix(id, startedAt),
        owner: formatOwner(owner, 'ingest-x'),
        created_at: Date.now(),
        lease_expires_at: Date.now() + OWNER_LEASE_MS,
      });
      const key = recordingKey({ id, startedAt, name: 'original', ext: 'wav' });
      await store.put(key, Readable.from([Buffer.from('call audio')]), {
        contentType: 'audio/wav',
        tags: { retention: '30d' },
      });
      return { id, key };
    } finally {
      await store.close();
      await db.close();
    }
  }

  it("when killed processes left temp folders, partial objects and an upload without its row, then the service removes them before it listens, and a live instance's work stays", async () => {
    const dead = await deadOwner();
    writeOwnedDir(tmp(), dead, { files: { 'ingest-a/original': 'call audio', 'ingest-a/playback': 'rendition' } });
    const liveTemp = writeOwnedDir(tmp(), other.owner, { files: { 'ingest-b/original': 'call audio' } });
    writeOwnedDir(storeTmp(), dead, { files: { 'x.part': 'partial object' } });
    const liveStoreTemp = writeOwnedDir(storeTmp(), other.owner, { files: { 'y.part': 'partial object' } });
    const abandoned = await uploadInFlight(dead);
    const running = await uploadInFlight(other.owner);

    const service = startService({ CALLREC_DATA_DIR: dataDir, CALLREC_INGEST_SOURCES: SOURCES });
    try {
      await service.url();
      expect(tempLeftovers(tmp())).to.deep.equal([`${path.basename(liveTemp)}/ingest-b/original`]);
      expect(tempLeftovers(storeTmp())).to.deep.equal([`${path.basename(liveStoreTemp)}/y.part`]);
      expect(fs.existsSync(path.join(dataDir, 'objects', ...abandoned.key.split('/')))).to.equal(false);
      expect(fs.existsSync(path.join(dataDir, 'objects', ...running.key.split('/')))).to.equal(true);
      const db = createDb({ client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') });
      try {
        expect(
          (await db.knex('ingest_inflight').select('recording_id')).map(
            (m: { recording_id: string }) => m.recording_id,
          ),
        ).to.deep.equal([running.id]);
      } finally {
        await db.close();
      }
      service.child.kill('SIGTERM');
      expect(await service.exit).to.deep.equal({ code: 0, signal: null });
    } finally {
      await service.kill();
    }
  });

  it('when SIGTERM arrives while a client stalls half-way through an upload, then the upload is answered 503 shutting_down, its temp files are removed and the process exits 0 within the grace period', async () => {
    // The minimum body rate is off here: it would answer the stalled client 408 on its own (after
    // CALLREC_UPLOAD_RATE_GRACE, 10 s, as long as the drain), racing the shutdown under test.
    const service = startService({
      CALLREC_DATA_DIR: dataDir,
      CALLREC_INGEST_SOURCES: SOURCES,
      CALLREC_UPLOAD_MIN_RATE: '0',
    });
    try {
      const url = await service.url();
      const parts = multipartParts({
        fields: { callId: `stall-${ulid()}`, startedAt: new Date(Date.now() - 60_000).toISOString() },
      });
      const timestamp = Math.floor(Date.now() / 1000);
      const stalled = http.request(new URL('/v1/recordings', url), {
        method: 'POST',
        headers: {
          'content-type': parts.contentType,
          'x-callrec-source': TEST_SOURCE,
          'x-callrec-timestamp': String(timestamp),
          'x-callrec-signature': signBody({ secret: TEST_SECRET, timestamp, bodySha256: '0'.repeat(64) }),
          'transfer-encoding': 'chunked',
        },
      });
      const answer = new Promise<{ status: number; body: string } | { error: string }>((resolve) => {
        stalled.on('response', (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', (error) => resolve({ error: error.message }));
        });
        stalled.on('error', (error) => resolve({ error: error.message }));
      });
      stalled.write(Buffer.concat([parts.head, (await audioFixtureBytes('ulaw-mono')).subarray(0, 20_000)]));
      for (let i = 0; !tempLeftovers(tmp()).some((rel) => /(^|\/)ingest-[^/]+\/original$/.test(rel)); i++) {
        if (i > 600) throw new Error('the stalled upload never reached its temp file');
        await new Promise((r) => setTimeout(r, 50));
      }

      service.child.kill('SIGTERM');
      const exit = await service.exit;
      expect(exit, `${service.out().slice(-3000)}${service.err().slice(-1000)}`).to.deep.equal({
        code: 0,
        signal: null,
      });
      const answered = await answer;
      expect(answered).to.include({ status: 503 });
      expect(JSON.parse((answered as { body: string }).body)).to.include({ code: 'shutting_down' });
      expect(tempLeftovers(tmp()), 'ingest temp files').to.deep.equal([]);
      expect(tempOwners(tmp()), 'the process folder').to.deep.equal([]);
      expect(tempLeftovers(storeTmp()), 'partial objects').to.deep.equal([]);
      stalled.destroy();
    } finally {
      await service.kill();
    }
  });
});
