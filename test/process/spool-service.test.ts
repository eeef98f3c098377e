/**
 * The spool folder as a background job of the real service (src/main.ts): a pair dropped while
 * it runs is stored and removed, and SIGTERM still stops the service cleanly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { createDb } from '../../src/db/db.js';
import { tempDir } from '../support/backends.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { startService } from '../support/main-process.js';

describe('the spool folder in the running service', function () {
  this.timeout(180_000);

  it('when a PBX drops a pair into CALLREC_SPOOL_DIR while the service runs, then it is stored and the pair removed, and SIGTERM exits 0', async () => {
    const dataDir = tempDir('callrec-spool-service-');
    const spoolDir = tempDir('callrec-spool-');
    const service = startService({
      CALLREC_DATA_DIR: dataDir,
      CALLREC_SPOOL_DIR: spoolDir,
      CALLREC_SPOOL_INTERVAL: '200ms',
    });
    const db = createDb({ client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') });
    try {
      await service.url(120_000);
      fs.writeFileSync(path.join(spoolDir, 'pbx-1700000000.42.wav'), await audioFixtureBytes('ulaw-mono'));
      fs.writeFileSync(
        path.join(spoolDir, 'pbx-1700000000.42.json'),
        JSON.stringify({
          callId: '1700000000.42',
          startedAt: new Date(Date.now() - 60_000).toISOString(),
          callerNumber: 'restricted',
        }),
      );
      const deadline = Date.now() + 60_000;
      let rows: Array<{ source: string; call_id: string; caller_number_kind: string }> = [];
      while (Date.now() < deadline) {
        rows = (await db.knex('recordings').select('source', 'call_id', 'caller_number_kind')) as typeof rows;
        if (rows.length > 0 && !fs.readdirSync(spoolDir).some((f) => f.endsWith('.wav'))) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(rows).to.deep.equal([{ source: 'spool', call_id: '1700000000.42', caller_number_kind: 'withheld' }]);
      expect(fs.readdirSync(spoolDir).filter((f) => !f.startsWith('.'))).to.deep.equal([]);
      service.child.kill('SIGTERM');
      expect(await service.exit).to.deep.equal({ code: 0, signal: null });
    } finally {
      await service.kill();
      await db.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(spoolDir, { recursive: true, force: true });
    }
  });
});
