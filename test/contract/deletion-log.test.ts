/**
 * The hash-chained deletion log: append under the lock, verification, tampering,
 * checkpoints — on every database.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { GENESIS_HASH, appendDeletions, hashRow } from '../../src/audit/deletion-log.js';
import { loadCheckpointKey } from '../../src/audit/checkpoint-key.js';
import { maybeCheckpoint } from '../../src/audit/checkpoints.js';
import type { CheckpointDeps } from '../../src/audit/checkpoints.js';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import type { Db } from '../../src/db/db.js';
import { readLogPage } from '../../src/db/deletion-log.js';
import type { DeletionLogRow } from '../../src/db/deletion-log.js';
import { readPackedPage, readVerifyPage } from '../../src/audit/verify-read.js';
import { isUniqueViolation } from '../../src/db/recordings.js';
import { dbBackends, storeBackends, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { LOG_T0, appendEntries, buildDeletion, checkpointDeps } from '../support/retention.js';
import { asDatabaseOwner, tamperLog } from '../support/tamper.js';

const T0 = LOG_T0;
const newDeletion = buildDeletion;
const append = appendEntries;

async function rows(db: Db): Promise<DeletionLogRow[]> {
  return (await db.knex('deletion_log').orderBy('seq', 'asc')) as DeletionLogRow[];
}

/** What an attacker with write access does to hide an edit: recompute every hash from `fromSeq` on. */
async function rehashFrom(db: Db, fromSeq: number): Promise<void> {
  const all = await rows(db);
  let prev = fromSeq === 1 ? GENESIS_HASH : all.find((r) => Number(r.seq) === fromSeq - 1)!.hash;
  await asDatabaseOwner(db, async (knex) => {
    for (const row of all.filter((r) => Number(r.seq) >= fromSeq)) {
      const fixed = { ...row, verified: Boolean(row.verified), prev_hash: prev };
      fixed.hash = hashRow(fixed);
      await knex('deletion_log').where({ seq: row.seq }).update({ prev_hash: fixed.prev_hash, hash: fixed.hash });
      prev = fixed.hash;
    }
  });
}

/** Deterministic generator of awkward field values (quotes, escapes, separators, non-ASCII, astral). */
function awkwardStrings(seed: number, withNul: boolean) {
  const alphabet = [
    'a',
    'Z',
    '0',
    '9',
    '"',
    '\\',
    '/',
    '\n',
    '\t',
    '\u0001',
    '\u001f',
    '\u007f',
    ':',
    '-',
    ',',
    ' ',
    'é',
    'ß',
    '€',
    '\u2028',
    '\ufeff',
  ];
  // Characters that send a row down the verifier's slow path on SQLite; NUL only where storable.
  const rare = ['\ufffd', '😀', '𝄞', ...(withNul ? ['\u0000'] : [])];
  let state = seed;
  const next = (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % n;
  };
  const ascii = alphabet.filter((c) => c < '\u0080');
  /** `ascii`: only ASCII (quotes, escapes and separators included); `rare`: one slow-path character inserted. */
  return (maxLength: number, mode: 'ascii' | 'any' | 'rare' = 'any') => {
    const from = mode === 'ascii' ? ascii : alphabet;
    const chars = Array.from({ length: next(maxLength + 1) }, () => from[next(from.length)]!);
    const withRare = mode === 'rare';
    if (withRare) chars.splice(next(chars.length + 1), 0, rare[next(rare.length)]!);
    return chars.join('');
  };
}

/** What the plain select returns, with `verified` as a boolean (SQLite returns 0/1). */
async function storedRows(db: Db): Promise<DeletionLogRow[]> {
  return (await readLogPage(db.knex, 0, 1_000_000)).map((r) => ({ ...r, verified: Boolean(r.verified) }));
}

for (const backend of dbBackends) {
  describe(`deletion log (${backend.name})`, function () {
    let tdb: TestDb;
    let tstore: TestStore;
    let keyFile: string;
    let deps: () => CheckpointDeps;

    beforeEach(async () => {
      tdb = await backend.create();
      tstore = await storeBackends.find((s) => s.name === 'fs')!.create();
      keyFile = path.join(tempDir('callrec-key-'), 'checkpoint-key.pem');
      const built = checkpointDeps(tdb.db, tstore.store, { CALLREC_CHECKPOINT_KEY_FILE: keyFile });
      deps = () => built;
    });
    afterEach(async () => {
      await tstore?.dispose();
      await tdb?.dispose();
    });

    it('when entries are appended, then seq is gapless from 1, each links to the previous hash, and the chain verifies', async () => {
      await append(tdb.db, 3);
      await append(tdb.db, 2);
      const all = await rows(tdb.db);
      expect(all.map((r) => Number(r.seq))).to.deep.equal([1, 2, 3, 4, 5]);
      expect(all[0]!.prev_hash).to.equal(GENESIS_HASH);
      for (let i = 1; i < all.length; i++) expect(all[i]!.prev_hash).to.equal(all[i - 1]!.hash);
      const result = await verifyDeletionLog(tdb.db, { pageSize: 2 });
      expect(result).to.include({ ok: true, count: 5, headHash: all[4]!.hash, firstInvalidSeq: null });
    });

    it('when many appends race in parallel, then the lock keeps seq gapless and the chain valid', async () => {
      await Promise.all(Array.from({ length: 12 }, () => append(tdb.db, 3)));
      const all = await rows(tdb.db);
      expect(all.map((r) => Number(r.seq))).to.deep.equal(Array.from({ length: 36 }, (_, i) => i + 1));
      expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);
    });

    it('when an entry for an already logged recording is appended, then the constraint refuses it', async () => {
      const [first] = await append(tdb.db, 1);
      const error = await append(tdb.db, 1, { recordingId: first!.recording_id }).catch((e: unknown) => e);
      expect(isUniqueViolation(error)).to.equal(true);
      expect(await rows(tdb.db)).to.have.length(1);
    });

    it('when a later entry carries an earlier deletion time, then its time is raised to keep the log monotone', async () => {
      await append(tdb.db, 1, { deletedAt: T0 + 5000 });
      const [late] = await append(tdb.db, 1, { deletedAt: T0 + 1000 });
      expect(Number(late!.deleted_at)).to.equal(T0 + 5000);
      expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);
    });

    it('when one entry is edited, then verification fails naming that seq', async () => {
      await append(tdb.db, 6);
      await tamperLog(tdb.db, (log) => log.where({ seq: 4 }).update({ call_id: 'someone-else' }));
      const result = await verifyDeletionLog(tdb.db, { pageSize: 4 });
      expect(result).to.include({ ok: false, firstInvalidSeq: 4, problem: 'hash', count: 6 });
    });

    it('when a middle entry is deleted, then verification names the missing seq', async () => {
      await append(tdb.db, 6);
      await tamperLog(tdb.db, (log) => log.where({ seq: 3 }).del());
      expect(await verifyDeletionLog(tdb.db)).to.include({ ok: false, firstInvalidSeq: 3, problem: 'gap' });
    });

    it('when the last entries are deleted, then the chain alone looks fine but a stored checkpoint names the first dropped seq', async () => {
      await append(tdb.db, 10);
      const key = loadCheckpointKey(keyFile);
      expect(await maybeCheckpoint(deps(), { now: T0 + 10_000 })).to.include({ size: 10 });
      await tamperLog(tdb.db, (log) => log.where('seq', '>', 8).del());
      const result = await verifyDeletionLog(tdb.db, { publicKey: key.publicKey });
      expect(result).to.include({ ok: false, firstInvalidSeq: 9, problem: 'truncated', count: 8 });
    });

    it('when the whole chain is rewritten and re-hashed, then the chain is self-consistent but checkpoints expose it from the last matching one', async () => {
      await append(tdb.db, 5);
      await maybeCheckpoint(deps(), { now: T0 + 5_000 });
      await append(tdb.db, 5);
      await maybeCheckpoint(deps(), { now: T0 + 10_000 });
      const key = loadCheckpointKey(keyFile);
      expect((await verifyDeletionLog(tdb.db, { publicKey: key.publicKey })).ok).to.equal(true);

      await tamperLog(tdb.db, (log) => log.where({ seq: 7 }).update({ reason: 'lifecycle_expired' }));
      await rehashFrom(tdb.db, 7);
      const result = await verifyDeletionLog(tdb.db, { publicKey: key.publicKey });
      expect(result).to.include({ ok: false, firstInvalidSeq: 6, problem: 'checkpoint_mismatch' });

      // Re-hashing from the very first entry is caught by the first checkpoint.
      await tamperLog(tdb.db, (log) => log.where({ seq: 2 }).update({ actor: 'nobody' }));
      await rehashFrom(tdb.db, 1);
      expect(await verifyDeletionLog(tdb.db, { publicKey: key.publicKey })).to.include({
        ok: false,
        firstInvalidSeq: 1,
      });
    });

    it('when a checkpoint is altered to match a rewritten log, then its signature fails', async () => {
      await append(tdb.db, 5);
      await maybeCheckpoint(deps(), { now: T0 });
      await tamperLog(tdb.db, (log) => log.where({ seq: 5 }).update({ actor: 'x' }));
      await rehashFrom(tdb.db, 5);
      const head = (await rows(tdb.db))[4]!;
      await asDatabaseOwner(tdb.db, (knex) => knex('deletion_checkpoints').update({ head_hash: head.hash }));
      const key = loadCheckpointKey(keyFile);
      expect(await verifyDeletionLog(tdb.db, { publicKey: key.publicKey })).to.include({
        ok: false,
        problem: 'checkpoint_signature',
      });
    });

    it('when verified in parallel ranges (worker threads), then each verdict equals the single pass: intact, edited at a border, re-hashed, gap, truncated', async () => {
      await append(tdb.db, 12);
      await maybeCheckpoint(deps(), { now: T0 + 1 });
      const key = loadCheckpointKey(keyFile);
      const both = async () => {
        const single = await verifyDeletionLog(tdb.db, { publicKey: key.publicKey, pageSize: 5 });
        const parallel = await verifyDeletionLog(tdb.db, {
          publicKey: key.publicKey,
          pageSize: 5,
          dbConfig: tdb.config,
          workers: 3,
          parallelThreshold: 1,
        });
        expect(parallel).to.deep.equal(single);
        return single;
      };
      expect(await both()).to.include({ ok: true, count: 12 });
      await tamperLog(tdb.db, (log) => log.where({ seq: 5 }).update({ actor: 'edited' })); // first entry of the second range
      expect(await both()).to.include({ ok: false, firstInvalidSeq: 5, problem: 'hash' });
      await rehashFrom(tdb.db, 5);
      expect(await both()).to.include({ ok: false, firstInvalidSeq: 1, problem: 'checkpoint_mismatch' });
      await tamperLog(tdb.db, (log) => log.where({ seq: 9 }).del());
      expect(await both()).to.include({ ok: false, firstInvalidSeq: 1 });
      await tamperLog(tdb.db, (log) => log.where('seq', '>', 10).del());
      // The checkpoint (size 12) now lies beyond the end: truncation from 11, and the gap at 9 comes first.
      expect(await both()).to.include({ ok: false, firstInvalidSeq: 9, problem: 'gap' });
    });

    it('when a gap sits exactly at a range border, then the parallel verifier names it', async () => {
      await append(tdb.db, 12);
      await tamperLog(tdb.db, (log) => log.where({ seq: 5 }).del());
      const parallel = await verifyDeletionLog(tdb.db, { dbConfig: tdb.config, workers: 3, parallelThreshold: 1 });
      expect(parallel).to.include({ ok: false, firstInvalidSeq: 5, problem: 'gap' });
    });

    it('when entries hold quotes, escapes, separators, non-ASCII and astral text, nulls and extreme numbers, then the verifier reads exactly the stored rows and the chain verifies', async () => {
      const text = awkwardStrings(7, backend.name === 'sqlite');
      const deletions = Array.from({ length: 60 }, (_, i) =>
        newDeletion({
          source: text(20, i % 2 ? 'ascii' : 'any'),
          callId: text(40, i % 6 === 0 ? 'rare' : i % 2 ? 'ascii' : 'any'),
          actor: text(12, i % 2 ? 'ascii' : 'any'),
          reference: i % 4 === 0 ? null : text(30, i % 2 ? 'ascii' : 'any'),
          reason: (['retention_expired', 'erasure_request', 'lifecycle_expired', 'redaction'] as const)[i % 4]!,
          // A manual redaction's entry carries its span (a column of its own, packed too).
          ...(i % 4 === 3 ? { span: { startMs: i * 1000, endMs: i * 1000 + 2_500 } } : {}),
          startedAt: [0, -86_400_001, 253_402_300_799_999, T0 + i][i % 4]!,
          expiresAt: T0 + i * 997,
          deletedAt: T0 + i,
          verified: i % 5 !== 0,
          objects: [
            {
              key: `recordings/2026/01/02/${text(8, i % 2 ? 'ascii' : 'any')}/original.wav`,
              sha256: 'ef'.repeat(32),
              sizeBytes: [0, 1, 2 ** 40][i % 3]!,
            },
          ],
        }),
      );
      await tdb.db.knex.transaction((trx) => appendDeletions(trx, tdb.db, deletions));
      const stored = await storedRows(tdb.db);
      expect(stored).to.have.length(60);
      for (const pageSize of [1, 7, 100]) {
        const read: DeletionLogRow[] = [];
        for (let after = 0; ;) {
          const page = await readVerifyPage(tdb.db, after, pageSize);
          if (page.length === 0) break;
          read.push(...page.map((r) => ({ ...r, verified: Boolean(r.verified) })));
          after = Number(page[page.length - 1]!.seq);
        }
        expect(read).to.deep.equal(stored);
      }
      if (tdb.db.client === 'sqlite') {
        // The packed fast path (SQLite): exact for every row it accepts, and it accepts every
        // row without NUL, astral characters or U+FFFD.
        const packed = await readPackedPage(tdb.db, 0, 100);
        expect(packed).to.have.length(60);
        packed.forEach((row, i) => {
          const s = stored[i]!;
          const slowPath = /[\0\ud800-\udfff\ufffd]/.test(
            [s.source, s.call_id, s.actor, s.reference ?? '', s.objects].join(''),
          );
          expect(row === undefined, `row ${i + 1}`).to.equal(slowPath);
          if (row) expect(row, `row ${i + 1}`).to.deep.equal(s);
        });
        expect(packed.filter(Boolean).length).to.be.greaterThan(5);
      }
      expect(await verifyDeletionLog(tdb.db, { pageSize: 9 })).to.include({
        ok: true,
        count: 60,
        firstInvalidSeq: null,
      });
      await tamperLog(tdb.db, (log) => log.where({ seq: 33 }).update({ source: `${stored[32]!.source}x` }));
      expect(await verifyDeletionLog(tdb.db, { pageSize: 9 })).to.include({
        ok: false,
        firstInvalidSeq: 33,
        problem: 'hash',
      });
    });

    it('when a recording was redacted twice, then its deletion entry still fits after the two redaction entries, and a second deletion entry of it is refused', async () => {
      const recordingId = ulid();
      const redaction = (startMs: number) =>
        newDeletion({ recordingId, reason: 'redaction', actor: 'privacy-1', span: { startMs, endMs: startMs + 900 } });
      await tdb.db.knex.transaction((trx) => appendDeletions(trx, tdb.db, [redaction(0), redaction(5_000)]));
      await tdb.db.knex.transaction((trx) => appendDeletions(trx, tdb.db, [newDeletion({ recordingId })]));
      let refused = false;
      await tdb.db.knex
        .transaction((trx) =>
          appendDeletions(trx, tdb.db, [newDeletion({ recordingId, reason: 'erasure_request', actor: 'privacy-1' })]),
        )
        .catch(() => (refused = true));
      expect(refused, 'a second deletion of one recording').to.equal(true);
      const rows = await storedRows(tdb.db);
      expect(rows.map((r) => [r.reason, r.span ?? null])).to.deep.equal([
        ['redaction', '{"endMs":900,"startMs":0}'],
        ['redaction', '{"endMs":5900,"startMs":5000}'],
        ['retention_expired', null],
      ]);
      expect(await verifyDeletionLog(tdb.db, {})).to.include({ ok: true, count: 3 });
    });

    it('when checkpoints are due every N entries, then one is written per N and the key file is created with mode 0600', async () => {
      await append(tdb.db, 3);
      const first = await maybeCheckpoint(deps(), { now: T0 });
      expect(first).to.include({ size: 3 });
      expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o600);
      await append(tdb.db, 3);
      expect(await maybeCheckpoint(deps(), { now: T0 + 1000 })).to.equal(undefined);
      await append(tdb.db, 2);
      expect(await maybeCheckpoint(deps(), { now: T0 + 2000 })).to.include({ size: 8 });
      await append(tdb.db, 1);
      expect(await maybeCheckpoint(deps(), { now: T0 + 2000 + 3_600_000 })).to.include({ size: 9 });
      const key = loadCheckpointKey(keyFile);
      const result = await verifyDeletionLog(tdb.db, { publicKey: key.publicKey });
      expect(result).to.include({ ok: true, count: 9 });
      expect(result.checkpoints).to.deep.equal({ count: 3, verified: 3 });
    });

    it('when the log grows by one entry a minute for 100 minutes and a checkpoint is considered after each, then one is signed every CALLREC_CHECKPOINT_INTERVAL, not only the first', async () => {
      const every5m = checkpointDeps(tdb.db, tstore.store, {
        CALLREC_CHECKPOINT_KEY_FILE: keyFile,
        CALLREC_CHECKPOINT_EVERY: '1000',
        CALLREC_CHECKPOINT_INTERVAL: '5m',
      });
      for (let minute = 0; minute < 100; minute++) {
        await append(tdb.db, 1);
        await maybeCheckpoint(every5m, { now: T0 + minute * 60_000 });
      }
      const signed = (await tdb.db.knex('deletion_checkpoints').orderBy('id')) as Array<{ size: number; at: number }>;
      expect(signed.map((c) => Number(c.size))).to.deep.equal(Array.from({ length: 20 }, (_, i) => 1 + 5 * i));
      expect(signed.map((c) => Number(c.at) - T0)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i * 5 * 60_000));
    });

    it('when several instances consider a checkpoint at the same moment, then exactly one is signed for that size', async () => {
      await append(tdb.db, 7);
      const results = await Promise.all(Array.from({ length: 6 }, () => maybeCheckpoint(deps(), { now: T0 })));
      expect(results.filter(Boolean)).to.have.length(1);
      expect(await tdb.db.knex('deletion_checkpoints').select('size')).to.deep.equal([{ size: 7 }]);
    });
  });
}

describe('deletion log (sqlite): stored types the schema does not expect', () => {
  let tdb: TestDb;
  beforeEach(async () => {
    tdb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
  });
  afterEach(async () => {
    await tdb?.dispose();
  });

  it('when a text column is replaced by the same bytes stored as a blob, then verification still fails naming that seq', async () => {
    await append(tdb.db, 6);
    await asDatabaseOwner(tdb.db, (knex) =>
      knex.raw('update deletion_log set call_id = cast(call_id as blob) where seq = 4'),
    );
    expect((await readPackedPage(tdb.db, 0, 10)).map((r) => r === undefined)).to.deep.equal([
      false,
      false,
      false,
      true,
      false,
      false,
    ]);
    expect(await verifyDeletionLog(tdb.db, { pageSize: 4 })).to.include({
      ok: false,
      firstInvalidSeq: 4,
      problem: 'hash',
    });
  });

  it('when a time column holds text that is no number, then verification fails naming that seq instead of throwing', async () => {
    await append(tdb.db, 6);
    await asDatabaseOwner(tdb.db, (knex) => knex.raw("update deletion_log set deleted_at = 'yesterday' where seq = 3"));
    expect(await verifyDeletionLog(tdb.db, { pageSize: 4 })).to.include({
      ok: false,
      firstInvalidSeq: 3,
      problem: 'hash',
    });
  });
});
