/**
 * Two sweepers in separate processes over one database and one store: claims
 * never overlap, each recording is deleted and logged once, seq stays gapless
 * and the chain valid.
 */
import { expect } from 'chai';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecordings } from '../support/recordings.js';
import { LEASE } from '../support/retention.js';
import { runSweeperChild } from '../crash/run-child.js';

const NOW = Date.UTC(2026, 3, 1);

const CASES = [
  { db: 'postgres', store: 'minio', count: 1000, batchSize: 25 },
  { db: 'sqlite', store: 'fs', count: 300, batchSize: 10 },
] as const;

for (const c of CASES) {
  describe(`two sweeper processes (${c.db}, ${c.store}, ${c.count} due recordings)`, function () {
    this.timeout(240_000);
    let tdb: TestDb;
    let tstore: TestStore;

    before(async () => {
      tdb = await dbBackends.find((b) => b.name === c.db)!.create();
      tstore = await storeBackends.find((b) => b.name === c.store)!.create();
    });
    after(async () => {
      await tstore?.dispose();
      await tdb?.dispose();
    });

    it('when both sweep the same backlog at once, then every recording is deleted and logged exactly once with gapless seq', async function () {
      const rows = await createStoredRecordings({
        db: tdb.db,
        store: tstore.store,
        count: c.count,
        overrides: (i) => ({
          expires_at: NOW - 1000 - i,
          originalBody: Buffer.from(`o${i}`),
          playbackBody: Buffer.from(`p${i}`),
        }),
      });
      const run = () =>
        runSweeperChild({ db: tdb.config, store: tstore.config, now: NOW, batchSize: c.batchSize, leaseMs: LEASE });
      const [a, b] = await Promise.all([run(), run()]);
      expect(a.code, a.stderr).to.equal(0);
      expect(b.code, b.stderr).to.equal(0);
      const sa = JSON.parse(a.stdout) as { deleted: number; failed: unknown[] };
      const sb = JSON.parse(b.stdout) as { deleted: number; failed: unknown[] };
      expect(sa.failed).to.deep.equal([]);
      expect(sb.failed).to.deep.equal([]);
      expect(sa.deleted + sb.deleted).to.equal(c.count);
      this.test!.title += ` [split ${sa.deleted}/${sb.deleted}]`;

      const entries = (await tdb.db.knex('deletion_log').select('seq', 'recording_id').orderBy('seq')) as Array<{
        seq: number;
        recording_id: string;
      }>;
      expect(entries.map((e) => Number(e.seq))).to.deep.equal(Array.from({ length: c.count }, (_, i) => i + 1));
      expect(new Set(entries.map((e) => e.recording_id))).to.deep.equal(new Set(rows.map((r) => r.id)));
      expect(await tdb.db.knex('recordings').count({ n: '*' }).first()).to.satisfy(
        (r: { n: number | string }) => Number(r.n) === 0,
      );
      const sample = rows.filter((_, i) => i % 50 === 0);
      for (const row of sample) {
        expect(await tstore.store.exists(row.original_key)).to.equal(false);
        expect(await tstore.store.exists(row.playback_key)).to.equal(false);
      }
      expect(await verifyDeletionLog(tdb.db)).to.include({ ok: true, count: c.count });
    });
  });
}
