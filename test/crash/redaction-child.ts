/**
 * A real process running one manual redaction for the crash test (test-only). Reads its setup
 * from the environment and hands a failpoint to the core, which SIGKILLs this process right
 * after the named step:
 *
 *   CALLREC_TEST_CHILD_DB       JSON DbConfig
 *   CALLREC_TEST_CHILD_STORE    JSON StoreConfig
 *   CALLREC_TEST_CHILD_KEYRING  the keyring file
 *   CALLREC_TEST_CHILD_DATA     the data folder (temp files of the redaction)
 *   CALLREC_TEST_CHILD_ID       the recording to redact
 *   CALLREC_TEST_CHILD_USER     the id of the redacting user
 *   CALLREC_TEST_FAILPOINT      a step of REDACTION_STEPS
 *
 * Prints the redacted row's id when it was not killed.
 */
import type { DbConfig, StoreConfig } from '../../src/config.js';
import { createManualClock } from '../../src/clock.js';
import { createDb } from '../../src/db/db.js';
import { createIngestTemp } from '../../src/ingest/index.js';
import { encryptingStore } from '../../src/keys/data-keys.js';
import { createLogger } from '../../src/logger.js';
import { redactRecording } from '../../src/redaction/index.js';
import { createObjectStore } from '../../src/storage/create-store.js';
import { testConfig } from '../support/app.js';

const env = process.env;
const db = createDb(JSON.parse(env.CALLREC_TEST_CHILD_DB!) as DbConfig);
const raw = await createObjectStore(JSON.parse(env.CALLREC_TEST_CHILD_STORE!) as StoreConfig);
const config = testConfig({
  CALLREC_DATA_DIR: env.CALLREC_TEST_CHILD_DATA!,
  CALLREC_KEYRING_FILE: env.CALLREC_TEST_CHILD_KEYRING!,
});
const store = await encryptingStore({ config, db, store: raw });
const clock = createManualClock(Date.now());

try {
  const row = await redactRecording(
    { config, db, store, clock, logger: createLogger({ level: 'silent' }) },
    {
      recordingId: env.CALLREC_TEST_CHILD_ID!,
      span: { startMs: 1000, endMs: 2000 },
      reason: 'card number read out',
      principal: { userId: env.CALLREC_TEST_CHILD_USER!, username: 'privacy-crash', role: 'privacy' },
      temp: createIngestTemp({ dataDir: config.dataDir, clock }),
      signal: new AbortController().signal,
      failpoint: (step) => {
        if (step === env.CALLREC_TEST_FAILPOINT) process.kill(process.pid, 'SIGKILL');
      },
    },
  );
  process.stdout.write(`${row.id}\n`);
} finally {
  await raw.close();
  await db.close();
}
