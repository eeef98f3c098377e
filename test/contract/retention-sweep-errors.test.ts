/**
 * A sweep whose pass throws ends as one failed run: it rejects only once every pass in
 * progress has returned, so the scheduler never starts the next run while a pass of the
 * failed one is still deleting (runs never overlap), and no new pass starts after the error.
 */
import { expect } from 'chai';
import { sweepAll } from '../../src/retention/sweep.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import { failQueries } from '../support/db-faults.js';
import { createStoredRecording } from '../support/recordings.js';
import { LEASE, deletionDeps, logRows } from '../support/retention.js';

const NOW = Date.UTC(2026, 5, 1);

/** The sweeper's claim: `update recordings set status = …`. */
const isClaim = (sql: string) => /^\s*update\s+["`]recordings["`]\s+set\s+["`]status["`]/i.test(sql);

for (const dbBackend of dbBackends) {
  describe(`sweep errors (${dbBackend.name}, fs)`, function () {
    this.timeout(60_000);

    it('when one pass throws while another is still deleting, then the sweep rejects only after that pass returned, and starts no other', async function () {
      const tdb = await dbBackend.create();
      const tstore = await storeBackends.find((s) => s.name === 'fs')!.create();
      try {
        for (let i = 0; i < 3; i++)
          await createStoredRecording({ db: tdb.db, store: tstore.store, overrides: { expires_at: NOW - 1000 + i } });
        let entered!: () => void;
        const deleting = new Promise<void>((resolve) => (entered = resolve));
        let open!: () => void;
        const gate = new Promise<void>((resolve) => (open = resolve));
        const real = tstore.store;
        const store = new Proxy(real, {
          get(target, property) {
            if (property === 'deleteMany') {
              return async (...args: Parameters<ObjectStore['deleteMany']>) => {
                entered();
                await gate;
                return target.deleteMany(...args);
              };
            }
            const value = Reflect.get(target, property, target) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
        let claims = 0;
        const undo = failQueries(tdb.db, { match: (sql) => isClaim(sql) && ++claims === 2, code: 'SQLITE_BUSY' });
        try {
          const outcome = sweepAll(deletionDeps(tdb.db, store), {
            now: NOW,
            batchSize: 1,
            leaseMs: LEASE,
            parallel: 2,
          }).then(
            () => 'resolved',
            (error: unknown) => error,
          );
          await deleting;
          while (claims < 2) await new Promise((r) => setTimeout(r, 5));
          // The second pass has failed; the first is held inside its delete.
          const early = await Promise.race([outcome, new Promise((r) => setTimeout(() => r('still running'), 300))]);
          expect(early).to.equal('still running');
          open();
          expect(await outcome).to.have.property('code', 'SQLITE_BUSY');
        } finally {
          undo();
          open();
        }
        // The held pass finished its recording; no pass claimed the third after the error.
        expect(await logRows(tdb.db)).to.have.length(1);
        expect(claims).to.equal(2);
      } finally {
        await tstore.dispose();
        await tdb.dispose();
      }
    });
  });
}
