/**
 * Crash safety of manual redaction (issue #18): a real process is SIGKILLed right after each
 * step (marker, new objects written, row switched, old objects deleted, entry logged). After
 * crash recovery (what runs at every start) the row points at objects that exist (the old ones
 * when the kill came before the switch, the new ones after it), no other object, marker or temp
 * file is left, and the deletion log holds exactly one `redaction` entry when the redaction took
 * effect and none when it did not, and still verifies.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import { encryptingStore } from '../../src/keys/data-keys.js';
import { createLogger } from '../../src/logger.js';
import { REDACTION_STEPS } from '../../src/redaction/index.js';
import { removeAbandonedUploads } from '../../src/retention/abandoned.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { testConfig } from '../support/app.js';
import { tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { allRecordingKeys } from '../support/encrypt-existing.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { createStoredRecording } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';
import { CRASH_BACKENDS, runChildScript } from './run-child.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'redaction-child.ts');

const COMBOS = CRASH_BACKENDS;
const runChild = (env: Record<string, string>) => runChildScript(CHILD, env);

for (const combo of COMBOS) {
  describe(`crash safety of manual redaction (${combo.name})`, function () {
    this.timeout(180_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let store: ObjectStore;
    let keyringFile: string;
    let dataDir: string;

    beforeEach(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      keyringFile = path.join(tempDir(), 'keyring');
      dataDir = tempDir('callrec-redact-crash-');
      store = await encryptingStore({
        config: { encryption: { enabled: true, keyringFile } },
        db: tdb.db,
        store: tstore.store,
      });
    });
    afterEach(async () => {
      await tstore?.dispose();
      await tdb?.dispose();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    for (const step of REDACTION_STEPS) {
      it(`when a redaction is killed right after "${step}", then after crash recovery the row points at objects that exist, nothing else is left and the deletion log is exact`, async () => {
        const rec = await createStoredRecording({
          db: tdb.db,
          store,
          overrides: { originalBody: await audioFixtureBytes('ulaw-mono', { seconds: 4 }), duration_ms: 4000 },
        });
        const user = await createTestUser(tdb.db, { role: 'privacy' });
        const child = await runChild({
          CALLREC_TEST_CHILD_DB: JSON.stringify(tdb.config),
          CALLREC_TEST_CHILD_STORE: JSON.stringify(tstore.config),
          CALLREC_TEST_CHILD_KEYRING: keyringFile,
          CALLREC_TEST_CHILD_DATA: dataDir,
          CALLREC_TEST_CHILD_ID: rec.row.id,
          CALLREC_TEST_CHILD_USER: user.user.id,
          CALLREC_TEST_FAILPOINT: step,
        });
        expect(child.signal, child.stderr).to.equal('SIGKILL');

        const config = testConfig({ CALLREC_DATA_DIR: dataDir, CALLREC_KEYRING_FILE: keyringFile });
        const recovery = await removeAbandonedUploads(
          { db: tdb.db, store, logger: createLogger({ level: 'silent' }), config },
          { now: Date.now() },
        );
        expect(recovery.errors).to.equal(0);

        const tookEffect = !['marked', 'written'].includes(step);
        const row = await tdb.db.knex('recordings').where({ id: rec.row.id }).first();
        const keys = [row.original_key, row.playback_key].sort();
        expect(await allRecordingKeys(tstore.store), 'objects: exactly the row’s').to.deep.equal(keys);
        for (const key of keys) expect((await store.get(key)).info.size, key).to.be.above(0);
        if (tookEffect) {
          expect(row.original_key).to.not.equal(rec.row.original_key);
          expect(JSON.parse(row.redactions as string)).to.deep.equal([{ startMs: 1000, endMs: 2000, kind: 'manual' }]);
        } else {
          expect(keys).to.deep.equal([...rec.keys].sort());
        }
        expect(await tdb.db.knex('ingest_inflight').select('recording_id'), 'markers').to.deep.equal([]);
        const entries = await tdb.db.knex('deletion_log').where({ reason: 'redaction' });
        expect(entries, 'redaction entries').to.have.length(tookEffect ? 1 : 0);
        if (tookEffect)
          expect(JSON.parse(entries[0].objects as string).map((o: { key: string }) => o.key)).to.deep.equal(rec.keys);
        expect((await verifyDeletionLog(tdb.db, {})).ok).to.equal(true);
        const tmp = path.join(dataDir, 'tmp');
        expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : [], 'temp folders of the dead process').to.deep.equal([]);
      });
    }
  });
}
