/**
 * Crash safety of deletion: a real sweeper process is SIGKILLed right after each
 * step (claimed, objects deleted, verified, before commit, after commit); after a
 * restart every due recording is deleted and logged exactly once and the chain
 * verifies. Also: erasure killed at each step, and a loop over random crash points.
 * The store is the service's encrypting one: a recording keeps its data key until the
 * transaction that logs its deletion, so a crash leaves the recording with its key or neither.
 */
import path from 'node:path';
import { expect } from 'chai';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import { DELETION_STEPS } from '../../src/retention/delete-core.js';
import { sweepAll } from '../../src/retention/sweep.js';
import { encryptingStore } from '../../src/keys/data-keys.js';
import { readRecordingKey } from '../../src/db/recording-keys.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { dbBackends, storeBackends, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecording } from '../support/recordings.js';
import { DAY, LEASE, deletionDeps } from '../support/retention.js';
import { runSweeperChild } from './run-child.js';

const T0 = Date.UTC(2026, 2, 1);
const RANDOM_POINTS = { 'sqlite+fs': 40, 'postgres+minio': 10 } as const;

/** A small deterministic generator, so a failing iteration can be replayed from its seed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const COMBOS = [
  {
    name: 'sqlite+fs' as const,
    db: dbBackends.find((b) => b.name === 'sqlite')!,
    store: storeBackends.find((b) => b.name === 'fs')!,
  },
  {
    name: 'postgres+minio' as const,
    db: dbBackends.find((b) => b.name === 'postgres')!,
    store: storeBackends.find((b) => b.name === 'minio')!,
  },
];

for (const combo of COMBOS) {
  describe(`crash safety of deletion (${combo.name})`, function () {
    this.timeout(180_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let store: ObjectStore;
    let keyringFile: string;
    let iteration = 0;

    before(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      keyringFile = path.join(tempDir(), 'keyring');
      store = await encryptingStore({
        config: { encryption: { enabled: true, keyringFile } },
        db: tdb.db,
        store: tstore.store,
      });
    });
    after(async () => {
      await tstore?.dispose();
      await tdb?.dispose();
    });

    /** A fresh point in time per scenario, a day apart, so scenarios never see each other's deadlines. */
    const nextNow = () => T0 + ++iteration * DAY;

    const seed = async (count: number, now: number) => {
      const recs: StoredRecording[] = [];
      for (let i = 0; i < count; i++) {
        recs.push(await createStoredRecording({ db: tdb.db, store, overrides: { expires_at: now - 1000 - i } }));
      }
      return recs;
    };

    const entriesOf = async (id: string) => tdb.db.knex('deletion_log').where({ recording_id: id });
    const rowOf = async (id: string) => tdb.db.knex('recordings').where({ id }).first();
    const keyOf = async (id: string) => readRecordingKey(tdb.db.knex, id);
    const objectsLeft = async (rec: StoredRecording) =>
      (await Promise.all(rec.keys.map((k) => tstore.store.exists(k)))).filter(Boolean).length;

    /** Right after a crash: an entry exists only for a recording whose row and objects are gone. */
    const assertNoFalseEntries = async (recs: StoredRecording[]) => {
      for (const rec of recs) {
        const entries = await entriesOf(rec.row.id);
        expect(entries.length, `entries of ${rec.row.id}`).to.be.at.most(1);
        if (entries.length === 1) {
          expect(await rowOf(rec.row.id), 'row of a logged recording').to.equal(undefined);
          expect(await keyOf(rec.row.id), 'data key of a logged recording').to.equal(undefined);
          expect(await objectsLeft(rec), 'objects of a logged recording').to.equal(0);
        } else {
          expect(await rowOf(rec.row.id), 'row of an unlogged recording').to.not.equal(undefined);
          expect(await keyOf(rec.row.id), 'data key of an unlogged recording').to.not.equal(undefined);
        }
      }
    };

    /** After recovery: every recording gone, exactly one entry each, chain valid. */
    const assertExactlyOnce = async (recs: StoredRecording[], reason = 'retention_expired') => {
      for (const rec of recs) {
        expect(await rowOf(rec.row.id), `row of ${rec.row.id}`).to.equal(undefined);
        expect(await objectsLeft(rec), `objects of ${rec.row.id}`).to.equal(0);
        const entries = await entriesOf(rec.row.id);
        expect(entries, `entries of ${rec.row.id}`).to.have.length(1);
        expect(entries[0].reason).to.equal(reason);
        expect(await keyOf(rec.row.id), `data key of ${rec.row.id}`).to.equal(undefined);
        expect(Boolean(entries[0].key_shredded), `shredding recorded for ${rec.row.id}`).to.equal(true);
      }
      const verdict = await verifyDeletionLog(tdb.db);
      expect(verdict.ok, JSON.stringify(verdict)).to.equal(true);
      const seqs = (await tdb.db.knex('deletion_log').select('seq').orderBy('seq')).map((r: { seq: number }) =>
        Number(r.seq),
      );
      expect(seqs).to.deep.equal(seqs.map((_, i) => i + 1));
    };

    /**
     * PostgreSQL ends a SIGKILLed client's open transaction only once its backend notices the
     * closed socket (later on a loaded machine); until then its row locks make the recovery's
     * SKIP LOCKED claim pass those rows over. Wait for that, as a later sweep would.
     */
    const settle = async () => {
      if (tdb.db.client !== 'pg') return;
      for (let i = 0; i < 200; i++) {
        const row = (await tdb.db.knex
          .raw(
            'select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null',
          )
          .then((r: { rows: Array<{ n: number }> }) => r.rows[0])) as { n: number };
        if (row.n === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('a killed sweeper transaction is still open after 10 s');
    };

    const recover = async (now: number) => {
      await settle();
      const summary = await sweepAll(deletionDeps(tdb.db, store), {
        now: now + LEASE + 1,
        batchSize: 50,
        leaseMs: LEASE,
      });
      expect(summary.failed, 'failures during recovery').to.deep.equal([]);
    };

    for (const step of DELETION_STEPS) {
      it(`when the sweeper process is killed right after "${step}", then a restarted sweep deletes and logs every due recording exactly once`, async () => {
        const now = nextNow();
        const recs = await seed(3, now);
        const child = await runSweeperChild({
          db: tdb.config,
          store: tstore.config,
          keyringFile,
          now,
          failpoint: step,
          leaseMs: LEASE,
        });
        expect(child.signal, child.stderr).to.equal('SIGKILL');
        await assertNoFalseEntries(recs);
        await recover(now);
        await assertExactlyOnce(recs);
      });
    }

    it('when an erasure process is killed after each step in turn, then the sweeper finishes it under the erasure reason, exactly once', async () => {
      for (const step of DELETION_STEPS) {
        const now = nextNow();
        const [rec] = await createStoredRecording({
          db: tdb.db,
          store,
          overrides: { expires_at: now + 20 * DAY },
        }).then((r) => [r]);
        const child = await runSweeperChild({
          db: tdb.config,
          store: tstore.config,
          keyringFile,
          now,
          failpoint: step,
          eraseId: rec!.row.id,
          leaseMs: LEASE,
        });
        expect(child.signal, `${step}: ${child.stderr}`).to.equal('SIGKILL');
        await assertNoFalseEntries([rec!]);
        await recover(now);
        await assertExactlyOnce([rec!], 'erasure_request');
        const [entry] = await entriesOf(rec!.row.id);
        expect(entry).to.include({ actor: 'privacy-test', reference: 'CRASH-1' });
      }
    });

    it(`when the sweeper is killed at ${RANDOM_POINTS[combo.name]} random points (step, occurrence, batch size), then every run recovers to exactly once`, async function () {
      // One child process per point (each a tsx start): on a loaded machine 40 of them took over
      // the suite's 3 min; this is about correctness, not speed.
      this.timeout(600_000);
      const seedValue = 20261127 + (combo.name === 'sqlite+fs' ? 0 : 1);
      const random = lcg(seedValue);
      for (let i = 0; i < RANDOM_POINTS[combo.name]; i++) {
        const now = nextNow();
        const count = 1 + Math.floor(random() * 4);
        const batchSize = 1 + Math.floor(random() * 3);
        const step = DELETION_STEPS[Math.floor(random() * DELETION_STEPS.length)]!;
        const passes = Math.ceil(count / batchSize);
        const nth = 1 + Math.floor(random() * passes);
        const recs = await seed(count, now);
        const label = `seed ${seedValue} iteration ${i}: ${count} recordings, batch ${batchSize}, ${step}:${nth}`;
        const child = await runSweeperChild({
          db: tdb.config,
          store: tstore.config,
          keyringFile,
          now,
          failpoint: `${step}:${nth}`,
          batchSize,
          leaseMs: LEASE,
        });
        expect(child.signal, `${label}: ${child.stderr}`).to.equal('SIGKILL');
        await assertNoFalseEntries(recs);
        await recover(now);
        await assertExactlyOnce(recs);
      }
    });
  });
}
