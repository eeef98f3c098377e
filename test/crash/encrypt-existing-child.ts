/**
 * A real `encrypt-existing` process for the crash test (test-only). Reads its setup from the
 * environment and hands a failpoint to the core, which SIGKILLs this process right after the
 * named step (its n-th occurrence):
 *
 *   CALLREC_TEST_CHILD_DB       JSON DbConfig
 *   CALLREC_TEST_CHILD_STORE    JSON StoreConfig
 *   CALLREC_TEST_CHILD_KEYRING  the keyring file
 *   CALLREC_TEST_CHILD_NOW      epoch ms it runs at
 *   CALLREC_TEST_FAILPOINT      `<step>[:<n>]`, a step of ENCRYPT_EXISTING_STEPS
 *
 * Prints the JSON summary on stdout when it was not killed.
 */
import type { DbConfig, StoreConfig } from '../../src/config.js';
import { createDb } from '../../src/db/db.js';
import { openKeyring } from '../../src/keys/data-keys.js';
import { encryptExisting } from '../../src/keys/encrypt-existing.js';
import type { EncryptExistingStep } from '../../src/keys/encrypt-existing.js';
import { createObjectStore } from '../../src/storage/create-store.js';

const env = process.env;
const db = createDb(JSON.parse(env.CALLREC_TEST_CHILD_DB!) as DbConfig);
const store = await createObjectStore(JSON.parse(env.CALLREC_TEST_CHILD_STORE!) as StoreConfig);
const now = Number(env.CALLREC_TEST_CHILD_NOW);

let failpoint: ((step: EncryptExistingStep) => void) | undefined;
if (env.CALLREC_TEST_FAILPOINT) {
  const [target, nth] = env.CALLREC_TEST_FAILPOINT.split(':');
  let seen = 0;
  failpoint = (step) => {
    if (step === target && ++seen === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
  };
}

try {
  const wrapper = await openKeyring({
    config: { encryption: { enabled: true, keyringFile: env.CALLREC_TEST_CHILD_KEYRING! } },
    db,
    now: new Date(now),
  });
  const result = await encryptExisting({ db, store, wrapper: wrapper! }, { now: () => now, failpoint });
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await store.close();
  await db.close();
}
