/**
 * A real sweeper process for the crash tests (test-only). Reads its setup from the
 * environment and hands a failpoint to the sweeper core, which SIGKILLs this process
 * right after the named step (its n-th occurrence):
 *
 *   CALLREC_TEST_CHILD_DB     JSON DbConfig
 *   CALLREC_TEST_CHILD_STORE  JSON StoreConfig
 *   CALLREC_TEST_CHILD_KEYRING  when set: the keyring file of the service's encrypting store (else the plain store)
 *   CALLREC_TEST_CHILD_NOW    epoch ms the sweep runs at
 *   CALLREC_TEST_CHILD_BATCH  batch size (default 50)
 *   CALLREC_TEST_CHILD_LEASE  lease ms (default 600000)
 *   CALLREC_TEST_CHILD_ERASE  when set: erase this recording id instead of sweeping
 *   CALLREC_TEST_FAILPOINT    `<step>[:<n>]`, step one of claimed|deleted|verified|beforeCommit|afterCommit
 *
 * Prints the JSON summary on stdout when it was not killed.
 */
import { createDb } from '../../src/db/db.js';
import type { DbConfig, StoreConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { verifyModeFor } from '../../src/retention/delete-core.js';
import type { Failpoint } from '../../src/retention/delete-core.js';
import { deleteRecording } from '../../src/retention/delete-recording.js';
import { sweepAll } from '../../src/retention/sweep.js';
import { createObjectStore } from '../../src/storage/create-store.js';
import { encryptingStore } from '../../src/keys/data-keys.js';

const env = process.env;
const dbConfig = JSON.parse(env.CALLREC_TEST_CHILD_DB!) as DbConfig;
const storeConfig = JSON.parse(env.CALLREC_TEST_CHILD_STORE!) as StoreConfig;
const now = Number(env.CALLREC_TEST_CHILD_NOW);
const batchSize = Number(env.CALLREC_TEST_CHILD_BATCH ?? 50);
const leaseMs = Number(env.CALLREC_TEST_CHILD_LEASE ?? 600_000);

let failpoint: Failpoint | undefined;
if (env.CALLREC_TEST_FAILPOINT) {
  const [step, nth] = env.CALLREC_TEST_FAILPOINT.split(':');
  let seen = 0;
  const target = Number(nth ?? 1);
  failpoint = (s) => {
    if (s === step && ++seen === target) process.kill(process.pid, 'SIGKILL');
  };
}

const db = createDb(dbConfig);
const plainStore = await createObjectStore(storeConfig);
const store = env.CALLREC_TEST_CHILD_KEYRING
  ? await encryptingStore({
      config: { encryption: { enabled: true, keyringFile: env.CALLREC_TEST_CHILD_KEYRING } },
      db,
      store: plainStore,
    })
  : plainStore;
const deps = { db, store, logger: createLogger({ level: 'silent' }), metrics: createMetrics() };
try {
  if (env.CALLREC_TEST_CHILD_ERASE) {
    const entry = await deleteRecording({
      deps: { ...deps, config: { sweep: { leaseMs, batchSize, intervalMs: 60_000 } } },
      recordingId: env.CALLREC_TEST_CHILD_ERASE,
      reason: 'erasure_request',
      actor: 'privacy-test',
      reference: 'CRASH-1',
      now,
      failpoint,
    });
    process.stdout.write(`${JSON.stringify({ erased: entry.recordingId, seq: entry.seq })}\n`);
  } else {
    const summary = await sweepAll(deps, { now, batchSize, leaseMs, failpoint, verify: verifyModeFor(store) });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  }
} finally {
  await store.close();
  await db.close();
}
