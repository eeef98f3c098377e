/**
 * Verification of absence by listing (`verifyByListing`, the sweeper's mode on a store that can
 * hold versions): exact per recording, on every store. (Versions and delete markers left on a
 * bucket switched to versioning: test/contract/versioned-bucket.test.ts.)
 */
import { Readable } from 'node:stream';
import { expect } from 'chai';
import type { ClaimedRecording } from '../../src/db/recordings.js';
import { verifyByListing } from '../../src/retention/delete-core.js';
import type { ListOptions, ObjectStore } from '../../src/storage/object-store.js';
import { contractStoreBackends } from '../support/backends.js';
import type { TestStore } from '../support/backends.js';
import { buildRecordingRow } from '../support/recordings.js';

const DAY = 86_400_000;
const DAY_1 = Date.UTC(2026, 2, 3, 10);
const DAY_2 = DAY_1 + DAY;

function claimed(startedAt: number): ClaimedRecording {
  return {
    ...buildRecordingRow({ started_at: startedAt }).row,
    delete_reason: 'retention_expired',
    delete_actor: 'sweeper',
    delete_reference: null,
  };
}

const keysOf = (r: ClaimedRecording) => [r.original_key, r.playback_key];

/** The store, with every `listVersions` call recorded. */
function counting(store: ObjectStore): {
  store: ObjectStore;
  lists: Array<{ prefix: string; options: ListOptions | undefined }>;
} {
  const lists: Array<{ prefix: string; options: ListOptions | undefined }> = [];
  return {
    lists,
    store: {
      ...store,
      listVersions: (prefix, options) => {
        lists.push({ prefix, options });
        return store.listVersions(prefix, options);
      },
    },
  };
}

async function failuresOf(
  store: ObjectStore,
  rows: ClaimedRecording[],
  tuning: { pageSize?: number; budget?: number } = {},
) {
  const failed = new Map<string, string>();
  await verifyByListing(store, rows, { fail: (id, reason) => failed.set(id, failed.get(id) ?? reason), ...tuning });
  return failed;
}

for (const backend of contractStoreBackends) {
  describe(`retention: verifying absence by listing (${backend.name})`, function () {
    let t: TestStore;
    // Twelve recordings on each of two days, in key order; the claimed ones interleave with others.
    let day1: ClaimedRecording[];
    let day2: ClaimedRecording[];
    let batch: ClaimedRecording[];
    let others: ClaimedRecording[];

    beforeEach(async () => {
      t = await backend.create();
      const byKey = (a: ClaimedRecording, b: ClaimedRecording) => (a.original_key < b.original_key ? -1 : 1);
      day1 = Array.from({ length: 12 }, () => claimed(DAY_1)).sort(byKey);
      day2 = Array.from({ length: 12 }, () => claimed(DAY_2)).sort(byKey);
      batch = [...day1.slice(2, 10).filter((_, i) => i !== 3), ...day2.filter((_, i) => i % 3 !== 1)];
      others = [...day1, ...day2].filter((r) => !batch.includes(r));
      const body = Buffer.from('x');
      for (const key of [...day1, ...day2].flatMap(keysOf)) {
        await t.store.put(key, Readable.from([body]), {
          contentType: 'application/octet-stream',
          contentLength: 1,
          tags: {},
        });
      }
      // The sweeper has deleted the batch's objects.
      const result = await t.store.deleteMany(batch.flatMap(keysOf));
      expect(result.failed).to.deep.equal([]);
    });
    afterEach(async () => {
      await t?.dispose();
    });

    it('when every object of the batch is gone, then nothing fails and one listing per day folder checked the whole batch', async () => {
      const { store, lists } = counting(t.store);
      expect(await failuresOf(store, batch)).to.deep.equal(new Map());
      expect(lists.map((l) => l.prefix).sort()).to.deep.equal(['recordings/2026/03/03/', 'recordings/2026/03/04/']);
      // The other recordings' objects are still there, untouched by the check.
      for (const key of others.flatMap(keysOf)) expect(await t.store.exists(key), key).to.equal(true);
    });

    for (const [name, tuning] of [
      ['one range per day folder, pages of 2 followed to the end', { pageSize: 2 }],
      ['a range budget of 3 items, then each recording on its own', { pageSize: 2, budget: 3 }],
      ['no range budget: one page of one item, then each recording on its own', { pageSize: 1, budget: 0 }],
    ] as const) {
      it(`when objects are back at the first, the last and in the middle of the batch (${name}), then exactly those recordings fail with still_present`, async () => {
        const first = batch[0]!; // smallest key of day 1
        const middle = batch[3]!;
        const last = batch[batch.length - 1]!; // largest key of day 2
        for (const key of [first.original_key, middle.playback_key, last.playback_key]) {
          await t.store.put(key, Readable.from([Buffer.from('y')]), {
            contentType: 'application/octet-stream',
            contentLength: 1,
            tags: {},
          });
        }
        const { store, lists } = counting(t.store);
        const failed = await failuresOf(store, batch, tuning);
        expect(failed).to.deep.equal(
          new Map([
            [first.id, 'still_present'],
            [middle.id, 'still_present'],
            [last.id, 'still_present'],
          ]),
        );
        if (tuning.budget === undefined) {
          expect(
            lists.some((l) => l.options?.cursor),
            'a truncated page was followed',
          ).to.equal(true);
          expect(
            lists.every((l) => l.prefix.split('/').length === 5),
            'only day folders were listed',
          ).to.equal(true);
        } else {
          expect(
            lists.filter((l) => l.prefix.split('/').length === 6).length,
            'recordings listed on their own',
          ).to.be.greaterThan(0);
        }
      });
    }

    it('when the store fails while listing, then every recording not yet cleared fails with the store error and none passes', async () => {
      const broken: ObjectStore = {
        ...t.store,
        listVersions: () => Promise.reject(Object.assign(new Error('down'), { code: 'store_unavailable' })),
      };
      const failed = await failuresOf(broken, batch, { pageSize: 2 });
      expect([...failed.keys()].sort()).to.deep.equal(batch.map((r) => r.id).sort());
      expect(new Set(failed.values())).to.deep.equal(new Set(['store_unavailable']));
    });
  });
}
